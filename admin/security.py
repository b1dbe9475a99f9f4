"""An official's security as an administrator sees it: their SSO sessions (and signing one out), their second
factors (and resetting them), and their security events from the audit log.

Reading needs ``officials:read`` on the official's unit; signing out and resetting need ``officials:security``.
Both go through the same reach check as the rest of :mod:`admin.officials`, so an official of another province
reads like nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from admin.delegation import Actor
from admin.errors import AdminError
from admin.models import AdminAction
from admin.officials import Officials
from antin.kernel.audit import AuditEvent, AuditLog

if TYPE_CHECKING:
    from admin.audit import AuditPage, AuditSearch
    from directory.models import Person

__all__ = ["FactorSummary", "OfficialSecurity", "SessionSummary", "UnknownSessionError"]


class UnknownSessionError(AdminError):
    status = 404
    code = "not-found"

    def __init__(self, sid: str) -> None:
        super().__init__(f"no live session {sid!r} of this official")


@dataclass(frozen=True)
class SessionSummary:
    sid: str
    auth_time: Any  # datetime
    last_seen_at: Any
    acr: str
    ip: str
    user_agent: str
    client_ids: tuple[str, ...]


@dataclass(frozen=True)
class FactorSummary:
    id: str
    kind: str  # totp, webauthn, recovery
    name: str
    created_at: Any
    last_used_at: Any


class SessionPort(Protocol):
    """What the console needs of the OpenID provider's sessions."""

    def live_for(self, subject: str) -> list[SessionSummary]: ...

    def end(self, sid: str, *, reason: str) -> bool: ...


class FactorPort(Protocol):
    """What the console needs of idp/mfa's service."""

    def factors(self, subject: str) -> list[FactorSummary]: ...

    def reset(self, subject: str, *, actor: str) -> int: ...


class OfficialSecurity:
    def __init__(
        self,
        officials: Officials,
        sessions: Callable[[], SessionPort],
        factors: Callable[[], FactorPort],
        audit_search: Callable[[], AuditSearch],
        audit: AuditLog,
    ) -> None:
        self.audit = audit
        self.officials = officials
        self._sessions = sessions
        self._factors = factors
        self._audit_search = audit_search

    def sessions(self, actor: Actor, login: str) -> list[SessionSummary]:
        person = self.officials.reachable(actor, AdminAction.OFFICIALS_READ, login)
        return self._sessions().live_for(person.entry_uuid)

    def end_session(self, actor: Actor, login: str, sid: str) -> None:
        """Sign one of the official's sessions out (its tokens revoked, its clients told by back-channel logout)."""
        person = self.officials.reachable(actor, AdminAction.OFFICIALS_SECURITY, login)
        if sid not in {s.sid for s in self._sessions().live_for(person.entry_uuid)}:
            raise UnknownSessionError(sid)  # another official's sid, guessed or stale, ends nothing
        self._sessions().end(sid, reason="ended by an administrator")
        self.audit.record(AuditEvent.ADMIN_SESSION_END, actor=actor.name, subject=person.uid, details={"sid": sid})

    def factors(self, actor: Actor, login: str) -> list[FactorSummary]:
        person = self.officials.reachable(actor, AdminAction.OFFICIALS_READ, login)
        return self._factors().factors(person.entry_uuid)

    def reset_mfa(self, actor: Actor, login: str) -> int:
        """Remove every second factor of the official (they enrol again at their next sign-in); audited by idp/mfa."""
        person = self.officials.reachable(actor, AdminAction.OFFICIALS_SECURITY, login)
        return self._factors().reset(person.entry_uuid, actor=actor.name)

    def events(self, actor: Actor, login: str, *, before: int | None = None, size: int = 25) -> AuditPage:
        """The audit entries by or about the official (by login or by sub), newest first."""
        person = self.officials.reachable(actor, AdminAction.OFFICIALS_READ, login)
        return self._audit_search().about(_names(person), before=before, size=size)


def _names(person: Person) -> tuple[str, ...]:
    """What the audit log calls an official: login events name the login, others the sub."""
    return (person.uid, person.entry_uuid)
