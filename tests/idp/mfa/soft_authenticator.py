"""A software WebAuthn authenticator for tests without a browser: ES256 keys made with ``cryptography``, CBOR
with ``cbor2``, "none" attestation, answers shaped as a browser's ``credential.toJSON()``. It plays the browser
too (it writes clientDataJSON), so tests can tamper with any part of an answer."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    origin: str
    rp_id: str
    user_verification: bool = True
    synced: bool = False  # a passkey kept by a password manager: backup-eligible and backed up
    aaguid: bytes = bytes(16)
    sign_count: int = 0
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    user_handle: str | None = None  # kept from the registration's user.id: a discoverable credential returns it

    def _flags(self) -> int:
        flags = UP | (UV if self.user_verification else 0)
        return flags | ((BE | BS) if self.synced else 0)

    def _client_data(self, kind: str, options: dict[str, Any], origin: str | None) -> bytes:
        data = {"type": kind, "challenge": options["challenge"], "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(data).encode()

    def create(self, options_json: str, *, origin: str | None = None) -> str:
        """An answer to ``navigator.credentials.create`` with these options, as ``credential.toJSON()``."""
        options = json.loads(options_json)
        self.user_handle = options["user"]["id"]
        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = self.aaguid + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose
        auth_data = self._auth_data(self._flags() | AT) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(self._client_data("webauthn.create", options, origin)),
                    "attestationObject": b64url(attestation),
                    "transports": ["usb"],
                },
                "clientExtensionResults": {},
            }
        )

    def _auth_data(self, flags: int) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.sign_count)

    def get(self, options_json: str, *, origin: str | None = None, count_step: int = 1) -> str:
        """An answer to ``navigator.credentials.get``; the counter moves on by ``count_step`` first."""
        options = json.loads(options_json)
        self.sign_count += count_step
        auth_data = self._auth_data(self._flags())
        client_data = self._client_data("webauthn.get", options, origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    **({"userHandle": self.user_handle} if self.user_handle else {}),
                },
                "clientExtensionResults": {},
            }
        )
