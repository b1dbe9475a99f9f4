"""Bulk edits of officials: one action on many at once — disable, enable, move to a unit, add to or remove from a
group — first planned (what will change for each, what will be refused and why), then applied.

Nothing here changes an official itself: each row is applied by the single-official operation of
:class:`~admin.officials.Officials` or :class:`~admin.groups.Groups`, which checks the delegation for that official,
audits the change with its values before and after, and (disabling) ends the official's sessions and revokes their
tokens and signing certificates. A row refused (outside the caller's units, already in that state, changed since the
confirmation) is reported and the other rows go on; the action's target (the unit, the group) out of reach refuses
the whole request, as the single action would.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from admin.delegation import Actor, Delegation, covers
from admin.errors import AdminError, NotPermittedError, OutOfReachError, PreconditionFailedError
from admin.groups import Groups
from admin.models import ROOT_UNIT, AdminAction
from admin.officials import Officials, SelfDisableError, person_etag
from directory.errors import DirectoryError, InvalidInputError, NotFoundError
from directory.models import AccountStatus, Group, Person

__all__ = ["BulkAction", "BulkEdits", "BulkReport", "BulkRequest", "BulkRow", "TooManyLoginsError"]


class BulkAction(enum.StrEnum):
    DISABLE = "disable"
    ENABLE = "enable"
    MOVE = "move"
    ADD_TO_GROUP = "add_to_group"
    REMOVE_FROM_GROUP = "remove_from_group"


# the power each action needs on every official (the single actions' own)
POWER = {
    BulkAction.DISABLE: AdminAction.OFFICIALS_DISABLE,
    BulkAction.ENABLE: AdminAction.OFFICIALS_DISABLE,
    BulkAction.MOVE: AdminAction.OFFICIALS_WRITE,
    BulkAction.ADD_TO_GROUP: AdminAction.GROUPS_MANAGE,
    BulkAction.REMOVE_FROM_GROUP: AdminAction.GROUPS_MANAGE,
}
GROUP_ACTIONS = frozenset({BulkAction.ADD_TO_GROUP, BulkAction.REMOVE_FROM_GROUP})
DISABLED_STATUSES = (AccountStatus.SUSPENDED, AccountStatus.RETIRED)


class TooManyLoginsError(AdminError):
    status = 400
    code = "too-many-logins"


@dataclass(frozen=True)
class BulkRequest:
    """One action on a list of officials, checked for shape (not yet for rights)."""

    action: BulkAction
    logins: tuple[str, ...]  # distinct (case-insensitively), in the order given
    unit: str | None = None  # move: the unit to move to (ROOT_UNIT: outside every unit)
    group: str | None = None  # add_to_group, remove_from_group: the group
    status: AccountStatus = AccountStatus.SUSPENDED  # disable: suspended or retired

    @classmethod
    def parse(
        cls,
        action: object,
        logins: object,
        *,
        limit: int,
        unit: object = None,
        group: object = None,
        status: object = None,
    ) -> BulkRequest:
        """A request from untrusted values (a JSON body, a form); a bad one raises with the field named."""
        if not isinstance(action, str) or action not in {a.value for a in BulkAction}:
            raise InvalidInputError("action", "must be one of " + ", ".join(a.value for a in BulkAction))
        chosen = BulkAction(action)
        if not isinstance(logins, Sequence) or isinstance(logins, str | bytes):
            raise InvalidInputError("logins", "must be a list of logins")
        if not logins:
            raise InvalidInputError("logins", "select at least one official")
        distinct: dict[str, str] = {}
        for login in logins:
            if not isinstance(login, str) or not login.strip() or len(login) > 256:
                raise InvalidInputError("logins", "each must be a login (a non-empty string)")
            distinct.setdefault(login.strip().lower(), login.strip())
        if len(distinct) > limit:
            raise TooManyLoginsError(f"at most {limit} officials per bulk edit; {len(distinct)} were given")
        target_unit = _text(unit, "unit") if chosen is BulkAction.MOVE else None
        target_group = _text(group, "group") if chosen in GROUP_ACTIONS else None
        disabled = AccountStatus.SUSPENDED
        if chosen is BulkAction.DISABLE and status not in (None, ""):
            if status not in {s.value for s in DISABLED_STATUSES}:
                raise InvalidInputError("status", "must be suspended or retired")
            disabled = AccountStatus(str(status))
        return cls(chosen, tuple(distinct.values()), target_unit, target_group, disabled)

    @property
    def needs_target(self) -> bool:
        return (self.action is BulkAction.MOVE and not self.unit) or (self.action in GROUP_ACTIONS and not self.group)


def _text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(name, "must be a string")
    return value.strip() or None


@dataclass(frozen=True)
class BulkRow:
    """What happens (planned) or happened (applied) to one official."""

    login: str
    # planned: "change" or "refused"; applied: "changed", "refused" or "failed" (the directory could not do it)
    outcome: str
    reason: str | None = None  # why refused or failed, a code: "not-found", "already-disabled", "self", …
    detail: str = ""  # the reason in words (English)
    full_name: str | None = None  # None when the official is out of reach (a stranger reads like nobody)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    version: str | None = None  # the official's ETag as planned: the confirmation sends it back

    def as_json(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
            "full_name": self.full_name,
            "before": self.before,
            "after": self.after,
            "version": self.version,
        }


@dataclass(frozen=True)
class BulkReport:
    request: BulkRequest
    rows: tuple[BulkRow, ...]
    applied: bool  # False: a plan (dry run), nothing changed
    target_name: str | None = None  # the unit's or group's name, for the pages

    def count(self, *outcomes: str) -> int:
        return sum(1 for row in self.rows if row.outcome in outcomes)

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.request.action.value,
            "dry_run": not self.applied,
            "unit": self.request.unit,
            "group": self.request.group,
            "status": self.request.status.value if self.request.action is BulkAction.DISABLE else None,
            "changed" if self.applied else "to_change": self.count("changed", "change"),
            "refused": self.count("refused"),
            "failed": self.count("failed"),
            "results": [row.as_json() for row in self.rows],
        }


class BulkEdits:
    def __init__(self, officials: Officials, groups: Groups, delegation: Delegation, max_logins: int) -> None:
        self.officials = officials
        self.groups = groups
        self.delegation = delegation
        self.max_logins = max_logins

    def parse(self, action: object, logins: object, **target: object) -> BulkRequest:
        return BulkRequest.parse(action, logins, limit=self.max_logins, **target)

    def plan(self, actor: Actor, request: BulkRequest) -> BulkReport:
        """What the action would do to each official; nothing changes."""
        target = self._target(actor, request)
        people = self.officials.directory.find_people(list(request.logins))
        rows = tuple(
            self._plan_row(actor, request, login, people.get(login.lower()), target) for login in request.logins
        )
        return BulkReport(request, rows, applied=False, target_name=_name_of(target))

    def apply(self, actor: Actor, request: BulkRequest, versions: Mapping[str, str] | None = None) -> BulkReport:
        """Plan again, then change each official the plan would change, one by one through the single action.

        ``versions``: an official's ETag as the caller confirmed it; one changed since is refused, not changed.
        """
        plan = self.plan(actor, request)
        versions = {k.lower(): v for k, v in (versions or {}).items()}
        rows = []
        for row in plan.rows:
            confirmed = versions.get(row.login.lower())
            if row.outcome != "change":
                rows.append(row)
            elif confirmed is not None and confirmed != row.version:
                rows.append(_refused(row, "changed-meanwhile", "changed by someone else since the confirmation"))
            else:
                rows.append(self._apply_row(actor, request, row))
        return BulkReport(request, tuple(rows), applied=True, target_name=plan.target_name)

    def require_power(self, actor: Actor, action: BulkAction) -> None:
        """Raise unless ``actor`` holds the action's power on some unit."""
        power = POWER[action]
        if not self.delegation.units_holding(actor, power):
            raise NotPermittedError(power.value)

    def groups_in_reach(self, actor: Actor) -> list[Group]:
        """The groups ``actor`` may add members to (for the console's choice), by name; no members resolved."""
        units = self.delegation.units_holding(actor, AdminAction.GROUPS_MANAGE)
        paths: dict[str | None, list[str]] = {}
        found = []
        for group in self.officials.directory.list_groups():
            if group.unit_code not in paths:
                code = group.unit_code
                paths[code] = [ROOT_UNIT] if code is None else (self.delegation.unit_path(code) or [])
            if covers(units, paths[group.unit_code]):
                found.append(group)
        return found

    # -- inside ---------------------------------------------------------------------------------------------

    def _target(self, actor: Actor, request: BulkRequest) -> Group | str | None:
        """Check the caller holds the action somewhere and may use its target: the unit's name, or the group."""
        power = POWER[request.action]
        self.require_power(actor, request.action)
        if request.action is BulkAction.MOVE:
            if not request.unit:
                raise InvalidInputError("unit", "is required to move officials")
            self.delegation.authorize_unit(actor, power, request.unit)  # first: an unknown unit reads like nobody
            if request.unit == ROOT_UNIT:
                return None  # outside every unit: no name
            return self.officials.directory.get_unit(request.unit).name
        if request.action in GROUP_ACTIONS:
            if not request.group:
                raise InvalidInputError("group", "is required to add to or remove from a group")
            return self.groups.reachable(actor, power, request.group)
        return None

    def _plan_row(
        self, actor: Actor, request: BulkRequest, login: str, person: Person | None, target: object
    ) -> BulkRow:
        power = POWER[request.action]
        try:
            path = [u.code for u in person.unit_path] if person is not None else []
            self.delegation.authorize(actor, power, path, target=("official", login))
            if person is None:
                raise OutOfReachError("official", login)
        except OutOfReachError as err:
            return BulkRow(login, "refused", err.code, str(err))
        row = BulkRow(person.uid, "change", full_name=person.full_name, version=person_etag(person))
        if request.action is BulkAction.DISABLE:
            if person.entry_uuid == actor.name:
                return _refused(row, "self", "you cannot disable your own account")
            if person.status is request.status:
                return _refused(row, "already-disabled", f"already {person.status.value}")
            return _changing(row, {"status": person.status.value}, {"status": request.status.value})
        if request.action is BulkAction.ENABLE:
            if person.status is AccountStatus.ACTIVE:
                return _refused(row, "already-active", "already active")
            return _changing(row, {"status": person.status.value}, {"status": AccountStatus.ACTIVE.value})
        if request.action is BulkAction.MOVE:
            now = person.unit.code if person.unit is not None else ROOT_UNIT
            if now.lower() == (request.unit or "").lower():
                return _refused(row, "already-in-unit", f"already in {now}")
            before = {"unit": now, "unit_name": person.unit.name if person.unit is not None else None}
            return _changing(row, before, {"unit": request.unit, "unit_name": _name_of(target)})
        assert isinstance(target, Group)
        member = person.dn.lower() in {dn.lower() for dn in target.members}
        if request.action is BulkAction.ADD_TO_GROUP and member:
            return _refused(row, "already-member", f"already a member of {target.name}")
        if request.action is BulkAction.REMOVE_FROM_GROUP and not member:
            return _refused(row, "not-member", f"not a direct member of {target.name}")
        return _changing(row, {"member": member}, {"member": not member})

    def _apply_row(self, actor: Actor, request: BulkRequest, row: BulkRow) -> BulkRow:
        """Change one official through the single action (its delegation check, audit and consequences)."""
        login, version = row.login, row.version
        try:
            if request.action is BulkAction.DISABLE:
                self.officials.disable(actor, login, request.status, if_match=version)
            elif request.action is BulkAction.ENABLE:
                self.officials.enable(actor, login, if_match=version)
            elif request.action is BulkAction.MOVE:
                self.officials.move(actor, login, request.unit or "", if_match=version)
            elif request.action is BulkAction.ADD_TO_GROUP:
                self.groups.add_member(actor, request.group or "", login)
            else:
                self.groups.remove_member(actor, request.group or "", login)
        except PreconditionFailedError:
            return _refused(row, "changed-meanwhile", "changed by someone else meanwhile")
        except SelfDisableError as err:
            return _refused(row, "self", str(err))
        except AdminError as err:
            return _refused(row, err.code, str(err))
        except (InvalidInputError, NotFoundError) as err:
            return _refused(row, "invalid-input", str(err))
        except DirectoryError:
            return BulkRow(
                row.login, "failed", "directory-unavailable", "the directory could not do it; try again",
                row.full_name, row.before, row.after, row.version,
            )  # fmt: skip
        return BulkRow(row.login, "changed", None, "", row.full_name, row.before, row.after, row.version)


def _refused(row: BulkRow, reason: str, detail: str) -> BulkRow:
    return BulkRow(row.login, "refused", reason, detail, row.full_name, row.before, row.after, row.version)


def _changing(row: BulkRow, before: dict[str, Any], after: dict[str, Any]) -> BulkRow:
    return BulkRow(row.login, "change", None, "", row.full_name, before, after, row.version)


def _name_of(target: object) -> str | None:
    if isinstance(target, Group):
        return target.name
    return target if isinstance(target, str) else None
