"""Groups and roles as administrators see them: those of their units, their members, members added and removed.

A group scoped to a unit (``antinScopeUnitCode``) belongs to that unit's subtree; a group with no unit belongs to the
whole directory (a platform administrator's). A group is bound to its unit's entryUUID (``antinScopeUnitUUID``): when
that unit is gone (deleted, even if a new unit has its code since) the group is orphaned, the whole directory's
alone (groups of earlier versions are bound once per process, at first use).

Members are shown only when they are within the caller's reach (an
official of another province in a shared group is counted, not named), and a member is added or removed only when
both the group and the official are within reach. A group nests in another only when both are within reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from admin.delegation import Actor, Delegation, covers
from admin.errors import ConflictError, NotPermittedError, OutOfReachError, TakenError
from admin.models import ROOT_UNIT, AdminAction
from admin.versions import check_version, etag_of
from antin.kernel.audit import AuditEvent, AuditLog
from directory.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from directory.ldap_client import explode_dn
from directory.models import Group, Person
from directory.service import LdapDirectory

__all__ = ["GroupView", "Groups"]


@dataclass(frozen=True)
class GroupView:
    """A group as one caller may see it: the members within their reach, and how many others there are."""

    group: Group
    logins: tuple[str, ...]  # officials, direct members
    groups: tuple[str, ...]  # nested groups, direct members
    hidden: int  # members outside the caller's reach
    orphaned: bool = False  # its unit is gone (a unit given its code since is another)

    @property
    def etag(self) -> str:
        return etag_of(self.as_json())

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.group.name,
            "description": self.group.description,
            "role": self.group.is_role,
            "unit": self.group.unit_code,
            "orphaned": self.orphaned,
            "members": {"officials": list(self.logins), "groups": list(self.groups), "hidden": self.hidden},
        }


class Groups:
    def __init__(self, directory: LdapDirectory, delegation: Delegation, audit: AuditLog) -> None:
        self.directory = directory
        self.delegation = delegation
        self.audit = audit
        self._scopes_bound = False  # groups of earlier versions bound to their unit's entryUUID

    def list_groups(self, actor: Actor, unit: str | None = None) -> list[GroupView]:
        """The groups of ``actor``'s units (or of ``unit``'s subtree, which must be within them)."""
        units = self.delegation.units_holding(actor, AdminAction.GROUPS_READ)
        if not units:
            raise NotPermittedError(AdminAction.GROUPS_READ.value)
        if unit is not None:
            path = self.delegation.authorize_unit(actor, AdminAction.GROUPS_READ, unit)
            units = [path[0]]
        self._bind_scopes()
        groups = self.directory.list_groups()
        self.delegation.units.current(g.unit_code for g in groups if g.unit_code)  # one search, then remembered
        paths: dict[tuple[str | None, str | None], list[str]] = {}
        views = []
        for group in groups:
            key = (group.unit_code, group.unit_uuid)
            if key not in paths:
                paths[key] = self._group_path(group)
            if covers(units, paths[key]):
                views.append(self.view(actor, group))
        return views

    def get(self, actor: Actor, name: str) -> GroupView:
        return self.view(actor, self.reachable(actor, AdminAction.GROUPS_READ, name))

    def create(
        self, actor: Actor, name: str, unit_code: str | None, description: str = "", *, is_role: bool = False
    ) -> GroupView:
        """A new group (or role) scoped to ``unit_code`` (None: the whole directory, a platform administrator's)."""
        self.delegation.authorize_unit(actor, AdminAction.GROUPS_MANAGE, unit_code or ROOT_UNIT)
        try:
            group = self.directory.create_group(name, description, is_role=is_role, unit_code=unit_code)
        except AlreadyExistsError:
            raise TakenError(f"group {name!r} already exists") from None
        self.audit.record(
            AuditEvent.DIRECTORY_GROUP_CREATE, actor=actor.name, subject=group.name, details={"unit": unit_code}
        )
        return self.view(actor, group)

    def delete(self, actor: Actor, name: str, *, if_match: str | None = None) -> None:
        group = self.reachable(actor, AdminAction.GROUPS_MANAGE, name)
        view = self.view(actor, group)
        check_version(view.etag, if_match)
        if view.hidden:
            raise ConflictError(f"group {name!r} has members outside your units: it cannot be deleted by you")
        self.directory.delete_group(group.name)
        self.audit.record(
            AuditEvent.DIRECTORY_GROUP_DELETE, actor=actor.name, subject=group.name, details={"before": view.as_json()}
        )

    def add_member(self, actor: Actor, name: str, login: str, *, if_match: str | None = None) -> GroupView:
        """Add an official (within reach) to a group (within reach)."""
        group = self.reachable(actor, AdminAction.GROUPS_MANAGE, name)
        person = self._official(actor, login)
        if if_match:  # the view reads every member's unit: only when there is a version to check
            check_version(self.view(actor, group).etag, if_match)
        changed = self.directory.add_member(group.name, uid=person.uid)
        self.audit.record(
            AuditEvent.DIRECTORY_GROUP_MEMBER_ADD,
            actor=actor.name,
            subject=person.uid,
            details={"group": group.name, "before": {"member": login in _logins(group)}, "after": {"member": True}},
        )
        return self.view(actor, changed)

    def remove_member(self, actor: Actor, name: str, login: str, *, if_match: str | None = None) -> GroupView:
        group = self.reachable(actor, AdminAction.GROUPS_MANAGE, name)
        person = self._official(actor, login)
        if if_match:  # as in add_member
            check_version(self.view(actor, group).etag, if_match)
        try:
            changed = self.directory.remove_member(group.name, uid=person.uid)
        except NotFoundError:
            raise OutOfReachError("member", login) from None
        self.audit.record(
            AuditEvent.DIRECTORY_GROUP_MEMBER_REMOVE,
            actor=actor.name,
            subject=person.uid,
            details={"group": group.name, "before": {"member": True}, "after": {"member": False}},
        )
        return self.view(actor, changed)

    def add_group(self, actor: Actor, name: str, child: str, *, if_match: str | None = None) -> GroupView:
        """Nest the group ``child`` in ``name`` (both within reach); a cycle is refused (400)."""
        group = self.reachable(actor, AdminAction.GROUPS_MANAGE, name)
        inner = self.reachable(actor, AdminAction.GROUPS_MANAGE, child)
        check_version(self.view(actor, group).etag, if_match)
        changed = self.directory.add_member(group.name, group=inner.name)
        self.audit.record(
            AuditEvent.DIRECTORY_GROUP_MEMBER_ADD,
            actor=actor.name,
            subject=inner.name,
            details={"group": group.name, "member_group": inner.name},
        )
        return self.view(actor, changed)

    def remove_group(self, actor: Actor, name: str, child: str, *, if_match: str | None = None) -> GroupView:
        group = self.reachable(actor, AdminAction.GROUPS_MANAGE, name)
        inner = self.reachable(actor, AdminAction.GROUPS_MANAGE, child)
        check_version(self.view(actor, group).etag, if_match)
        try:
            changed = self.directory.remove_member(group.name, group=inner.name)
        except NotFoundError:
            raise OutOfReachError("member", child) from None
        self.audit.record(
            AuditEvent.DIRECTORY_GROUP_MEMBER_REMOVE,
            actor=actor.name,
            subject=inner.name,
            details={"group": group.name, "member_group": inner.name},
        )
        return self.view(actor, changed)

    # -- inside ---------------------------------------------------------------------------------------------

    def _official(self, actor: Actor, login: str) -> Person:
        person = self.directory.find_by_uid(login)
        path = [u.code for u in person.unit_path] if person is not None else []
        self.delegation.authorize(actor, AdminAction.GROUPS_MANAGE, path, target=("official", login))
        if person is None:
            raise OutOfReachError("official", login)
        return person

    def reachable(self, actor: Actor, action: AdminAction, name: str) -> Group:
        try:
            group: Group | None = self.directory.get_group(name)
        except (NotFoundError, InvalidInputError):
            group = None
        path = self._group_path(group) if group is not None else []
        self.delegation.authorize(actor, action, path, target=("group", name))
        if group is None:
            raise OutOfReachError("group", name)
        return group

    def _group_path(self, group: Group | None) -> list[str]:
        """The units a group belongs to, from its own up: the root's alone when it has none or its unit is gone."""
        if group is None or group.unit_code is None or self.orphaned(group):
            return [ROOT_UNIT]
        return self.delegation.unit_path(group.unit_code) or []  # a group of a deleted unit: the root's alone

    def orphaned(self, group: Group) -> bool:
        """Whether the unit ``group`` is scoped to is gone (deleted; a unit with its code since is another)."""
        if group.unit_code is None:
            return False
        self._bind_scopes()
        if group.unit_uuid is None:  # bound just now: read it again
            group = self.directory.get_group(group.name)
        units = self.delegation.units
        code = group.unit_code or ""
        return not units.is_live(code, group.unit_uuid, units.current([code]))

    def _bind_scopes(self) -> None:
        if not self._scopes_bound:
            self.directory.bind_group_scopes(self.delegation.units.current)
            self._scopes_bound = True

    def view(self, actor: Actor, group: Group) -> GroupView:
        """The group as ``actor`` may see it (members outside their reach counted, not named)."""
        reach = self.delegation.units_holding(actor, AdminAction.OFFICIALS_READ)
        group_reach = self.delegation.units_holding(actor, AdminAction.GROUPS_READ)
        logins: list[str] = []
        nested: list[str] = []
        hidden = 0
        for dn in group.members:
            name = explode_dn(dn)[0][1]
            if self.directory.names.is_group_dn(dn):
                if covers(group_reach, self._group_path(self._group_named(name))):
                    nested.append(name)
                else:
                    hidden += 1
            elif covers(reach, self.directory.names.unit_codes_above(dn)):
                logins.append(name)
            else:
                hidden += 1
        return GroupView(group, tuple(sorted(logins)), tuple(sorted(nested)), hidden, self.orphaned(group))

    def _group_named(self, name: str) -> Group | None:
        try:
            return self.directory.get_group(name)
        except NotFoundError:
            return None


def _logins(group: Group) -> set[str]:
    return {explode_dn(dn)[0][1] for dn in group.members}
