"""Groups and roles: groupOfNames under ou=groups, nested groups allowed, cycles refused.

memberOf (kept by the memberof overlay on people and groups) lists direct groups only; nesting is resolved
by searching level after level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from directory.entries import GROUP_ATTRS, PERSON_ATTRS, effective_groups, group_from_entry
from directory.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from directory.ldap_client import Entry, LdapConnection, Modification, filter_format, normalize_dn
from directory.models import GROUP_UNIT_GONE, Group, Person
from directory.service.people import PeopleMixin
from directory.validation import check_group_name, check_text

__all__ = ["GroupsMixin"]


class GroupsMixin(PeopleMixin):
    """Creating groups and roles, their members (officials or groups), the officials of a group."""

    def create_group(
        self, name: str, description: str = "", *, is_role: bool = False, unit_code: str | None = None
    ) -> Group:
        name = check_group_name(name)
        attrs: dict[str, list[str]] = {
            "objectClass": ["groupOfNames", "antinGroup"],
            "cn": [name],
            "member": [self.names.placeholder],
            "antinGroupKind": ["role" if is_role else "group"],
        }
        if description:
            attrs["description"] = [check_text("description", description, max_length=1024)]
        if unit_code:
            unit = self.get_unit(unit_code)
            attrs["antinScopeUnitCode"] = [unit.code]
            if unit.entry_uuid:
                attrs["antinScopeUnitUUID"] = [unit.entry_uuid]
        dn = self.names.group_dn(name)
        try:
            self.pool.run(lambda c: c.add(dn, attrs))
        except AlreadyExistsError as err:
            raise AlreadyExistsError("group", name) from err
        return self.get_group(name)

    def get_group(self, name: str) -> Group:
        name = check_group_name(name, "group")
        entry = self.pool.run(lambda c: c.read(self.names.group_dn(name), GROUP_ATTRS))
        if not isinstance(entry, Entry):
            raise NotFoundError("group", name)
        return group_from_entry(entry, self.names)

    def list_groups(self) -> list[Group]:
        entries = self.pool.run(
            lambda c: c.search(self.names.groups_dn, "one", "(objectClass=groupOfNames)", GROUP_ATTRS)
        )
        return sorted((group_from_entry(e, self.names) for e in entries), key=lambda g: g.name)

    def bind_group_scopes(self, current: Callable[[Iterable[str]], dict[str, str]]) -> int:
        """Bind the groups scoped to a unit before groups kept its entryUUID to the unit that has their code now
        (``current``: codes → entryUUIDs by casefolded code, "" for a code no unit has: stored as
        :data:`GROUP_UNIT_GONE`); the number of groups bound."""
        unbound = [g for g in self.list_groups() if g.unit_code and g.unit_uuid is None]
        if not unbound:
            return 0
        uuids = current({g.unit_code for g in unbound if g.unit_code})
        for group in unbound:
            assert group.unit_code is not None
            value = uuids.get(group.unit_code.casefold()) or GROUP_UNIT_GONE
            self._set_scope_uuid(group.dn, value)
        return len(unbound)

    def _set_scope_uuid(self, dn: str, value: str) -> None:
        mods = [Modification("replace", "antinScopeUnitUUID", [value])]
        self.pool.run(lambda c: c.modify(dn, mods))

    def delete_group(self, name: str) -> None:
        group = self.get_group(name)
        self.pool.run(lambda c: c.delete(group.dn))
        self.forget_group_nesting()

    def add_member(self, group_name: str, *, uid: str | None = None, group: str | None = None) -> Group:
        """Add an official (``uid``) or a group (``group``, nested) to a group."""
        target = self.get_group(group_name)
        member_dn = self._member_dn(uid, group)
        if group is not None:
            self._refuse_cycle(target, member_dn)
        if any(normalize_dn(m) == normalize_dn(member_dn) for m in target.members):
            return target
        mods = [Modification("add", "member", [member_dn])]
        if not target.members:
            mods.append(Modification("delete", "member", [self.names.placeholder]))
        self.pool.run(lambda c: c.modify(target.dn, mods))
        self.forget_group_nesting()
        return self.get_group(target.name)

    def add_members(self, group_name: str, *, uids: Sequence[str] = (), groups: Sequence[str] = ()) -> Group:
        """Add officials and groups to a group with one modify (what :meth:`add_member` does one by one)."""
        target = self.get_group(group_name)
        present = {normalize_dn(m) for m in target.members}
        wanted: dict[str, str] = {}
        people = self.find_people(uids)
        for uid in uids:
            person = people.get(uid.lower())
            if person is None:
                raise NotFoundError("official", uid)
            wanted.setdefault(normalize_dn(person.dn), person.dn)
        for group in groups:
            dn = self._member_dn(None, group)
            self._refuse_cycle(target, dn)
            wanted.setdefault(normalize_dn(dn), dn)
        new = [dn for key, dn in wanted.items() if key not in present]
        if not new:
            return target
        mods = [Modification("add", "member", new)]
        if not target.members:
            mods.append(Modification("delete", "member", [self.names.placeholder]))
        self.pool.run(lambda c: c.modify(target.dn, mods))
        self.forget_group_nesting()
        return self.get_group(target.name)

    def remove_member(self, group_name: str, *, uid: str | None = None, group: str | None = None) -> Group:
        target = self.get_group(group_name)
        member_dn = self._member_dn(uid, group)
        present = [m for m in target.members if normalize_dn(m) == normalize_dn(member_dn)]
        if not present:
            raise NotFoundError("member", uid or group or "")
        mods = []
        if len(target.members) == 1:
            mods.append(Modification("add", "member", [self.names.placeholder]))
        mods.append(Modification("delete", "member", present))
        self.pool.run(lambda c: c.modify(target.dn, mods))
        self.forget_group_nesting()
        return self.get_group(target.name)

    def _member_dn(self, uid: str | None, group: str | None) -> str:
        if (uid is None) == (group is None):
            raise InvalidInputError("member", "give either an official's uid or a group's name")
        if uid is not None:
            return self.get_person(uid).dn
        assert group is not None
        return self.get_group(group).dn

    def _refuse_cycle(self, parent: Group, child_dn: str) -> None:
        if normalize_dn(parent.dn) == normalize_dn(child_dn):
            raise InvalidInputError("group", "a group cannot contain itself")

        def ancestors(conn: LdapConnection) -> set[str]:
            parents = self._group_parents(conn, {parent.dn})
            return {normalize_dn(dn) for dn in effective_groups([parent.dn], parents)}

        if normalize_dn(child_dn) in self.pool.run(ancestors):
            raise InvalidInputError("group", f"{parent.name} is already inside it: that would make a cycle")

    def group_members(self, name: str) -> list[Person]:
        """The officials of a group, nested groups resolved."""
        group = self.get_group(name)

        def search(conn: LdapConnection) -> list[Person]:
            terms = "".join(filter_format("(memberOf=%s)", dn) for dn in self._group_descendants(conn, group.dn))
            filterstr = f"(&(objectClass=inetOrgPerson)(|{terms}))"
            return self._people(conn, conn.search(self.config.base_dn, "sub", filterstr, PERSON_ATTRS))

        return self.pool.run(search)

    def _group_descendants(self, conn: LdapConnection, group_dn: str) -> list[str]:
        """The group and every group inside it, however deeply."""
        seen = {normalize_dn(group_dn): group_dn}
        frontier = [group_dn]
        while frontier:
            terms = "".join(filter_format("(memberOf=%s)", dn) for dn in frontier)
            found = conn.search(self.names.groups_dn, "one", f"(&(objectClass=groupOfNames)(|{terms}))", ["1.1"])
            frontier = [e.dn for e in found if normalize_dn(e.dn) not in seen]
            seen.update({normalize_dn(dn): dn for dn in frontier})
        return list(seen.values())
