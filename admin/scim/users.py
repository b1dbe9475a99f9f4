"""SCIM Users: officials as RFC 7643 User resources with the enterprise extension, read and written through the
admin service, so a provisioning client is held to its units exactly like an administrator.

- ``id`` is the official's entryUUID (the OIDC ``sub``), ``userName`` the login (immutable: it names the entry);
- ``displayName`` and ``name`` are the full name (Vietnamese order: family name first, given name last);
- ``emails``/``phoneNumbers`` hold the one work e-mail and phone the directory keeps; ``title`` is the position;
- the enterprise ``department`` is the unit's code (setting it moves the official) and ``employeeNumber`` is kept;
- ``active`` false suspends (sessions ended, tokens and certificates revoked, as the admin API's disable);
- DELETE retires the official: the account stays in the directory (audit, signatures) but is disabled at once,
  and SCIM answers 404 for it from then on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from admin.delegation import Actor, covers
from admin.errors import NotPermittedError
from admin.models import ROOT_UNIT, AdminAction
from admin.officials import NewOfficial
from admin.scim.errors import ScimError
from admin.scim.filters import ENTERPRISE, Compare, Filter, matches, parse_filter
from admin.scim.ldap_filters import superset_filter
from admin.scim.patch import apply_patch
from admin.scim.store import ExternalIds
from admin.service import AdminService
from admin.versions import check_version, etag_of
from directory.models import AccountStatus, Person, PersonChanges
from directory.validation import check_password, check_password_rules

__all__ = ["USER", "ScimUsers", "UsersPage"]

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
KIND = "User"
MULTI_VALUED = frozenset({"emails", "phonenumbers", "groups"})


@dataclass(frozen=True)
class UsersPage:
    total: int
    resources: list[dict[str, Any]]


def _get(document: Mapping[str, Any] | None, name: str) -> Any:
    if not isinstance(document, Mapping):
        return None
    return next((v for k, v in document.items() if k.lower() == name.lower()), None)


class ScimUsers:
    def __init__(self, service: AdminService, external_ids: ExternalIds, base_url: str) -> None:
        self.service = service
        self.directory = service.officials.directory
        self.external_ids = external_ids
        self.base_url = base_url.rstrip("/")

    # -- reading --------------------------------------------------------------------------------------------

    def resource(self, person: Person, external_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [USER, ENTERPRISE],
            "id": person.entry_uuid,
            "userName": person.uid,
            "name": {
                k: v
                for k, v in (
                    ("formatted", person.full_name),
                    ("familyName", person.surname),
                    ("givenName", person.given_name),
                )
                if v
            },
            "displayName": person.display_name or person.full_name,
            "active": person.status is AccountStatus.ACTIVE,
            ENTERPRISE: {"department": person.unit.code if person.unit else None},
        }
        if external_id:
            body["externalId"] = external_id
        if person.mail:
            body["emails"] = [{"value": person.mail, "type": "work"}]
        if person.phone:
            body["phoneNumbers"] = [{"value": person.phone, "type": "work"}]
        if person.position:
            body["title"] = person.position
        if person.employee_number:
            body[ENTERPRISE]["employeeNumber"] = person.employee_number
        body[ENTERPRISE] = {k: v for k, v in body[ENTERPRISE].items() if v is not None}
        if person.groups:
            body["groups"] = [
                # nested groups resolved: direct and indirect are not told apart, so no "type"
                {"value": g, "display": g, "$ref": f"{self.base_url}/Groups/{g}"}
                for g in person.groups
            ]
        meta: dict[str, Any] = {"resourceType": KIND, "location": f"{self.base_url}/Users/{person.entry_uuid}"}
        if person.modified_at is not None:
            meta["lastModified"] = person.modified_at.isoformat().replace("+00:00", "Z")
        meta["version"] = etag_of(body)
        body["meta"] = meta
        return body

    def get(self, actor: Actor, user_id: str) -> dict[str, Any]:
        person = self._person(actor, user_id, AdminAction.OFFICIALS_READ)
        return self.resource(person, self.external_ids.get(KIND, person.entry_uuid))

    def search(self, actor: Actor, filter_text: str | None, start: int, count: int) -> UsersPage:
        """The users within reach that pass the filter, in the directory's order; ``start`` counts from 1.

        A filter is matched here, on each candidate's resource; the candidates are those slapd finds with the
        filter's LDAP superset (:mod:`admin.scim.ldap_filters`: names, logins, e-mail, telephone, title, employee
        number), or one lookup for ``userName``, ``id`` or ``externalId`` ``eq``; without a filter only the page's
        users are turned into resources.
        """
        tree = parse_filter(filter_text) if filter_text else None
        people = self._candidates(actor, tree)
        if tree is None:
            page = people[start - 1 : start - 1 + count] if count else []
            return UsersPage(len(people), self._resources(page))
        found = [r for r in self._resources(people) if matches(r, tree)]
        return UsersPage(len(found), found[start - 1 : start - 1 + count] if count else [])

    def _resources(self, people: list[Person]) -> list[dict[str, Any]]:
        ids = (
            self.external_ids.many(KIND, [p.entry_uuid for p in people])
            if len(people) < 500
            else self.external_ids.many(KIND)
        )
        return [self.resource(p, ids.get(p.entry_uuid)) for p in people]

    def _candidates(self, actor: Actor, tree: Filter | None) -> list[Person]:
        tops = self.service.delegation.reach(actor, AdminAction.OFFICIALS_READ)
        if tops == []:
            raise NotPermittedError(AdminAction.OFFICIALS_READ.value)
        direct = _direct_lookup(tree)
        if direct is not None:  # userName eq, id eq, externalId eq: the usual provisioning lookups, no scan
            people = [p for p in self._lookup(*direct) if _within(p, tops)]
        else:  # slapd narrows the candidates from its indexes; the filter is still matched exactly on each
            narrowed = superset_filter(tree) if tree is not None else None
            people = []
            for top in tops if tops is not None else [None]:
                people += list(self.directory.iter_people(unit_code=top, ldap_filter=narrowed))
        return [p for p in people if p.status is not AccountStatus.RETIRED]

    def _lookup(self, attr: str, value: str) -> list[Person]:
        if attr == "username":
            person = self.directory.find_by_uid(value)
            return [person] if person else []
        if attr == "id":
            person = self.directory.find_by_uuid(value)
            return [person] if person else []
        people = [self.directory.find_by_uuid(i) for i in self.external_ids.holders(KIND, value)]
        return [p for p in people if p is not None]

    # -- writing --------------------------------------------------------------------------------------------

    def create(self, actor: Actor, body: Any) -> dict[str, Any]:
        data = _user_body(body)
        login = _get(data, "userName")
        if not isinstance(login, str) or not login:
            raise ScimError.invalid_value("userName is required")
        unit = _department(data) or self._home_unit(actor)
        self.service.delegation.authorize_unit(actor, AdminAction.OFFICIALS_WRITE, unit)
        password = _get(data, "password")
        if password is not None and not isinstance(password, str):
            raise ScimError.invalid_value("password must be a string")
        values = _values(data)
        names = _names(data)
        full_name = names.get("formatted") or names.get("display") or names.get("parts")
        if not full_name:
            raise ScimError.invalid_value("displayName or name is required")
        active = _get(data, "active")
        result = self.service.officials.create(
            actor,
            NewOfficial(
                login=login,
                full_name=full_name,
                surname=names.get("familyName"),
                given_name=names.get("givenName"),
                display_name=names.get("display"),
                unit_code=None if unit == ROOT_UNIT else unit,
                password=password,
                status=AccountStatus.SUSPENDED if active is False else AccountStatus.ACTIVE,
                **{k: v or None for k, v in values.items()},
            ),
        )
        person = result.person
        self.external_ids.put(KIND, person.entry_uuid, _external_id(data))
        return self.resource(self.directory.get_person(person.uid), _external_id(data))

    def replace(self, actor: Actor, user_id: str, body: Any, if_match: str | None) -> dict[str, Any]:
        person = self._person(actor, user_id, AdminAction.OFFICIALS_WRITE)
        current = self.resource(person, self.external_ids.get(KIND, person.entry_uuid))
        check_version(current["meta"]["version"], if_match)
        return self._write(actor, person, current, _user_body(body), guarded=if_match is not None)

    def patch(self, actor: Actor, user_id: str, body: Any, if_match: str | None) -> dict[str, Any]:
        person = self._person(actor, user_id, AdminAction.OFFICIALS_WRITE)
        current = self.resource(person, self.external_ids.get(KIND, person.entry_uuid))
        check_version(current["meta"]["version"], if_match)
        desired = apply_patch({k: v for k, v in current.items() if k != "meta"}, body, MULTI_VALUED)
        return self._write(actor, person, current, desired, guarded=if_match is not None)

    def delete(self, actor: Actor, user_id: str, if_match: str | None) -> None:
        """Retire the official: disabled at once (sessions, tokens, certificates), kept, and gone from SCIM."""
        person = self._person(actor, user_id, AdminAction.OFFICIALS_DISABLE)
        check_version(
            self.resource(person, self.external_ids.get(KIND, person.entry_uuid))["meta"]["version"], if_match
        )
        self.service.officials.disable(actor, person.uid, AccountStatus.RETIRED)

    def _write(
        self, actor: Actor, person: Person, current: dict[str, Any], desired: dict[str, Any], *, guarded: bool
    ) -> dict[str, Any]:
        """Bring the official from ``current`` to ``desired``: every check first, then each change (audited);
        ``guarded``: the fields' change is refused by the directory if the entry changed since it was read."""
        officials = self.service.officials
        for key in ("userName", "name", "displayName", "active"):
            if _get(current, key) is not None and _get(desired, key) is None:
                raise ScimError.mutability(f"{key} is required: it can be replaced, not removed")
        if _department(current) is not None and _department(desired) is None:
            raise ScimError.mutability("department is required: move the official to another unit instead")
        login = _get(desired, "userName")
        if login is not None and str(login).lower() != person.uid.lower():
            raise ScimError.mutability("userName cannot change: it names the official's entry")
        unit = _department(desired)
        moving = unit is not None and (person.unit is None or unit.lower() != person.unit.code.lower())
        if moving:
            assert unit is not None
            self.service.delegation.authorize_unit(actor, AdminAction.OFFICIALS_WRITE, unit)
        password = _get(desired, "password")
        if password is not None:
            checked = check_password(password)
            check_password_rules(checked, uid=person.uid, min_length=self.directory.min_password_length())
        active = _get(desired, "active")
        if active is not None and not isinstance(active, bool):
            raise ScimError.invalid_value("active must be true or false")
        status_change = active is not None and active != (person.status is AccountStatus.ACTIVE)
        if status_change:
            self.service.delegation.authorize(
                actor, AdminAction.OFFICIALS_DISABLE, [u.code for u in person.unit_path], target=("user", person.uid)
            )
        values = _values(desired)
        names = _names(desired)
        wanted = {
            "full_name": names.get("formatted"),
            "surname": names.get("familyName"),
            "given_name": names.get("givenName"),
            "display_name": names.get("display"),
        }
        renamed = any(v and v != getattr(person, k) for k, v in wanted.items())
        changes = PersonChanges(
            # a new full name would reset the other names from itself: so every name given goes with it
            **{k: v for k, v in wanted.items() if v and (renamed if k != "full_name" else v != person.full_name)},
            **{k: (v if v != (getattr(person, k) or "") else None) for k, v in values.items()},
        )
        if changes != PersonChanges():
            officials.edit(actor, person.uid, changes, entry_version=person.version if guarded else None)
        if moving:
            assert unit is not None
            officials.move(actor, person.uid, unit)
        if password is not None:
            officials.reset_password(actor, person.uid, password=password, must_change=False)
        if status_change:
            if active:
                officials.enable(actor, person.uid)
            else:
                officials.disable(actor, person.uid, AccountStatus.SUSPENDED)
        external_id = _external_id(desired)
        if external_id != current.get("externalId"):
            self.external_ids.put(KIND, person.entry_uuid, external_id)
        return self.resource(self.directory.get_person(person.uid), external_id)

    # -- inside ---------------------------------------------------------------------------------------------

    def _person(self, actor: Actor, user_id: str, action: AdminAction) -> Person:
        person = self.directory.find_by_uuid(user_id)
        path = [u.code for u in person.unit_path] if person is not None else []
        self.service.delegation.authorize(actor, action, path, target=("user", user_id))
        if person is None or person.status is AccountStatus.RETIRED:
            raise ScimError.not_found("user", user_id)
        return person

    def _home_unit(self, actor: Actor) -> str:
        """Where a user without a department goes: the client's one unit."""
        tops = self.service.delegation.reach(actor, AdminAction.OFFICIALS_WRITE)
        if tops is not None and len(tops) == 1:
            return tops[0]
        raise ScimError.invalid_value(f"give the unit's code as {ENTERPRISE}:department")


def _user_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise ScimError.invalid_value("the body must be a User resource (a JSON object)")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or USER not in schemas:
        raise ScimError.invalid_value(f"schemas must include {USER}")
    return dict(body)


def _direct_lookup(tree: Filter | None) -> tuple[str, str] | None:
    if (
        isinstance(tree, Compare)
        and tree.op == "eq"
        and isinstance(tree.value, str)
        and tree.path.schema is None
        and tree.path.sub is None
        and tree.path.attr in ("username", "id", "externalid")
    ):
        return tree.path.attr, tree.value
    return None


def _within(person: Person, tops: list[str] | None) -> bool:
    return tops is None or covers(tops, [u.code for u in person.unit_path])


def _external_id(data: Mapping[str, Any]) -> str | None:
    value = _get(data, "externalId")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 256:
        raise ScimError.invalid_value("externalId must be a string of at most 256 characters")
    return value


def _department(data: Mapping[str, Any]) -> str | None:
    value = _get(_get(data, ENTERPRISE), "department")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ScimError.invalid_value("department must be a unit's code")
    return value


def _first_value(items: Any, name: str) -> str:
    """The primary (else the first) value of a multi-valued attribute; "" when there is none."""
    if items is None:
        return ""
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise ScimError.invalid_value(f"{name} must be a list of objects with a value")
    chosen = next((i for i in items if _get(i, "primary") is True), items[0] if items else None)
    value = _get(chosen, "value") if chosen is not None else None
    if value is not None and not isinstance(value, str):
        raise ScimError.invalid_value(f"{name} values must be strings")
    return value or ""


def _values(data: Mapping[str, Any]) -> dict[str, str]:
    """The directory's optional fields as the body gives them ("" where absent: PUT replaces the whole user)."""
    title = _get(data, "title")
    number = _get(_get(data, ENTERPRISE), "employeeNumber")
    for name, value in (("title", title), ("employeeNumber", number)):
        if value is not None and not isinstance(value, str):
            raise ScimError.invalid_value(f"{name} must be a string")
    return {
        "mail": _first_value(_get(data, "emails"), "emails"),
        "phone": _first_value(_get(data, "phoneNumbers"), "phoneNumbers"),
        "position": title or "",
        "employee_number": number or "",
    }


def _names(data: Mapping[str, Any]) -> dict[str, str]:
    """The names the body gives: ``formatted``, ``familyName``, ``givenName``, ``display`` (displayName) and
    ``parts`` (family, middle and given names joined, Vietnamese order); absent ones are left out."""
    name = _get(data, "name") or {}
    if not isinstance(name, Mapping):
        raise ScimError.invalid_value("name must be an object")
    found: dict[str, str] = {}
    for key in ("formatted", "familyName", "middleName", "givenName"):
        value = _get(name, key)
        if value is not None and not isinstance(value, str):
            raise ScimError.invalid_value(f"name.{key} must be a string")
        if value and value.strip():
            found[key] = value.strip()
    display = _get(data, "displayName")
    if display is not None and not isinstance(display, str):
        raise ScimError.invalid_value("displayName must be a string")
    if display and display.strip():
        found["display"] = display.strip()
    parts = " ".join(found[k] for k in ("familyName", "middleName", "givenName") if k in found)
    if parts:
        found["parts"] = parts
    return found
