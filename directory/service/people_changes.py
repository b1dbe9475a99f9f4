"""Creating, changing, moving and deleting officials, one by one or in pipelined batches (the importer)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from directory.entries import PERMANENT_LOCK, PERSON_FIELDS
from directory.errors import AlreadyExistsError, DirectoryError, NotFoundError, PermissionDeniedError
from directory.ldap_client import (
    LdapConnection,
    Modification,
    equality_terms,
    escape_dn_value,
    filter_format,
)
from directory.models import AccountStatus, NewPerson, Person, PersonChanges
from directory.names import search_keys
from directory.search_keys import mark_keys_current, stale_keys_warning, write_search_keys
from directory.service.people import PeopleMixin
from directory.validation import (
    check_optional,
    check_password,
    check_password_rules,
    check_text,
    check_uid,
    split_full_name,
)

__all__ = ["PeopleChangesMixin"]


class PeopleChangesMixin(PeopleMixin):
    """Writing officials' entries; the server's unique overlay is forestalled with precise errors."""

    def create_person(self, new: NewPerson) -> Person:
        unit_dn = self.get_unit(new.unit_code).dn if new.unit_code else None
        dn, attrs = self._person_entry(new, unit_dn)
        uid = attrs["uid"][0]
        self._refuse_duplicates(uid, attrs.get("mail", [None])[0], attrs.get("employeeNumber", [None])[0])
        try:
            self.pool.run(lambda c: c.add(dn, attrs))
        except AlreadyExistsError as err:
            raise AlreadyExistsError("official", uid) from err
        return self.get_person(uid)

    def _person_entry(self, new: NewPerson, unit_dn: str | None) -> tuple[str, dict[str, list[str]]]:
        """The checked DN and attributes of a new official (InvalidInputError names the first bad field)."""
        return self._entry_of_checked(self._checked(new), unit_dn)

    def _checked(self, new: NewPerson) -> NewPerson:
        """``new`` with every value through :mod:`directory.validation` (normalised, or the first bad field refused)."""
        uid = check_uid(new.uid)  # in the order of the fields, so that the first bad one is the one named
        full_name = check_text("full_name", new.full_name)
        surname = check_text("surname", new.surname) if new.surname else None
        given_name = check_text("given_name", new.given_name) if new.given_name else None
        display_name = check_text("display_name", new.display_name) if new.display_name else None
        optional = {
            "mail": check_optional("mail", new.mail),
            "phone": check_optional("phone", new.phone),
            "employee_number": check_optional("employee_number", new.employee_number),
            "party_card_number": check_optional("party_card_number", new.party_card_number),
            "position": check_optional("position", new.position),
        }
        password = new.password
        if password is not None:
            password = check_password(password)
            check_password_rules(password, uid=uid, min_length=self.min_password_length())
        return replace(
            new,
            uid=uid,
            full_name=full_name,
            password=password,
            status=AccountStatus(new.status),
            surname=surname,
            given_name=given_name,
            display_name=display_name,
            mail=optional["mail"],
            phone=optional["phone"],
            employee_number=optional["employee_number"],
            party_card_number=optional["party_card_number"],
            position=optional["position"],
        )

    def _entry_of_checked(self, new: NewPerson, unit_dn: str | None) -> tuple[str, dict[str, list[str]]]:
        """The DN and attributes of a new official whose values are already checked (:meth:`_checked`, or the
        same checks in an import's plan): an import runs them once, not twice."""
        surname, given_name = split_full_name(new.full_name)
        attrs: dict[str, list[str]] = {
            "objectClass": ["inetOrgPerson", "antinOfficial"],
            "uid": [new.uid],
            "cn": [new.full_name],
            "sn": [new.surname or surname],
            "givenName": [new.given_name or given_name],
            "displayName": [new.display_name or new.full_name],
            "antinStatus": [new.status.value],
            "antinSearchKey": search_keys(new.full_name, new.uid),
        }
        for field_name, attr in PERSON_FIELDS.items():
            value = getattr(new, field_name)
            if value:
                attrs[attr] = [value]
        if new.password is not None:
            attrs["userPassword"] = [new.password]
            if new.must_change_password:
                attrs["pwdReset"] = ["TRUE"]
        if new.status is not AccountStatus.ACTIVE:
            attrs["pwdAccountLockedTime"] = [PERMANENT_LOCK]
        return self.names.person_dn(new.uid, unit_dn), attrs

    def create_people(
        self,
        people: Sequence[NewPerson],
        *,
        chunk: int = 500,
        checked: bool = False,
        on_created: Callable[[int], None] | None = None,
    ) -> list[DirectoryError | None]:
        """Create officials in order, as :meth:`create_person` would one by one, with far fewer round trips.

        ``checked``: every value has already been through :mod:`directory.validation`'s checks (an import's plan
        runs the same ones), so they are not run again. ``on_created(index)`` hears each official created, as the
        server answers (an import's progress).

        The units are read with one search, the uniqueness of uid, mail and employee number is checked with
        one search per ``chunk`` officials, and the adds are pipelined (:meth:`LdapConnection.add_many`) on one
        connection without a pause between chunks: the next chunk is built and checked while slapd still
        writes the last adds of the one before. Returns each official's outcome (None: created) up to and
        including the first failure; the officials after it are not created (but those already sent, as
        their outcomes say). Unlike create_person, the created entries are not read back.
        """
        codes = {p.unit_code.lower() for p in people if p.unit_code}
        units = {u.code.lower(): u for u in self.pool.run(lambda c: self._units_by_code(c, codes))} if codes else {}
        build = self._entry_of_checked if checked else self._person_entry
        refused: list[DirectoryError] = []  # why the entries stopped before the end of ``people``
        uids: list[str] = []

        def entries(conn: LdapConnection) -> Iterator[tuple[str, dict[str, list[str]]]]:
            for start in range(0, len(people), chunk):
                built: list[tuple[str, dict[str, list[str]]]] = []
                for new in people[start : start + chunk]:
                    try:
                        unit = units.get(new.unit_code.lower()) if new.unit_code else None
                        if new.unit_code and unit is None:
                            raise NotFoundError("unit", new.unit_code)
                        built.append(build(new, unit.dn if unit else None))
                    except DirectoryError as err:
                        refused.append(err)
                        break
                taken = self._taken(built, conn)
                if taken:
                    first = min(taken)
                    refused[:] = [taken[first]]
                    built = built[:first]
                for dn, attrs in built:
                    uids.append(attrs["uid"][0])
                    yield dn, attrs
                if refused:
                    return

        def heard(index: int, outcome: DirectoryError | None) -> None:
            if outcome is None and on_created is not None:
                on_created(index)

        with self.pool.pinned(live=True) as conn:  # a dead connection would fail the first row
            added = conn.add_many(entries(conn), on_outcome=heard)
        outcomes: list[DirectoryError | None] = [
            AlreadyExistsError("official", uid)
            if isinstance(outcome, AlreadyExistsError) and outcome.what == "entry"
            else outcome
            for uid, outcome in zip(uids, added, strict=False)
        ]
        if refused and not any(added):  # the server refused none: the reason the entries stopped is next
            outcomes += refused
        return outcomes

    def new_people_entries(
        self, people: Sequence[NewPerson], *, chunk: int = 500, checked: bool = False
    ) -> list[tuple[str, dict[str, list[str]]]]:
        """The entries :meth:`create_people` would add, checked as it checks them (units, fields, uid, mail and
        employee number free): what an offline load writes. Raises the first official's error; writes nothing.
        ``checked`` as for :meth:`create_people`."""
        build = self._entry_of_checked if checked else self._person_entry
        codes = {p.unit_code.lower() for p in people if p.unit_code}
        units = {u.code.lower(): u for u in self.pool.run(lambda c: self._units_by_code(c, codes))} if codes else {}
        entries: list[tuple[str, dict[str, list[str]]]] = []
        for new in people:
            unit = units.get(new.unit_code.lower()) if new.unit_code else None
            if new.unit_code and unit is None:
                raise NotFoundError("unit", new.unit_code)
            entries.append(build(new, unit.dn if unit else None))
        for start in range(0, len(entries), chunk):
            taken = self._taken(entries[start : start + chunk])
            if taken:
                raise taken[min(taken)]
        return entries

    def _taken(
        self, entries: Sequence[tuple[str, dict[str, list[str]]]], conn: LdapConnection | None = None
    ) -> dict[int, DirectoryError]:
        """For each new entry whose uid, mail or employee number someone already has: the precise error.

        On ``conn`` when given (the connection the adds go out on), else on a pooled one."""
        wanted = [
            (attr, label) for attr, label in (("uid", "uid"), ("mail", "mail"), ("employeeNumber", "employee number"))
        ]
        terms = equality_terms((attr, attrs[attr][0]) for _, attrs in entries for attr, _ in wanted if attr in attrs)
        if not terms:
            return {}
        names = [attr for attr, _ in wanted]
        filterstr = f"(|{terms})"
        if conn is not None:
            found = conn.search(self.config.base_dn, "sub", filterstr, names)
        else:
            found = self.pool.run(lambda c: c.search(self.config.base_dn, "sub", filterstr, names))
        held = {(attr, v.lower()) for e in found for attr in names for v in e.get(attr)}
        taken: dict[int, DirectoryError] = {}
        for index, (_, attrs) in enumerate(entries):
            for attr, label in wanted:
                if attr in attrs and (attr, attrs[attr][0].lower()) in held:
                    taken[index] = AlreadyExistsError(label, attrs[attr][0])
                    break
        return taken

    def _refuse_duplicates(self, uid: str | None, mail: str | None, employee_number: str | None) -> None:
        """A precise error before the server's unique overlay gives its terse one (one search for all three)."""
        wanted = [("uid", "uid", uid), ("mail", "mail", mail), ("employeeNumber", "employee number", employee_number)]
        terms = "".join(filter_format(f"({attr}=%s)", value) for attr, _, value in wanted if value)
        if not terms:
            return
        attrs = [attr for attr, _, _ in wanted]
        found = self.pool.run(lambda c: c.search(self.config.base_dn, "sub", f"(|{terms})", attrs, size_limit=3))
        for attr, label, value in wanted:
            if value and any(value.lower() in (v.lower() for v in e.get(attr)) for e in found):
                raise AlreadyExistsError(label, value)

    def refresh_search_keys(self, *, write: bool = True) -> tuple[int, int]:
        """Write every official's search key that is missing or stale (its name changed outside Ấn Tín): the
        upgrade step for a directory from before the key existed; then the marker that says the keys are current
        (when the service account may write it). Returns (officials read, officials written). With
        ``write=False`` nothing is written: the second number is how many lack their right key.
        """
        with self.pool.pinned() as conn:
            read, written = write_search_keys(conn, self.config.base_dn, self.config.page_size, write=write)
            if write:
                with contextlib.suppress(PermissionDeniedError):  # an outside directory may refuse the marker
                    mark_keys_current(conn, self.config.base_dn)
        return read, written

    def search_keys_warning(self) -> str | None:
        """The readiness warning while the keys are not known to be current (one read of the marker)."""
        return self.pool.run(lambda c: stale_keys_warning(c, self.config.base_dn))

    def modify_person(self, uid: str, changes: PersonChanges, *, version: str | None = None) -> Person:
        """Change an official; with ``version`` (a :attr:`Person.version` read before) only if nobody changed the
        entry since, else :class:`ChangedMeanwhileError` and nothing changed (the check is the server's)."""
        person = self.get_person(uid)
        mods: list[Modification] = []
        names: dict[str, str] = {}
        if changes.full_name is not None:
            full_name = check_text("full_name", changes.full_name)
            surname, given_name = split_full_name(full_name)
            names = {"cn": full_name, "sn": surname, "givenName": given_name, "displayName": full_name}
            mods.append(Modification("replace", "antinSearchKey", search_keys(full_name, person.uid)))
        for attr, field_name in (("sn", "surname"), ("givenName", "given_name"), ("displayName", "display_name")):
            value = getattr(changes, field_name)
            if value is not None:
                names[attr] = check_text(field_name, value)
        mods += [Modification("replace", attr, [text]) for attr, text in names.items()]
        for field_name, attr in PERSON_FIELDS.items():
            value = check_optional(field_name, getattr(changes, field_name))
            if value is None:
                continue
            if value == "":
                if getattr(person, field_name) is not None:
                    mods.append(Modification("delete", attr))
            else:
                mods.append(Modification("replace", attr, [value]))
        mail = check_optional("mail", changes.mail)
        if mail and mail != (person.mail or "").lower():
            self._refuse_duplicates(None, mail, None)
        number = check_optional("employee_number", changes.employee_number)
        if number and number != person.employee_number:
            self._refuse_duplicates(None, None, number)
        if mods and version is not None:
            self._modify_at_version(person, mods, version)
        elif mods:
            self.pool.run(lambda c: c.modify(person.dn, mods))
        return self.get_person(person.uid)

    def _modify_at_version(self, person: Person, mods: list[Modification], version: str) -> None:
        """Write ``mods`` only if the entry's entryCSN is still ``version`` (RFC 4528 assertion).

        slapd's unique overlay runs its own search under the operation's controls, where the assertion cannot
        hold: the changes to unique attributes (mail, employeeNumber) follow in a second operation, right after the
        guarded one, which also changes the entry's version (so another guarded writer is refused from then on).
        """
        unique = {"mail", "employeenumber"}
        guarded = [m for m in mods if m.attr.lower() not in unique]
        rest = [m for m in mods if m.attr.lower() in unique]
        if not guarded:  # nothing else: rewrite the status as it is, only to take the version
            guarded = [Modification("replace", "antinStatus", [person.status.value])]
        assertion = filter_format("(entryCSN=%s)", version)
        self.pool.run(lambda c: c.modify(person.dn, guarded, assertion=assertion))
        if rest:
            self.pool.run(lambda c: c.modify(person.dn, rest))

    def move_person(self, uid: str, unit_code: str | None) -> Person:
        """Move an official to another unit: the DN changes, entryUUID stays, group memberships follow."""
        person = self.get_person(uid)
        target = self.get_unit(unit_code).dn if unit_code else self.names.people_dn
        rdn = f"uid={escape_dn_value(person.uid)}"
        self.pool.run(lambda c: c.rename(person.dn, rdn, target))
        return self.get_person(person.uid)

    def delete_person(self, uid: str) -> None:
        person = self.get_person(uid)
        self.pool.run(lambda c: c.delete(person.dn))
