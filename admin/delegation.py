"""Delegated administration: who holds which role on which unit, and the one check every admin operation makes.

A grant of a role on a unit covers the unit's whole subtree, read from the directory's unit tree (a unit's path to
the top is its code and its parents' codes). :meth:`Delegation.authorize` answers "may this actor do this action on
something in this unit?": an actor who holds the action nowhere is refused outright (403); one who holds it only
elsewhere is told the target is not there (404), so that guessing a login or a unit code in another province
teaches nothing. Granting is itself delegated: one grants or revokes a role on a unit only while holding
``grants:manage`` and every action of that role there.

A grant is bound to its unit's entryUUID, not only its code (:mod:`admin.unit_identity`): once the unit is deleted
the grant is *orphaned*: it covers nothing, even when a new unit is later given the same code, and only a platform
administrator (or the operator) sees and revokes it. A renamed or moved unit keeps its entryUUID and its grants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from admin.errors import GrantRefusedError, NotPermittedError, OutOfReachError, UnknownGrantError
from admin.models import ROLE_ACTIONS, ROOT_UNIT, AdminAction, AdminGrant, AdminRole, GrantView, client_subject
from admin.unit_identity import BoundGrants, UnitIdentities
from antin.kernel.audit import AuditEvent, AuditLog
from antin.kernel.database import Database
from directory.errors import InvalidInputError, NotFoundError
from directory.service import LdapDirectory

__all__ = ["Actor", "Delegation", "covers"]


@dataclass(frozen=True)
class Actor:
    """Who asks: an administrator by OIDC ``sub``, or the server's operator (a shell on the server, the CLI)."""

    name: str  # the sub, or "cli:<user>"; what the audit log records
    operator: bool = False

    @classmethod
    def administrator(cls, subject: str) -> Actor:
        return cls(subject)


def covers(units: Iterable[str], unit_path: Sequence[str]) -> bool:
    """Whether a grant on one of ``units`` covers a target whose unit path (unit first, then parents) is given."""
    held = {u.casefold() for u in units}
    return ROOT_UNIT in held or any(code.casefold() in held for code in unit_path)


class Delegation:
    """The grants table and the authorisation check."""

    def __init__(
        self,
        database: Database,
        audit: AuditLog,
        directory: LdapDirectory,
        clock: Callable[[], datetime],
        *,
        client_exists: Callable[[str], bool] = lambda _client_id: False,
        request_memo: Callable[[], MutableMapping[str, str] | None] = lambda: None,
    ) -> None:
        self.database = database
        self.audit = audit
        self.directory = directory
        self.clock = clock
        self.client_exists = client_exists  # whether the OpenID provider knows a client (for grants to clients)
        self.units = UnitIdentities(directory, request_memo)
        self.grants_table = BoundGrants(database, self.units)

    # -- the check ------------------------------------------------------------------------------------------

    def units_holding(self, actor: Actor, action: AdminAction) -> list[str]:
        """The units (codes, or ROOT_UNIT) on which ``actor`` may do ``action``."""
        if actor.operator:
            return [ROOT_UNIT]
        rows = [row for row in self.grants_table.of(actor.name) if _allows(row.role, action)]
        return sorted({row.unit_code for row in self.grants_table.live(rows)})

    def actions_held(self, actor: Actor) -> set[AdminAction]:
        """Every action ``actor`` holds somewhere (what the console offers; each operation still checks)."""
        if actor.operator:
            return set(AdminAction)
        roles = {row.role for row in self.grants_table.live(self.grants_table.of(actor.name))}
        return {action for role in roles for action in AdminAction if _allows(role, action)}

    def authorize(
        self, actor: Actor, action: AdminAction, unit_path: Sequence[str], *, target: tuple[str, str]
    ) -> None:
        """Raise unless ``actor`` may do ``action`` on ``target`` (kind, name), which sits at ``unit_path``."""
        if actor.operator:
            return
        rows = [row for row in self.grants_table.of(actor.name) if _allows(row.role, action)]
        # first the grants that would cover the target: when its path was just read, their units' entryUUIDs are
        # known and the usual, allowed case costs no directory search
        covering = [row for row in rows if covers([row.unit_code], unit_path)]
        if self.grants_table.live(covering):
            return
        if not self.grants_table.live(rows):
            raise NotPermittedError(action.value)
        raise OutOfReachError(*target)

    def authorize_unit(self, actor: Actor, action: AdminAction, unit_code: str) -> list[str]:
        """Check ``action`` on the unit ``unit_code`` (ROOT_UNIT: the whole directory); return its path."""
        path = [ROOT_UNIT] if unit_code == ROOT_UNIT else self.unit_path(unit_code)
        if path is None:
            if not self.units_holding(actor, action):
                raise NotPermittedError(action.value)
            raise OutOfReachError("unit", unit_code)
        self.authorize(actor, action, path, target=("unit", unit_code))
        return path

    def unit_path(self, unit_code: str) -> list[str] | None:
        """The unit's code and its parents' codes up to the top, or None when there is no such unit."""
        try:
            units = self.directory.unit_path(unit_code)
        except (NotFoundError, InvalidInputError):
            return None  # a malformed code names no unit either
        self.units.remember(units)
        return [u.code for u in units]

    def reach(self, actor: Actor, action: AdminAction) -> list[str] | None:
        """The tops of the subtrees where ``actor`` may do ``action``: None for the whole directory, [] for none.

        A unit under another held unit is left out, so that searching each top lists nobody twice.
        """
        units = self.units_holding(actor, action)
        if ROOT_UNIT in units:
            return None
        paths = {code: self.unit_path(code) for code in units}
        live = {code: path for code, path in paths.items() if path is not None}  # a deleted unit covers nothing
        return sorted(code for code, path in live.items() if not covers(set(live) - {code}, path[1:]))

    # -- granting -------------------------------------------------------------------------------------------

    def grant(self, actor: Actor, login: str, role: AdminRole | str, unit_code: str) -> GrantView:
        """Give ``login`` the role on the unit's subtree; only within what ``actor`` holds. Audited."""
        role = _role(role)
        grantee = self.directory.find_by_uid(login)
        if grantee is None:
            raise OutOfReachError("official", login)
        if role is AdminRole.PROVISIONER:
            raise GrantRefusedError(f"{role.value} is a role for OIDC clients (--client), not for officials")
        return self._grant(actor, grantee.entry_uuid, grantee.uid, role, unit_code)

    def grant_client(self, actor: Actor, client_id: str, role: AdminRole | str, unit_code: str) -> GrantView:
        """Bind an OIDC client (a SCIM provisioning client) to a unit's subtree: it acts there like an administrator
        holding ``role`` (``provisioner``), through client_credentials tokens. Only within what ``actor`` holds."""
        role = _role(role)
        if role is not AdminRole.PROVISIONER:
            raise GrantRefusedError(f"a client is granted {AdminRole.PROVISIONER.value} only")
        subject = client_subject(client_id)
        if not self.client_exists(client_id) or len(subject) > 64:
            raise GrantRefusedError(f"no OIDC client {client_id!r}")
        return self._grant(actor, subject, client_id, role, unit_code)

    def _grant(self, actor: Actor, subject: str, name: str, role: AdminRole, unit_code: str) -> GrantView:
        if role is AdminRole.PLATFORM_ADMIN and unit_code != ROOT_UNIT:
            raise GrantRefusedError(f"{role.value} is granted on the root ({ROOT_UNIT}) only")
        unit_uuid = None  # the root is no directory entry: nothing to bind
        if unit_code != ROOT_UNIT:
            unit_code, unit_uuid = self._existing_unit(actor, unit_code)
        self._check_may_grant(actor, role, unit_code)
        row = AdminGrant(
            subject=subject,
            role=role.value,
            unit_code=unit_code,
            unit_uuid=unit_uuid,
            granted_by=actor.name,
            granted_at=self.clock(),
        )
        details: dict[str, object] = {"role": role.value, "unit": unit_code, "administrator": subject}
        try:
            with self.database.session() as s:
                same = select(AdminGrant).where(
                    AdminGrant.subject == subject, AdminGrant.role == role.value, AdminGrant.unit_code == unit_code
                )
                orphan = s.scalar(same.where(AdminGrant.unit_uuid != unit_uuid)) if unit_uuid else None
                if orphan is not None:  # the same role on a deleted unit of that code: the new grant takes its place
                    details["replaces_orphaned"] = orphan.id
                    s.delete(orphan)
                    s.flush()
                s.add(row)
                s.flush()
                grant_id = row.id
        except IntegrityError:
            raise GrantRefusedError(f"{name} already holds {role.value} on {unit_code}") from None
        self.audit.record(
            AuditEvent.ADMIN_GRANT_ADD, actor=actor.name, subject=name, details={"grant": grant_id, **details}
        )
        return self._view(grant_id)

    def may_revoke(self, actor: Actor, grant_id: int) -> GrantView:
        """The grant, if ``actor`` may take it away (what a confirmation page shows); else refused as revoke is."""
        view = self._view(grant_id)
        self._check_may_grant(actor, view.role, view.unit_code, orphaned=view.orphaned)
        return view

    def revoke(self, actor: Actor, grant_id: int) -> GrantView:
        """Take a grant away; only within what ``actor`` holds. Audited."""
        view = self.may_revoke(actor, grant_id)
        with self.database.session() as s:
            row = s.get(AdminGrant, grant_id)
            if row is None:
                raise UnknownGrantError(grant_id)
            s.delete(row)
        self.audit.record(
            AuditEvent.ADMIN_GRANT_REVOKE,
            actor=actor.name,
            subject=view.login or view.subject,
            details={"grant": grant_id, "role": view.role.value, "unit": view.unit_code, "administrator": view.subject},
        )
        return view

    def grants(self, actor: Actor, *, login: str | None = None) -> list[GrantView]:
        """The grants ``actor`` may see: all for the operator, else those on units where it manages grants and
        its own; of one administrator when ``login`` is given."""
        query = select(AdminGrant).order_by(AdminGrant.id)
        if login is not None:
            person = self.directory.find_by_uid(login)
            if person is None:
                raise OutOfReachError("official", login)
            query = query.where(AdminGrant.subject == person.entry_uuid)
        with self.database.reading() as s:
            rows = list(s.scalars(query))
        orphaned = self.grants_table.orphaned(rows)
        if not actor.operator:
            managed = self.units_holding(actor, AdminAction.GRANTS_MANAGE)
            rows = [
                r
                for r in rows
                if r.subject == actor.name or self._covered(managed, r.unit_code, orphaned=r.id in orphaned)
            ]
        logins = self._logins({r.subject for r in rows})
        return [_view_of(r, logins.get(r.subject), orphaned=r.id in orphaned) for r in rows]

    # -- inside ---------------------------------------------------------------------------------------------

    def _check_may_grant(self, actor: Actor, role: AdminRole, unit_code: str, *, orphaned: bool = False) -> None:
        if actor.operator:
            return
        managed = self.units_holding(actor, AdminAction.GRANTS_MANAGE)
        if not managed:
            raise NotPermittedError(AdminAction.GRANTS_MANAGE.value)
        path = self._grant_path(unit_code, orphaned=orphaned)
        if not covers(managed, path):
            if orphaned:
                raise OutOfReachError("grant", unit_code)  # the unit is gone: the platform's to clear up
            if unit_code == ROOT_UNIT:
                raise GrantRefusedError(f"only a platform administrator grants on the root ({ROOT_UNIT})")
            raise OutOfReachError("unit", unit_code)  # another province's unit reads like no unit at all
        for action in sorted(ROLE_ACTIONS[role]):
            if not covers(self.units_holding(actor, action), path):
                raise GrantRefusedError(f"you do not hold {action.value} on {unit_code}: you cannot grant {role.value}")

    def _existing_unit(self, actor: Actor, unit_code: str) -> tuple[str, str]:
        """The unit's code as the directory spells it, and its entryUUID; else refused as out of reach."""
        try:
            unit = self.directory.get_unit(unit_code)
            return unit.code, unit.entry_uuid
        except (NotFoundError, InvalidInputError):
            if actor.operator:
                raise OutOfReachError("unit", unit_code) from None
            if not self.units_holding(actor, AdminAction.GRANTS_MANAGE):
                raise NotPermittedError(AdminAction.GRANTS_MANAGE.value) from None
            raise OutOfReachError("unit", unit_code) from None

    def _covered(self, units: list[str], unit_code: str, *, orphaned: bool) -> bool:
        return covers(units, self._grant_path(unit_code, orphaned=orphaned))

    def _grant_path(self, unit_code: str, *, orphaned: bool) -> list[str]:
        """Where a grant sits for those who manage grants: an orphaned one with the root's (the platform's), not
        with whichever unit has taken its code since."""
        if orphaned or unit_code == ROOT_UNIT:
            return [ROOT_UNIT]
        return self.unit_path(unit_code) or [unit_code]

    def _view(self, grant_id: int) -> GrantView:
        with self.database.reading() as s:
            row = s.get(AdminGrant, grant_id)
        if row is None:
            raise UnknownGrantError(grant_id)
        orphaned = bool(self.grants_table.orphaned([row]))
        return _view_of(row, self._logins({row.subject}).get(row.subject), orphaned=orphaned)

    def _logins(self, subjects: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for subject in subjects:
            person = self.directory.find_by_uuid(subject)
            if person is not None:
                found[subject] = person.uid
        return found


def _allows(role: str, action: AdminAction) -> bool:
    try:
        return action in ROLE_ACTIONS[AdminRole(role)]
    except ValueError:
        return False  # a role this version does not know grants nothing


def _role(role: AdminRole | str) -> AdminRole:
    try:
        return AdminRole(role)
    except ValueError:
        raise GrantRefusedError(f"no role {role!r}: one of {', '.join(r.value for r in AdminRole)}") from None


def _view_of(row: AdminGrant, login: str | None, *, orphaned: bool) -> GrantView:
    granted_at = row.granted_at if row.granted_at.tzinfo else row.granted_at.replace(tzinfo=UTC)
    return GrantView(
        id=row.id,
        subject=row.subject,
        login=login,
        role=AdminRole(row.role),
        unit_code=row.unit_code,
        granted_by=row.granted_by,
        granted_at=granted_at,
        orphaned=orphaned,
    )
