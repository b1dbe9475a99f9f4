"""Units' seal certificates as administrators see them: the units in reach with their seal, one unit's seals,
issue, renew and revoke with a reason.

Delegated like officials' certificates: reading needs ``certificates:read`` on the unit, issuing, renewing and
revoking ``certificates:manage`` there (a province's certificate officer manages the seals of the province and every
unit under it, no other). A seal of a unit out of reach, named by serial, reads like no certificate at all. Keys are
made in the token by the CA (:meth:`CertificateAuthority.issue_seal`), as ``antin pki issue --seal`` makes them; each
action is one audit entry with what was valid before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from admin.certificates import PkiUnavailableError, reason_of
from admin.delegation import Actor, Delegation
from admin.errors import ConflictError, NotPermittedError, OutOfReachError
from admin.models import ROOT_UNIT, AdminAction
from admin.pki_status import Expiry, expiry_of
from antin.kernel.audit import AuditEvent, AuditLog
from directory.models import Unit
from signing.errors import CertificateNotFoundError, PkiError
from signing.models import CertificateRole, CertificateStatus
from signing.pki import CertificateInfo

if TYPE_CHECKING:
    from directory.service import LdapDirectory
    from signing.service import SigningService

__all__ = ["Seals", "UnitSeal", "seal_json"]

_T = TypeVar("_T")


def seal_json(cert: CertificateInfo, now: datetime, warning_days: int, *, orphaned: bool = False) -> dict[str, Any]:
    """What the API shows of a seal certificate (the PEM included, for checking it elsewhere); ``orphaned``: its
    unit is gone (a unit with its code since is another, which this seal does not seal for)."""
    days, expiry = expiry_of(cert.not_after, now, warning_days)
    return {
        "serial": cert.serial,
        "unit": cert.unit_code,
        "subject": cert.subject,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "days_left": days,
        "expiry": expiry.value,
        "status": cert.status,
        "revoked_at": cert.revoked_at.isoformat() if cert.revoked_at else None,
        "revocation_reason": cert.revocation_reason,
        "pem": cert.pem,
        "orphaned": orphaned,
    }


@dataclass(frozen=True)
class UnitSeal:
    """A unit and its valid seal certificate (None: it has none), with the days the seal has left."""

    unit: Unit
    seal: CertificateInfo | None
    days_left: int | None
    expiry: Expiry | None


class Seals:
    def __init__(
        self,
        directory: LdapDirectory,
        delegation: Delegation,
        audit: AuditLog,
        signing: Callable[[], SigningService],
        clock: Callable[[], datetime],
        *,
        warning_days: int,
    ) -> None:
        self.directory = directory
        self.delegation = delegation
        self.audit = audit
        self._signing = signing
        self.clock = clock
        self.warning_days = warning_days

    # -- reading ------------------------------------------------------------------------------------------

    def units(self, actor: Actor, under: str | None = None) -> list[UnitSeal]:
        """Every unit where ``actor`` reads certificates (or ``under`` and its subtree, which must be within reach),
        by code, each with its valid seal."""
        if under is not None:
            self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_READ, under)
            units = [self.directory.get_unit(under), *self.directory.list_units(under)]
        else:
            tops = self.delegation.reach(actor, AdminAction.CERTIFICATES_READ)
            if tops is None:
                units = self.directory.list_units()
            else:
                if not tops:
                    self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_READ, ROOT_UNIT)  # raises 403
                units = [u for top in tops for u in (self.directory.get_unit(top), *self.directory.list_units(top))]
        current: dict[str, CertificateInfo] = {}
        for cert in self._valid_seals():
            if cert.unit_uuid:
                current[cert.unit_uuid] = cert  # oldest first: the newest valid one wins
        now = self.clock()
        out = []
        for unit in sorted(units, key=lambda u: u.code):
            seal = current.get(unit.entry_uuid)  # not the seal of a deleted unit that had this code
            days, expiry = expiry_of(seal.not_after, now, self.warning_days) if seal else (None, None)
            out.append(UnitSeal(unit, seal, days, expiry))
        return out

    def expiring(self, actor: Actor) -> list[UnitSeal]:
        """The seals in reach that expire within ``[admin] pki_warning_days`` (or have expired), by unit code.

        The console's home asks on every visit: the certificate table is read first, and only the few seals near
        their end are looked up in the directory, not every unit in reach."""
        now = self.clock()
        soon: dict[str, CertificateInfo] = {}
        valid = self._valid_seals()
        live = self._live(valid)
        for cert in valid:
            if cert.unit_code is not None and cert.serial in live:
                soon[cert.unit_code] = cert  # oldest first: the newest valid one wins
        out = []
        for code, cert in sorted(soon.items()):
            days, expiry = expiry_of(cert.not_after, now, self.warning_days)
            if expiry is Expiry.OK:
                continue
            try:
                self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_READ, code)
            except (OutOfReachError, NotPermittedError):
                continue  # another province's seal, or a unit deleted since
            out.append(UnitSeal(self.directory.get_unit(code), cert, days, expiry))
        return out

    def of_unit(self, actor: Actor, code: str) -> tuple[Unit, list[CertificateInfo]]:
        """A unit and its seal certificates, newest first."""
        self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_READ, code)
        unit = self.directory.get_unit(code)
        self._ca_call(lambda s: s.bind_legacy_seals())
        certs = self._ca_call(
            lambda s: s.ca.certificates(role=CertificateRole.SEAL, unit_code=unit.code, unit_uuid=unit.entry_uuid)
        )
        return unit, list(reversed(certs))

    def orphaned_seals(self, actor: Actor) -> list[CertificateInfo]:
        """The valid seals of units that are gone (their code now another unit's, or no unit's): no unit seals with
        them, and only who holds ``certificates:read`` on the whole directory sees them (to revoke them)."""
        if ROOT_UNIT not in self.delegation.units_holding(actor, AdminAction.CERTIFICATES_READ):
            return []
        valid = self._valid_seals()
        live = self._live(valid)
        return [c for c in valid if c.serial not in live]

    def is_orphaned(self, cert: CertificateInfo) -> bool:
        return cert.serial not in self._live([cert])

    def find(self, actor: Actor, serial: str, action: AdminAction = AdminAction.CERTIFICATES_READ) -> CertificateInfo:
        """A seal certificate by serial (hex), if ``actor`` may do ``action`` on its unit."""
        try:
            cert: CertificateInfo | None = self._signing().ca.get(serial)
        except (CertificateNotFoundError, ValueError):
            cert = None
        if cert is None or cert.role != CertificateRole.SEAL or cert.unit_code is None:
            self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_READ, ROOT_UNIT)
            raise OutOfReachError("seal certificate", serial)
        # a seal of a gone unit is the whole platform's to see (and revoke), not the unit's that has its code now
        unit = ROOT_UNIT if self.is_orphaned(cert) else cert.unit_code
        try:
            self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_READ, unit)
        except OutOfReachError:
            raise OutOfReachError("seal certificate", serial) from None  # the unit's code is not told
        if action is not AdminAction.CERTIFICATES_READ:
            self.delegation.authorize_unit(actor, action, unit)
        return cert

    # -- changing -----------------------------------------------------------------------------------------

    def issue(self, actor: Actor, code: str) -> CertificateInfo:
        """A first seal for a unit, its key made in the token; a unit that has a valid seal renews it instead."""
        self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_READ, code)
        self.delegation.authorize_unit(actor, AdminAction.CERTIFICATES_MANAGE, code)
        valid = self._valid(code)
        if valid:
            raise ConflictError(f"unit {code} has a valid seal ({valid[-1].serial}): renew it, or revoke it first")
        return self._issue(actor, code, valid, renews=None)

    def renew(self, actor: Actor, serial: str) -> CertificateInfo:
        """A new seal (new key, new certificate) for the unit of a valid seal, which is revoked as superseded."""
        cert = self.find(actor, serial, AdminAction.CERTIFICATES_MANAGE)
        assert cert.unit_code is not None
        if cert.status != CertificateStatus.VALID:
            raise ConflictError(f"seal {cert.serial} is revoked ({cert.revocation_reason}): issue a new one instead")
        if self.is_orphaned(cert):
            raise ConflictError(f"seal {cert.serial} belongs to a unit that is gone: revoke it, nothing renews it")
        return self._issue(actor, cert.unit_code, self._valid(cert.unit_code), renews=cert.serial)

    def revoke(self, actor: Actor, serial: str, reason: str) -> CertificateInfo:
        """Revoke a seal with an RFC 5280 reason; the CRL and OCSP say so at once."""
        cert = self.find(actor, serial, AdminAction.CERTIFICATES_MANAGE)
        reason = reason_of(reason)
        if cert.status == CertificateStatus.REVOKED:
            raise ConflictError(f"seal {cert.serial} is already revoked ({cert.revocation_reason})")
        revoked = self._ca_call(lambda s: s.ca.revoke(cert.serial, reason))
        # audited here, not by the signing service, so that the seal's whole history is under the subject unit:<code>
        self.audit.record(
            AuditEvent.PKI_CERTIFICATE_REVOKE,
            actor=actor.name,
            subject=f"unit:{cert.unit_code}",
            details={
                "serial": cert.serial,
                "reason": reason,
                "unit": cert.unit_code,
                "before": {"status": cert.status},
                "after": {"status": "revoked", "reason": reason},
            },
        )
        return revoked

    def _issue(self, actor: Actor, code: str, before: list[CertificateInfo], renews: str | None) -> CertificateInfo:
        path = self.directory.unit_path(code)  # the unit, its parent, … up to the top
        above = tuple(u.ref for u in reversed(path[1:]))
        unit = path[0]
        # bound to the unit's entryUUID: supersedes what was valid for this very unit
        cert = self._ca_call(lambda s: s.ca.issue_seal(unit.ref, above, unit_uuid=unit.entry_uuid))
        details: dict[str, Any] = {
            "serial": cert.serial,
            "role": cert.role,
            "unit": code,
            "before": {"valid": [c.serial for c in before]},
            "after": {"valid": [cert.serial], "not_after": cert.not_after.isoformat()},
        }
        if renews:
            details["renews"] = renews
        self.audit.record(AuditEvent.PKI_CERTIFICATE_ISSUE, actor=actor.name, subject=f"unit:{code}", details=details)
        return cert

    def _valid(self, code: str) -> list[CertificateInfo]:
        """The valid seals of the unit that has ``code`` now (not those of a deleted unit that had it)."""
        unit_uuid = self.directory.get_unit(code).entry_uuid
        self._ca_call(lambda s: s.bind_legacy_seals())
        return self._ca_call(
            lambda s: s.ca.certificates(role=CertificateRole.SEAL, unit_code=code, unit_uuid=unit_uuid, valid_only=True)
        )

    def _valid_seals(self) -> list[CertificateInfo]:
        """Every valid seal, bound to its unit's entryUUID (those of earlier versions bound first), oldest first."""
        self._ca_call(lambda s: s.bind_legacy_seals())
        return self._ca_call(lambda s: s.ca.certificates(role=CertificateRole.SEAL, valid_only=True))

    def _live(self, certs: list[CertificateInfo]) -> set[str]:
        """The serials of those seals whose unit is still the one they were issued to."""
        units = self.delegation.units
        current = units.current(c.unit_code for c in certs if c.unit_code)
        return {c.serial for c in certs if c.unit_code and units.is_live(c.unit_code, c.unit_uuid, current)}

    def _ca_call(self, call: Callable[[SigningService], _T]) -> _T:
        try:
            return call(self._signing())
        except PkiError as err:
            raise PkiUnavailableError(str(err)) from None
