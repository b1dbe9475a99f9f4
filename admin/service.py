"""The administration service of one instance, reached with ``admin_service(instance)``.

It puts together :class:`~admin.delegation.Delegation` (grants and the authorisation check),
:class:`~admin.officials.Officials`, :class:`~admin.units.Units`, :class:`~admin.groups.Groups`,
:class:`~admin.security.OfficialSecurity` (sessions, second factors, security events),
:class:`~admin.audit.AuditSearch`, :class:`~admin.clients.Clients`, :class:`~admin.certificates.Certificates`
(officials' signing certificates), :class:`~admin.seals.Seals` (units' seal certificates),
:class:`~admin.pki_status.PkiMonitor` (the CA's status), :class:`~admin.imports.Imports` and
:class:`~admin.unit_imports.UnitImports` (bulk CSV import of officials and units) run as background jobs by
:class:`~admin.import_jobs.ImportJobs`, :class:`~admin.bulk_edit.BulkEdits` (one action on many officials) and
:class:`~admin.exports.Exports` (officials and units as CSV), over the
directory, the OpenID provider (to end sessions and revoke tokens), idp/mfa and the signing service (to issue and
revoke certificates). The console, the API, SCIM and the CLI all call it, so a check made here is made for all of
them.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from admin.audit import AuditSearch
from admin.bulk_edit import BulkEdits
from admin.certificates import Certificates
from admin.clients import Clients
from admin.delegation import Actor, Delegation
from admin.exports import Exports
from admin.groups import Groups
from admin.import_jobs import ImportJobs
from admin.imports import Imports
from admin.models import AdminAction
from admin.officials import Officials
from admin.pki_status import PkiMonitor
from admin.seals import Seals
from admin.security import FactorSummary, OfficialSecurity, SessionSummary
from admin.settings import AdminSettings
from admin.unit_imports import UnitImports
from admin.units import Units

if TYPE_CHECKING:
    from antin.kernel.instance import Instance
    from directory.models import Person
    from idp.oidc.clients import ClientRegistry
    from signing.service import SigningService

__all__ = ["SERVICE_KEY", "AdminService", "admin_service"]

SERVICE_KEY = "antin.admin"


class AdminService:
    def __init__(
        self,
        delegation: Delegation,
        officials: Officials,
        units: Units,
        groups: Groups,
        security: OfficialSecurity,
        audit: AuditSearch,
        clients: Clients,
        certificates: Certificates,
        imports: Imports,
        unit_imports: UnitImports,
        import_jobs: ImportJobs,
        exports: Exports,
        seals: Seals,
        pki: PkiMonitor,
        bulk_edits: BulkEdits,
    ) -> None:
        self.delegation = delegation
        self.officials = officials
        self.units = units
        self.groups = groups
        self.security = security
        self.audit = audit
        self.clients = clients
        self.certificates = certificates
        self.imports = imports
        self.unit_imports = unit_imports
        self.import_jobs = import_jobs
        self.exports = exports
        self.seals = seals
        self.pki = pki
        self.bulk_edits = bulk_edits

    def actor(self, subject: str) -> Actor:
        return Actor.administrator(subject)

    def close(self) -> None:
        """Let this process's background imports finish (the instance closes the directory next)."""
        self.import_jobs.close()


def admin_service(instance: Instance) -> AdminService:
    return instance.service(SERVICE_KEY, _build)


class _ProviderSessions:
    """The OpenID provider's sessions, as :class:`~admin.security.SessionPort`."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance

    def live_for(self, subject: str) -> list[SessionSummary]:
        from idp.oidc.service import get_provider

        return [
            SessionSummary(v.sid, v.auth_time, v.last_seen_at, v.acr, v.ip, v.user_agent, v.client_ids)
            for v in get_provider(self.instance).sessions.live_for(subject)
        ]

    def end(self, sid: str, *, reason: str) -> bool:
        from idp.oidc.service import get_provider

        return get_provider(self.instance).end_session(sid, reason=reason)


class _MfaFactors:
    """idp/mfa's service, as :class:`~admin.security.FactorPort`."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance

    def factors(self, subject: str) -> list[FactorSummary]:
        from idp.mfa import get_mfa_service

        return [
            FactorSummary(f.id, f.kind.value, f.name, f.created_at, f.last_used_at)
            for f in get_mfa_service(self.instance).factors(subject)
        ]

    def reset(self, subject: str, *, actor: str) -> int:
        from idp.mfa import get_mfa_service

        return get_mfa_service(self.instance).reset(subject, actor=actor)


def _build(instance: Instance) -> AdminService:
    from directory.instance import directory_service

    directory = directory_service(instance)

    def client_exists(client_id: str) -> bool:
        """Whether the provider has this client and it is not disabled (its cache: a change is seen at once here)."""
        from idp.oidc.service import get_provider

        return get_provider(instance).clients.active(client_id) is not None

    def request_memo() -> MutableMapping[str, str] | None:
        """Units' entryUUIDs by code, remembered for the current request only (the check runs several times in one)."""
        from flask import g, has_request_context

        if not has_request_context():
            return None
        memo: MutableMapping[str, str] = g.setdefault("antin_admin_unit_uuids", {})
        return memo

    delegation = Delegation(
        instance.database,
        instance.audit,
        directory,
        instance.clock.now,
        client_exists=client_exists,
        request_memo=request_memo,
    )

    def end_access(person: Person, actor: str) -> dict[str, Any]:
        """Sign the official out everywhere and revoke their tokens and signing certificates, at once."""
        from idp.oidc.service import get_provider
        from signing.service import signing_service

        sessions = get_provider(instance).end_all_sessions(person.entry_uuid, reason="account-disabled")
        certificates = signing_service(instance).on_account_disabled(person.uid, actor=actor)
        return {"sessions_ended": sessions, "certificates_revoked": [c.serial for c in certificates]}

    from admin.password_mail import PasswordMailer
    from antin.kernel.mail import mailer_for

    mail = PasswordMailer(lambda: mailer_for(instance), instance.audit, instance.settings.core.issuer + "/")
    officials = Officials(directory, delegation, instance.audit, end_access, mail)
    audit = AuditSearch(instance.database, instance.audit, directory, delegation, instance.clock.now)
    sessions, factors = _ProviderSessions(instance), _MfaFactors(instance)
    security = OfficialSecurity(officials, lambda: sessions, lambda: factors, lambda: audit, instance.audit)

    def registry() -> ClientRegistry:
        """The provider's own registry: a change drops its cached copy in this process at once (and is announced
        to the other workers), so a client disabled here is refused by the next token request."""
        from idp.oidc.service import get_provider

        return get_provider(instance).clients

    clients = Clients(registry, delegation, instance.audit, instance.database)
    units = Units(directory, delegation, instance.audit)
    groups = Groups(directory, delegation, instance.audit)

    def signing() -> SigningService:
        from signing.service import signing_service

        return signing_service(instance)

    certificates = Certificates(officials, delegation, signing, instance.clock.now)
    imports = Imports(directory, delegation, instance.audit, end_access)
    unit_imports = UnitImports(directory, delegation, instance.audit)

    def may_import(actor: Actor) -> bool:
        return any(delegation.units_holding(actor, a) for a in (AdminAction.OFFICIALS_WRITE, AdminAction.UNITS_WRITE))

    jobs = ImportJobs(instance.database, instance.clock.now, {"officials": imports, "units": unit_imports}, may_import)
    exports = Exports(directory, delegation, units, instance.audit)
    settings = instance.settings.section(AdminSettings)
    seals = Seals(
        directory, delegation, instance.audit, signing, instance.clock.now, warning_days=settings.pki_warning_days
    )
    pki = PkiMonitor(
        delegation,
        signing,
        instance.clock.now,
        warning_days=settings.pki_warning_days,
        probe_timeout=settings.pki_probe_timeout,
    )
    return AdminService(
        delegation,
        officials,
        units,
        groups,
        security,
        audit,
        clients,
        certificates,
        imports,
        unit_imports,
        jobs,
        exports,
        seals,
        pki,
        BulkEdits(officials, groups, delegation, settings.bulk_max_logins),
    )
