"""Let pyhanko-certvalidator match OCSP responses whose CertID is hashed with SHA-224, SHA-384 or SHA-512.

pyhanko-certvalidator 0.33 matches an OCSP response to a certificate with
``getattr(cert.issuer, algorithm)`` and ``getattr(issuer.public_key, algorithm)``
(``revinfo/validate_ocsp.py``, ``_match_ocsp_certid``), where ``algorithm`` is the CertID's hash algorithm name.
asn1crypto's ``Name`` and ``PublicKeyInfo`` only offer ``sha1`` and ``sha256``, so a response hashed with SHA-512
(``pades-ltv.pdf`` in the corpus; RFC 6960 allows any hash) raises ``AttributeError`` and the whole certificate
validation stops: the signature could never pass, and its revocation data was never used.

The workaround adds the missing digests as read-only properties computed exactly as asn1crypto computes its own:
the issuer name hash over the DER encoding of the name, the issuer key hash over the subjectPublicKey BIT STRING
value (RFC 6960, 4.1.1). It only adds attributes asn1crypto lacks (an attribute a later release defines is left
alone), so nothing that worked before changes; it is installed when ``signing.pades.reading`` is imported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from asn1crypto import keys, x509

__all__ = ["install"]

_ALGORITHMS = ("sha224", "sha384", "sha512")


def _name_digest(algorithm: str) -> Callable[[Any], bytes]:
    def digest(name: Any) -> bytes:
        return hashlib.new(algorithm, name.dump()).digest()

    return digest


def _key_digest(algorithm: str) -> Callable[[Any], bytes]:
    def digest(info: Any) -> bytes:
        return hashlib.new(algorithm, bytes(info["public_key"])).digest()

    return digest


def install() -> None:
    """Add the missing ``sha224``/``sha384``/``sha512`` properties (idempotent)."""
    for algorithm in _ALGORITHMS:
        if not hasattr(x509.Name, algorithm):
            setattr(x509.Name, algorithm, property(_name_digest(algorithm)))
        if not hasattr(keys.PublicKeyInfo, algorithm):
            setattr(keys.PublicKeyInfo, algorithm, property(_key_digest(algorithm)))
