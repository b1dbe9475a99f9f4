"""Secrets at rest: TOTP secrets encrypted with AES-256-GCM, recovery codes kept as keyed digests.

Both keys are derived (HKDF-SHA256) from the ``[mfa] encryption_key`` setting, each for its one purpose. A
sealed secret is bound to where it belongs (the associated data names the official and the use), so a
ciphertext copied into another official's row does not decrypt. A recovery code's digest is an HMAC: a copy of
the table alone does not let anyone try codes offline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idp.mfa.errors import SealedSecretError

__all__ = ["SecretSealer"]

VERSION = b"\x01"
NONCE_BYTES = 12


def _derive(key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"antin mfa\0" + purpose).derive(key.encode())


class SecretSealer:
    def __init__(self, encryption_key: str) -> None:
        self._aead = AESGCM(_derive(encryption_key, b"seal"))
        self._digest_key = _derive(encryption_key, b"recovery code digest")

    def seal(self, plaintext: bytes, *, bound_to: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, bound_to.encode())

    def open(self, sealed: bytes, *, bound_to: str) -> bytes:
        if len(sealed) <= 1 + NONCE_BYTES or sealed[:1] != VERSION:
            raise SealedSecretError("not a sealed secret")
        nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, bound_to.encode())
        except InvalidTag:
            raise SealedSecretError("the secret does not open with this key (another key, or tampered)") from None

    def code_digest(self, subject: str, code: str) -> str:
        return hmac.new(self._digest_key, f"{subject}\n{code}".encode(), hashlib.sha256).hexdigest()
