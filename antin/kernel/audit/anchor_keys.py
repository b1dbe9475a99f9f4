"""Who signs the audit log's anchors, and which public keys an anchor is checked against.

The kernel does not reach the HSM itself (only ``signing.hsm`` imports PKCS#11): the app and the CLI wire in an
:class:`AnchorSigner` (``signing.anchor_key``: a P-256 key made in the token on first use) with
:func:`provide_anchor_signer`. An anchor carries its public key and the key's id; it is trusted when that key is
one the verifier already trusts: the instance's own anchor key, a public key exported with ``antin audit
anchor-key`` and given with ``--public-key`` (on another machine), or, for anchors written before the key moved
into the HSM, the Ed25519 key derived from the instance secret (verification only: nothing is signed with it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
    load_pem_public_key,
)

__all__ = [
    "AnchorKeyError",
    "AnchorSigner",
    "TrustedKeys",
    "anchor_signer",
    "instance_keys",
    "key_id",
    "legacy_key_id",
    "legacy_public_key",
    "load_public_key_file",
    "provide_anchor_signer",
    "public_key_pem",
    "signature_verifies",
]

SIGNER_KEY = "antin.audit.anchor_signer"
_PROVIDER_KEY = "antin.audit.anchor_signer_provider"


class AnchorKeyError(Exception):
    """The anchor key cannot be used: the HSM is absent or locked, or no key was wired in. Never a fallback."""


class AnchorSigner(Protocol):
    """A key that signs anchors: its public key (DER SubjectPublicKeyInfo) and signatures over a payload."""

    def public_key(self) -> bytes: ...

    def sign(self, payload: bytes) -> bytes:
        """The signature over ``payload``: DER ECDSA-Sig-Value (SHA-256) for EC keys, raw for Ed25519."""
        ...


class ServiceHolder(Protocol):
    """What wiring needs of ``antin.kernel.instance.Instance`` (which imports this package)."""

    extensions: dict[str, Any]

    @property
    def secret_key(self) -> str: ...

    def service(self, key: str, build: Callable[[Any], Any]) -> Any: ...


def provide_anchor_signer(instance: ServiceHolder, build: Callable[[Any], AnchorSigner]) -> None:
    """Name how the instance's anchor signer is built (on first use: a command that does not anchor opens no HSM)."""
    instance.extensions[_PROVIDER_KEY] = build


def anchor_signer(instance: ServiceHolder) -> AnchorSigner:
    build = instance.extensions.get(_PROVIDER_KEY)
    if build is None:
        raise AnchorKeyError("no anchor key is wired into this instance (the app and the antin command wire the HSM's)")
    signer: AnchorSigner = instance.service(SIGNER_KEY, build)
    return signer


def instance_keys(instance: ServiceHolder) -> TrustedKeys:
    """What the instance trusts: its own anchor key (asked of the HSM when needed) and the old derived one."""
    return TrustedKeys(ask=lambda: anchor_signer(instance).public_key(), legacy=legacy_public_key(instance.secret_key))


def key_id(spki_der: bytes) -> str:
    return hashlib.sha256(spki_der).hexdigest()[:16]


def legacy_public_key(secret_key: str) -> Ed25519PublicKey:
    """The Ed25519 key anchors were signed with before it moved into the HSM (derived from the instance secret)."""
    seed = hashlib.sha256(b"antin audit anchor\0" + secret_key.encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed).public_key()


def legacy_key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def public_key_pem(spki_der: bytes) -> str:
    return load_der_public_key(spki_der).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key_file(path: Path) -> bytes:
    """A public key exported by ``antin audit anchor-key`` (PEM), as DER SubjectPublicKeyInfo."""
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as err:
        raise AnchorKeyError(f"{path} is not a PEM public key ({err})") from None
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def signature_verifies(spki_der: bytes, signature: bytes, payload: bytes) -> bool:
    key = load_der_public_key(spki_der)
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, Ed25519PublicKey):
            key.verify(signature, payload)
        else:
            return False
    except InvalidSignature:
        return False
    return True


@dataclass
class TrustedKeys:
    """The public keys an anchor may be signed with. ``ask`` is the instance's own anchor key, asked only when no
    key given up front matches (reading it opens the HSM); ``legacy`` the old derived key (``antin-audit-anchor/1``).
    """

    keys: Sequence[bytes] = ()
    ask: Callable[[], bytes] | None = None
    legacy: Ed25519PublicKey | None = None
    _asked: list[bytes] = field(default_factory=list)

    def find(self, wanted: str) -> bytes | None:
        """The trusted key (DER SubjectPublicKeyInfo) whose id is ``wanted``, or None."""
        for spki in self.keys:
            if key_id(spki) == wanted:
                return spki
        if self.ask is not None:
            if not self._asked:
                self._asked.append(self.ask())
            if key_id(self._asked[0]) == wanted:
                return self._asked[0]
        return None
