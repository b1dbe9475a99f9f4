"""CSC credentials: an official's signing certificate and its HSM key, as ``credentials/list`` and ``/info`` show them.

A credential's ID is its certificate's serial number (lower-case hex). Only officials' own certificates are
credentials here (a unit's seal is applied by the records office through the platform's own pages). Hashes are
SHA-256 only, the digest of every signature the platform makes; the key signs with ECDSA or PKCS#1 v1.5.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import x509

from directory.models import Person
from signing.csc.errors import CscError
from signing.errors import CertificateNotFoundError
from signing.models import CertificateRole, CertificateStatus
from signing.pki import CertificateInfo
from signing.service import SigningService

__all__ = [
    "MULTISIGN",
    "SHA256_OID",
    "Credential",
    "credential_by_id",
    "credential_info",
    "find_credential",
    "list_credentials",
    "sign_algorithms",
]

SHA256_OID = "2.16.840.1.101.3.4.2.1"
MULTISIGN = 100  # hashes one authorisation may cover (signing.sole_control.MAX_DIGESTS)
# signature algorithms a client may name for each key type: the key algorithm itself, or it with SHA-256
_SIGN_ALGORITHMS = {
    "ec": ("1.2.840.10045.4.3.2", "1.2.840.10045.2.1"),  # ecdsa-with-SHA256, id-ecPublicKey
    "rsa": ("1.2.840.113549.1.1.11", "1.2.840.113549.1.1.1"),  # sha256WithRSAEncryption, rsaEncryption
}


@dataclass(frozen=True)
class Credential:
    certificate: CertificateInfo
    owner: Person

    @property
    def id(self) -> str:
        return self.certificate.serial


def sign_algorithms(certificate: CertificateInfo) -> tuple[str, ...]:
    algorithm = x509.Certificate.load(certificate.der).public_key.algorithm
    return _SIGN_ALGORITHMS.get(algorithm, ())


def list_credentials(service: SigningService, person: Person, *, actor: str) -> list[Credential]:
    """The official's usable credentials (one is issued first when none exists and ``auto_issue`` is on)."""
    try:
        current = service.official_certificate(person, actor=actor)
    except CertificateNotFoundError:
        return []
    return [Credential(current, person)]


def credential_by_id(service: SigningService, credential_id: object) -> Credential:
    """The credential ``credential_id`` of an active official."""
    if not isinstance(credential_id, str) or not credential_id:
        raise CscError("invalid_request", "Missing (or invalid type) string parameter credentialID")
    try:
        certificate = service.ca.get(credential_id)
    except (CertificateNotFoundError, ValueError):
        raise CscError("invalid_request", "Invalid parameter credentialID", reason="unknown_credential") from None
    owner = service.directory.find_by_login(certificate.subject_uid) if certificate.subject_uid else None
    if certificate.role != CertificateRole.PERSON or owner is None or not owner.active:
        raise CscError("invalid_request", "Invalid parameter credentialID", reason="unknown_credential")
    return Credential(certificate, owner)


def find_credential(service: SigningService, credential_id: object, subject: str) -> Credential:
    """The credential ``credential_id`` of the official ``subject``; anyone else's is "invalid" to them."""
    credential = credential_by_id(service, credential_id)
    if credential.owner.entry_uuid != subject:
        raise CscError("invalid_request", "Invalid parameter credentialID", reason="foreign_credential")
    return credential


def _csc_time(value: datetime) -> str:
    return value.strftime("%Y%m%d%H%M%SZ")


def credential_info(
    service: SigningService, credential: Credential, *, certificates: str, cert_info: bool, now: datetime
) -> dict[str, Any]:
    """The ``credentials/info`` answer (CSC v1 and v2 share these fields)."""
    cert = credential.certificate
    parsed = x509.Certificate.load(cert.der)
    public_key = parsed.public_key
    key: dict[str, Any] = {
        "status": "enabled" if cert.status == CertificateStatus.VALID else "disabled",
        "algo": list(sign_algorithms(cert)),
        "len": public_key.bit_size,
    }
    if public_key.algorithm == "ec":
        key["curve"] = public_key["algorithm"]["parameters"].chosen.dotted
    status = "valid" if cert.status == CertificateStatus.VALID else "revoked"
    if cert.not_after <= now:
        status = "expired"
    chain: list[bytes] = []
    if certificates in ("single", "chain"):
        chain.append(cert.der)
    if certificates == "chain":
        chain.extend(c.dump() for c in service.ca.chain_for(cert))
    cert_json: dict[str, Any] = {"status": status, "certificates": [base64.b64encode(c).decode() for c in chain]}
    if cert_info:
        cert_json.update(
            {
                "issuerDN": parsed.issuer.human_friendly,
                "serialNumber": cert.serial,
                "subjectDN": parsed.subject.human_friendly,
                "validFrom": _csc_time(cert.not_before),
                "validTo": _csc_time(cert.not_after),
            }
        )
    return {
        "description": f"{credential.owner.full_name} ({credential.owner.uid})",
        "key": key,
        "cert": cert_json,
        "authMode": "oauth2code",  # authorised in the browser, with the official's WebAuthn assertion
        "SCAL": "2",  # the authorisation is bound to the hashes
        "multisign": MULTISIGN,
        "lang": "vi-VN",
    }
