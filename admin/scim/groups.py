"""SCIM Groups: the directory's groups and roles as RFC 7643 Group resources, through the admin service.

``id`` and ``displayName`` are the group's name (cn, which names its entry: it cannot change, and must be 1-64 of
a-z, 0-9, '.', '_', '-'). A group made by a client belongs to the client's unit. Members are users (by their id, the
entryUUID) and groups (``type`` Group, by name); only those within the client's units are shown or changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from admin.delegation import Actor
from admin.errors import NotPermittedError, OutOfReachError
from admin.groups import GroupView
from admin.models import AdminAction
from admin.scim.errors import ScimError
from admin.scim.filters import Compare, Filter, matches, parse_filter
from admin.scim.patch import apply_patch
from admin.scim.store import ExternalIds
from admin.scim.users import UsersPage
from admin.service import AdminService
from admin.versions import check_version, etag_of

__all__ = ["GROUP", "ScimGroups"]

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
KIND = "Group"
MULTI_VALUED = frozenset({"members"})


def _get(document: Any, name: str) -> Any:
    if not isinstance(document, Mapping):
        return None
    return next((v for k, v in document.items() if k.lower() == name.lower()), None)


class ScimGroups:
    def __init__(self, service: AdminService, external_ids: ExternalIds, base_url: str) -> None:
        self.service = service
        self.groups = service.groups
        self.directory = service.groups.directory
        self.external_ids = external_ids
        self.base_url = base_url.rstrip("/")

    def resource(self, view: GroupView, external_id: str | None) -> dict[str, Any]:
        # no member "display": a client reads back exactly the members it wrote (value, $ref, type)
        people = self.directory.find_people(view.logins) if view.logins else {}
        members = [
            {
                "value": p.entry_uuid,
                "type": "User",
                "$ref": f"{self.base_url}/Users/{p.entry_uuid}",
            }
            for p in sorted(people.values(), key=lambda p: p.uid)
        ]
        members += [{"value": g, "type": "Group", "$ref": f"{self.base_url}/Groups/{g}"} for g in view.groups]
        body: dict[str, Any] = {"schemas": [GROUP], "id": view.group.name, "displayName": view.group.name}
        if external_id:
            body["externalId"] = external_id
        if members:
            body["members"] = members
        body["meta"] = {
            "resourceType": KIND,
            "location": f"{self.base_url}/Groups/{view.group.name}",
            "version": etag_of(body),
        }
        return body

    def get(self, actor: Actor, group_id: str) -> dict[str, Any]:
        view = self._view(actor, group_id, AdminAction.GROUPS_READ)
        return self.resource(view, self.external_ids.get(KIND, view.group.name))

    def search(self, actor: Actor, filter_text: str | None, start: int, count: int) -> UsersPage:
        tree = parse_filter(filter_text) if filter_text else None
        views = self._candidates(actor, tree)
        ids = self.external_ids.many(KIND, [v.group.name for v in views])
        found = [
            r for r in (self.resource(v, ids.get(v.group.name)) for v in views) if tree is None or matches(r, tree)
        ]
        return UsersPage(len(found), found[start - 1 : start - 1 + count] if count else [])

    def _candidates(self, actor: Actor, tree: Filter | None) -> list[GroupView]:
        if isinstance(tree, Compare) and tree.op == "eq" and tree.path.attr in ("displayname", "id"):
            try:  # the usual lookup by name: one group, no listing
                return [self._view(actor, str(tree.value), AdminAction.GROUPS_READ)]
            except OutOfReachError:
                return []  # a filter that matches nothing within reach: an empty list, not a 404
        return self.groups.list_groups(actor)

    def create(self, actor: Actor, body: Any) -> dict[str, Any]:
        data = _group_body(body)
        name = _get(data, "displayName")
        if not isinstance(name, str) or not name:
            raise ScimError.invalid_value("displayName is required")
        tops = self.service.delegation.reach(actor, AdminAction.GROUPS_MANAGE)
        if tops == []:
            raise NotPermittedError(AdminAction.GROUPS_MANAGE.value)
        if tops is not None and len(tops) != 1:
            raise ScimError.invalid_value("this client holds several units: create its groups with the admin API")
        wanted = self._member_logins(actor, data)  # every member checked before the group is made
        nested = _nested(data)
        for child in nested:
            self.groups.reachable(actor, AdminAction.GROUPS_MANAGE, child)
        view = self.groups.create(actor, name, tops[0] if tops else None)
        for login in wanted:
            view = self.groups.add_member(actor, view.group.name, login)
        for child in nested:
            view = self.groups.add_group(actor, view.group.name, child)
        external_id = _external_id(data)
        self.external_ids.put(KIND, view.group.name, external_id)
        return self.resource(view, external_id)

    def replace(self, actor: Actor, group_id: str, body: Any, if_match: str | None) -> dict[str, Any]:
        view = self._view(actor, group_id, AdminAction.GROUPS_MANAGE)
        current = self.resource(view, self.external_ids.get(KIND, view.group.name))
        check_version(current["meta"]["version"], if_match)
        return self._write(actor, view, current, _group_body(body))

    def patch(self, actor: Actor, group_id: str, body: Any, if_match: str | None) -> dict[str, Any]:
        view = self._view(actor, group_id, AdminAction.GROUPS_MANAGE)
        current = self.resource(view, self.external_ids.get(KIND, view.group.name))
        check_version(current["meta"]["version"], if_match)
        desired = apply_patch({k: v for k, v in current.items() if k != "meta"}, body, MULTI_VALUED)
        return self._write(actor, view, current, desired)

    def delete(self, actor: Actor, group_id: str, if_match: str | None) -> None:
        view = self._view(actor, group_id, AdminAction.GROUPS_MANAGE)
        check_version(self.resource(view, self.external_ids.get(KIND, view.group.name))["meta"]["version"], if_match)
        self.groups.delete(actor, view.group.name)
        self.external_ids.put(KIND, view.group.name, None)

    def _write(self, actor: Actor, view: GroupView, current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
        name = _get(desired, "displayName")
        if name is not None and name != view.group.name:
            raise ScimError.mutability("displayName cannot change: it names the group's entry")
        wanted = set(self._member_logins(actor, desired))
        nested = set(_nested(desired))
        present, present_nested = set(view.logins), set(view.groups)
        for login in sorted(wanted - present):
            view = self.groups.add_member(actor, view.group.name, login)
        for child in sorted(nested - present_nested):
            view = self.groups.add_group(actor, view.group.name, child)
        for login in sorted(present - wanted):
            view = self.groups.remove_member(actor, view.group.name, login)
        for child in sorted(present_nested - nested):
            view = self.groups.remove_group(actor, view.group.name, child)
        external_id = _external_id(desired)
        if external_id != current.get("externalId"):
            self.external_ids.put(KIND, view.group.name, external_id)
        return self.resource(view, external_id)

    def _member_logins(self, actor: Actor, data: Mapping[str, Any]) -> list[str]:
        """The logins of the user members the body names; each must be a user within the client's units."""
        members = _get(data, "members") or []
        if not isinstance(members, list) or not all(isinstance(m, Mapping) for m in members):
            raise ScimError.invalid_value("members must be a list of objects with a value")
        logins = []
        for member in members:
            if _get(member, "type") == "Group":
                continue
            value = _get(member, "value")
            person = self.directory.find_by_uuid(value) if isinstance(value, str) else None
            path = [u.code for u in person.unit_path] if person is not None else []
            self.service.delegation.authorize(actor, AdminAction.GROUPS_MANAGE, path, target=("user", str(value)))
            if person is None:
                raise ScimError.not_found("user", str(value))
            logins.append(person.uid)
        return logins

    def _view(self, actor: Actor, group_id: str, action: AdminAction) -> GroupView:
        if action is AdminAction.GROUPS_READ:
            return self.groups.get(actor, group_id)
        group = self.groups.reachable(actor, action, group_id)
        return self.groups.view(actor, group)


def _nested(data: Mapping[str, Any]) -> list[str]:
    """The groups (by id, their name) the body names as members (``type`` Group)."""
    return [str(_get(m, "value")) for m in _get(data, "members") or [] if _get(m, "type") == "Group"]


def _group_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise ScimError.invalid_value("the body must be a Group resource (a JSON object)")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or GROUP not in schemas:
        raise ScimError.invalid_value(f"schemas must include {GROUP}")
    return dict(body)


def _external_id(data: Mapping[str, Any]) -> str | None:
    value = _get(data, "externalId")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 256:
        raise ScimError.invalid_value("externalId must be a string of at most 256 characters")
    return value
