"""What the PKI hands out: certificates as the CLI and API show them, the CA chain in use, and the revocation
material a validator needs offline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import pem, x509

from signing.errors import PkiError
from signing.models import PkiCertificate, aware
from signing.pki.builder import IssuerKey, serial_hex

__all__ = ["CaChain", "CertificateInfo", "RevocationMaterial", "load_certificates", "serial_of"]


@dataclass(frozen=True)
class CertificateInfo:
    """A certificate as the CLI and API show it."""

    serial: str
    role: str
    subject: str
    subject_uid: str | None
    unit_code: str | None
    issuer_serial: str | None
    key_label: str | None
    not_before: datetime
    not_after: datetime
    status: str
    revoked_at: datetime | None
    revocation_reason: str | None
    der: bytes
    unit_uuid: str | None = None  # a seal's unit's entryUUID when issued

    @classmethod
    def of(cls, row: PkiCertificate) -> CertificateInfo:
        return cls(
            serial=row.serial,
            role=row.role,
            subject=row.subject,
            subject_uid=row.subject_uid,
            unit_code=row.unit_code,
            issuer_serial=row.issuer_serial,
            key_label=row.key_label,
            not_before=aware(row.not_before),
            not_after=aware(row.not_after),
            status=row.status,
            revoked_at=aware(row.revoked_at) if row.revoked_at else None,
            revocation_reason=row.revocation_reason,
            der=row.der,
            unit_uuid=row.unit_uuid,
        )

    @property
    def certificate(self) -> x509.Certificate:
        return x509.Certificate.load(self.der)

    @property
    def pem(self) -> str:
        return str(pem.armor("CERTIFICATE", self.der).decode())

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "role": self.role,
            "subject": self.subject,
            "uid": self.subject_uid,
            "unit": self.unit_code,
            "issuer_serial": self.issuer_serial,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "status": self.status,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
            "pem": self.pem,
        }


@dataclass(frozen=True)
class CaChain:
    """The CA certificates in use and the labels of the keys that sign with them."""

    root: x509.Certificate
    root_key: IssuerKey | None  # None when the root is an outside CA's
    issuing: x509.Certificate
    issuing_key: IssuerKey
    ocsp: x509.Certificate | None
    ocsp_label: str | None
    tsa: x509.Certificate | None
    tsa_label: str | None
    extra: tuple[x509.Certificate, ...] = ()  # other outside CA certificates (between issuing CA and root)

    @property
    def anchors(self) -> list[x509.Certificate]:
        return [self.root]


@dataclass(frozen=True)
class RevocationMaterial:
    """Everything a validator needs offline about a chain: DER certificates, OCSP responses and CRLs."""

    trust_roots: tuple[bytes, ...]
    certificates: tuple[bytes, ...]
    ocsp_responses: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    complete: bool  # False when a certificate of the chain is not ours: a validator must fetch the rest online


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Certificates from PEM (one or several) or DER bytes; :class:`PkiError` when there are none."""
    try:
        if pem.detect(data):
            return [
                x509.Certificate.load(der)
                for kind, _h, der in pem.unarmor(data, multiple=True)
                if kind == "CERTIFICATE"
            ]
        return [x509.Certificate.load(data)]
    except (ValueError, TypeError) as err:
        raise PkiError(f"not a certificate: {err}") from None


def serial_of(cert: x509.Certificate) -> str:
    """The serial number as the certificate table keys it (lower-case hex, no leading zeros)."""
    return serial_hex(cert.serial_number)
