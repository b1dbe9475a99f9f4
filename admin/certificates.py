"""Officials' signing certificates as administrators see them: list, issue, revoke with a reason (units' seals are
:mod:`admin.seals`, the CA's status :mod:`admin.pki_status`).

Reading needs ``certificates:read`` on the official's unit, issuing and revoking ``certificates:manage`` (the
certificate officer's, delegated by unit like everything else). The official is found through
:meth:`Officials.reachable` with ``certificates:read`` first, so that another province's official (or certificate,
by serial) reads like nobody whatever the caller's other rights; the manage check comes after. Keys stay in the
token: issuance is the signing service's own (:meth:`SigningService.issue_certificate`), as ``antin pki issue`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from admin.delegation import Actor, Delegation
from admin.errors import AdminError, ConflictError, OutOfReachError
from admin.models import ROOT_UNIT, AdminAction
from admin.officials import Officials
from signing.errors import CertificateNotFoundError, PkiError, SignerNotAllowedError
from signing.models import CertificateRole, CertificateStatus
from signing.pki import REVOCATION_REASONS, CertificateInfo

if TYPE_CHECKING:
    from directory.models import Person
    from signing.service import SigningService

__all__ = [
    "Certificates",
    "PkiUnavailableError",
    "certificate_json",
    "reason_of",
]

# RFC 5280 §5.3.1 CRLReason names, as an administrator may write them, to the CLI's kebab-case ones
_RFC_NAMES = {
    "unspecified": "unspecified",
    "keyCompromise": "key-compromise",
    "cACompromise": "ca-compromise",
    "affiliationChanged": "affiliation-changed",
    "superseded": "superseded",
    "cessationOfOperation": "cessation-of-operation",
    "privilegeWithdrawn": "privilege-withdrawn",
}


class PkiUnavailableError(AdminError):
    status = 503
    code = "pki-unavailable"


class InvalidReasonError(AdminError):
    status = 400
    code = "invalid-reason"


def reason_of(text: str) -> str:
    """A revocation reason, kebab-case (``key-compromise``) or RFC 5280's name (``keyCompromise``)."""
    reason = _RFC_NAMES.get(text, text)
    if reason not in REVOCATION_REASONS:
        raise InvalidReasonError(f"reason must be one of {', '.join(REVOCATION_REASONS)} (or RFC 5280's names)")
    return reason


def certificate_json(cert: CertificateInfo) -> dict[str, Any]:
    """What the API shows of an official's certificate (the PEM included, for checking it elsewhere)."""
    return {
        "serial": cert.serial,
        "subject": cert.subject,
        "login": cert.subject_uid,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "status": cert.status,
        "revoked_at": cert.revoked_at.isoformat() if cert.revoked_at else None,
        "revocation_reason": cert.revocation_reason,
        "pem": cert.pem,
    }


class Certificates:
    def __init__(
        self,
        officials: Officials,
        delegation: Delegation,
        signing: Callable[[], SigningService],
        clock: Callable[[], datetime],
    ) -> None:
        self.officials = officials
        self.delegation = delegation
        self._signing = signing
        self.clock = clock

    def of_official(self, actor: Actor, login: str) -> list[CertificateInfo]:
        """The official's signing certificates, newest first."""
        person = self.officials.reachable(actor, AdminAction.CERTIFICATES_READ, login)
        return self._of(person)

    def issue(self, actor: Actor, login: str) -> CertificateInfo:
        """A new certificate for the official, its key made in the token; the previous valid one is superseded."""
        person = self.officials.reachable(actor, AdminAction.CERTIFICATES_READ, login)
        self.officials.reachable(actor, AdminAction.CERTIFICATES_MANAGE, login)
        before = [c.serial for c in self._of(person) if c.status == CertificateStatus.VALID]
        try:
            # audited there (pki:certificate:issue): the new serial, and the valid ones before (now superseded)
            return self._signing().issue_certificate(
                person.uid, actor=actor.name, details={"before": {"valid": before}}
            )
        except SignerNotAllowedError:
            raise ConflictError(f"{person.uid} is not an active account: enable them first") from None
        except PkiError as err:
            raise PkiUnavailableError(str(err)) from None

    def find(self, actor: Actor, serial: str, action: AdminAction = AdminAction.CERTIFICATES_READ) -> CertificateInfo:
        """An official's certificate by serial (hex), if ``actor`` may do ``action`` on its official."""
        try:
            cert = self._signing().ca.get(serial)
        except (CertificateNotFoundError, ValueError):
            cert = None
        if cert is None or cert.role != CertificateRole.PERSON or cert.subject_uid is None:
            # no such certificate, or not an official's: refused as an unknown official's would be
            self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_READ, ROOT_UNIT)
            raise OutOfReachError("certificate", serial)
        self.officials.reachable(actor, AdminAction.CERTIFICATES_READ, cert.subject_uid)
        if action is not AdminAction.CERTIFICATES_READ:
            self.officials.reachable(actor, action, cert.subject_uid)
        return cert

    def revoke(self, actor: Actor, serial: str, reason: str) -> CertificateInfo:
        """Revoke an official's certificate with an RFC 5280 reason; the CRL and OCSP say so at once."""
        cert = self.find(actor, serial, AdminAction.CERTIFICATES_MANAGE)
        reason = reason_of(reason)
        if cert.status == CertificateStatus.REVOKED:
            raise ConflictError(f"certificate {cert.serial} is already revoked ({cert.revocation_reason})")
        # audited there (pki:certificate:revoke), with the status before and after
        return self._signing().revoke(
            cert.serial,
            reason,
            actor=actor.name,
            details={"before": {"status": cert.status}, "after": {"status": "revoked", "reason": reason}},
        )

    def _of(self, person: Person) -> list[CertificateInfo]:
        found = self._signing().ca.certificates(role=CertificateRole.PERSON, uid=person.uid)
        return list(reversed(found))
