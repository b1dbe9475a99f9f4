"""The verification report: what ``antin verify --json``, the API and the pages show.

Field names are a contract (issue 4): the document's ``indication`` (the worst of its signatures),
``sub_indication`` and ``signatures``; each signature's ``indication``, ``sub_indication``, ``kind``,
``signer``, ``chain``, ``trust_anchor``, ``signing_time``, ``timestamp_time``, ``level``, ``integrity``,
``coverage``, ``revocation``, ``modifications``, ``warnings`` and ``errors``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from signing.pades.reading.facts import CertificateFacts

__all__ = [
    "DocumentReport",
    "Indication",
    "SignatureReport",
    "certificate_dict",
    "iso",
]

REPORT_VERSION = 1


class Indication(enum.StrEnum):
    """ETSI EN 319 102-1 main indications, plus the document-level NO_SIGNATURE."""

    TOTAL_PASSED = "TOTAL_PASSED"
    INDETERMINATE = "INDETERMINATE"
    TOTAL_FAILED = "TOTAL_FAILED"
    NO_SIGNATURE = "NO_SIGNATURE"

    @property
    def rank(self) -> int:
        return {"TOTAL_PASSED": 0, "INDETERMINATE": 1, "NO_SIGNATURE": 2, "TOTAL_FAILED": 3}[self.value]


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def certificate_dict(cert: CertificateFacts | None) -> dict[str, Any] | None:
    if cert is None:
        return None
    return {
        "subject": cert.subject,
        "common_name": cert.common_name,
        "issuer": cert.issuer,
        "serial_number": cert.serial_number,
        "not_before": iso(cert.not_before),
        "not_after": iso(cert.not_after),
        "sha256_fingerprint": cert.sha256_fingerprint,
        "key": f"{cert.key_algorithm.upper()} {cert.key_bits}" if cert.key_algorithm else None,
    }


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    kind: str
    indication: Indication
    sub_indication: str | None
    signer: CertificateFacts | None
    chain: tuple[CertificateFacts, ...]
    trust_anchor: CertificateFacts | None
    signing_time: datetime | None
    timestamp_time: datetime | None
    level: str | None
    integrity: dict[str, Any]
    coverage: dict[str, Any]
    revocation: dict[str, Any]
    modifications: list[dict[str, Any]]
    certification: dict[str, Any] | None
    timestamp: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.indication is Indication.TOTAL_PASSED

    def as_dict(self) -> dict[str, Any]:
        return {
            "field_name": self.field_name,
            "kind": self.kind,
            "indication": self.indication.value,
            "sub_indication": self.sub_indication,
            "signer": certificate_dict(self.signer),
            # whose signature it is by the certificate's profile: an official's, or the unit's seal
            "signed_as": self.signer.holder if self.signer is not None and self.kind == "signature" else None,
            "chain": [certificate_dict(c) for c in self.chain],
            "trust_anchor": certificate_dict(self.trust_anchor),
            "signing_time": iso(self.signing_time),
            "timestamp_time": iso(self.timestamp_time),
            "timestamp": self.timestamp,
            "level": self.level,
            "integrity": self.integrity,
            "coverage": self.coverage,
            "revocation": self.revocation,
            "certification": self.certification,
            "modifications": self.modifications,
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class DocumentReport:
    file_name: str
    file_size: int
    sha256: str
    indication: Indication
    sub_indication: str | None
    signatures: tuple[SignatureReport, ...]
    validation_time: datetime
    revisions: list[dict[str, Any]]
    trust_anchors: tuple[CertificateFacts, ...]
    revocation_policy: str
    fetch_revocation: bool
    dss: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def all_passed(self) -> bool:
        return bool(self.signatures) and all(s.passed for s in self.signatures)

    def as_dict(self) -> dict[str, Any]:
        return {
            "report_version": REPORT_VERSION,
            "file": {"name": self.file_name, "size": self.file_size, "sha256": self.sha256},
            "indication": self.indication.value,
            "sub_indication": self.sub_indication,
            "validation_time": iso(self.validation_time),
            "signature_count": sum(1 for s in self.signatures if s.kind == "signature"),
            "timestamp_count": sum(1 for s in self.signatures if s.kind == "document-timestamp"),
            "signatures": [s.as_dict() for s in self.signatures],
            "revisions": self.revisions,
            "dss": self.dss,
            "policy": {
                "trust_anchors": [certificate_dict(c) for c in self.trust_anchors],
                "revocation": self.revocation_policy,
                "fetch_revocation": self.fetch_revocation,
            },
            "warnings": list(self.warnings),
        }
