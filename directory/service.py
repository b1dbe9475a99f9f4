"""``LdapDirectory``: the directory of officials, units and groups over LDAP.

It implements :class:`directory.protocol.UserDirectory` (what the IdP needs) and the administration the CLI,
the importer and the admin console need. Passwords are checked by binding, so the server's password policy
(lockout, expiry, history, quality) decides, and the bind's policy control says why a login was refused.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal

from directory.config import DirectoryConfig
from directory.entries import (
    GROUP_ATTRS,
    PERMANENT_LOCK,
    PERSON_ATTRS,
    PERSON_FIELDS,
    UNIT_ATTRS,
    DirectoryNames,
    effective_groups,
    group_from_entry,
    is_locked,
    person_from_entry,
    status_of,
    unit_from_entry,
)
from directory.errors import (
    AccountLockedError,
    AlreadyExistsError,
    DirectoryError,
    InvalidCredentialsError,
    InvalidInputError,
    NotFoundError,
    PasswordExpiredError,
)
from directory.ldap_client import (
    Entry,
    LdapConnection,
    LdapPool,
    Modification,
    Scope,
    escape_dn_value,
    explode_dn,
    filter_format,
    normalize_dn,
)
from directory.models import (
    AccountStatus,
    AuthOutcome,
    AuthStatus,
    Group,
    NewPerson,
    Page,
    Person,
    PersonChanges,
    Unit,
    UnitKind,
)
from directory.policy import LockoutPolicy, PasswordPolicy
from directory.validation import (
    check_code,
    check_group_name,
    check_optional,
    check_password,
    check_password_rules,
    check_text,
    check_uid,
    check_uuid,
    split_full_name,
)

__all__ = ["LdapDirectory"]

log = logging.getLogger(__name__)

PEOPLE_FILTER = "(objectClass=inetOrgPerson)"
MAX_LOGIN = 256
LOCKOUT_POLICY_TTL = 300.0  # policies change rarely; a changed one is followed within five minutes


class LdapDirectory:
    """The real :class:`~directory.protocol.UserDirectory`; thread-safe, one per process."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self.names = DirectoryNames(config)
        self.pool = LdapPool(config)
        self._policy_numbers: tuple[int, int] | None = None
        self._lockout: tuple[float, LockoutPolicy] | None = None

    def close(self) -> None:
        self.pool.close()

    def _default_policy(self) -> tuple[int, int]:
        """(pwdMinLength, pwdLockoutDuration) of the default policy, read once; (10, 900) if unreadable."""
        if self._policy_numbers is None:
            try:
                entry = self.pool.run(
                    lambda c: c.read(self.config.default_policy_dn, ["pwdMinLength", "pwdLockoutDuration"])
                )
            except DirectoryError:
                return (10, 900)
            first = entry.first if entry is not None else (lambda _: None)
            try:
                self._policy_numbers = (int(first("pwdMinLength") or 10), int(first("pwdLockoutDuration") or 0))
            except ValueError:
                self._policy_numbers = (10, 900)
        return self._policy_numbers

    def lockout_policy(self) -> LockoutPolicy:
        """The strictest lockout of every password policy under ou=policies, read at most every five minutes.

        One answer for every login, so that the IdP's budget for a login reveals nothing about its policy.
        """
        now = time.monotonic()
        if self._lockout is not None and now - self._lockout[0] < LOCKOUT_POLICY_TTL:
            return self._lockout[1]
        wanted = ("pwdLockout", "pwdMaxFailure", "pwdFailureCountInterval", "pwdLockoutDuration")
        try:
            entries = self.pool.run(
                lambda c: c.search(self.config.policies_dn, "sub", "(objectClass=pwdPolicy)", wanted)
            )
            policies = [_lockout_of(entry) for entry in entries]
        except (DirectoryError, ValueError) as err:
            if self._lockout is not None:
                return self._lockout[1]
            log.warning("password policies unreadable (%s): assuming the platform's default lockout", err)
            return PasswordPolicy().lockout_policy()
        if not policies:
            log.warning("no password policy under %s: assuming the platform's default lockout", self.config.policies_dn)
            policy = PasswordPolicy().lockout_policy()
        else:
            policy = LockoutPolicy.strictest(policies)
        self._lockout = (now, policy)
        return policy

    def min_password_length(self) -> int:
        """pwdMinLength of the default policy (slapd does not apply it to passwords an administrator sets)."""
        return self._default_policy()[0]

    # -- health -----------------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise DirectoryUnavailableError unless the directory answers as the service account."""
        self.pool.run(lambda c: c.read(self.config.base_dn, ["1.1"]))

    # -- authentication -----------------------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> AuthOutcome:
        """Check a password by binding as the person whose uid or e-mail is ``login``."""
        refused = AuthOutcome(AuthStatus.INVALID_CREDENTIALS)
        if not _plausible_login(login) or not _plausible_password(password):
            return refused
        person = self.find_by_login(login)
        if person is None:
            return refused
        result = self.pool.run(lambda c: c.bind_with_policy(person.dn, password), kind="bind")
        disabled = person.status is not AccountStatus.ACTIVE
        if not result.ok:
            if result.policy_error == "account-locked":
                return AuthOutcome(AuthStatus.DISABLED if disabled else AuthStatus.LOCKED)
            if result.policy_error == "password-expired":
                return AuthOutcome(AuthStatus.EXPIRED)
            return refused
        if disabled:
            return AuthOutcome(AuthStatus.DISABLED)
        if result.policy_error == "change-after-reset":
            return AuthOutcome(AuthStatus.MUST_CHANGE, person=person)
        if result.grace_logins_left is not None:
            return AuthOutcome(AuthStatus.EXPIRED, person=person, grace_logins_left=result.grace_logins_left)
        return AuthOutcome(AuthStatus.SUCCESS, person=person, expires_in_seconds=result.expires_in_seconds)

    # -- finding people -------------------------------------------------------------------------------------

    def find_by_login(self, login: str) -> Person | None:
        """The person whose uid or e-mail is ``login`` (case-insensitive)."""
        if not _plausible_login(login):
            return None
        value = login.strip()
        return self._find_one(filter_format("(&(objectClass=inetOrgPerson)(|(uid=%s)(mail=%s)))", value, value))

    def find_by_uid(self, uid: str) -> Person | None:
        if not _plausible_login(uid):
            return None
        return self._find_one(filter_format("(&(objectClass=inetOrgPerson)(uid=%s))", uid.strip()))

    def find_by_mail(self, mail: str) -> Person | None:
        if not _plausible_login(mail):
            return None
        return self._find_one(filter_format("(&(objectClass=inetOrgPerson)(mail=%s))", mail.strip()))

    def find_by_employee_number(self, number: str) -> Person | None:
        if not _plausible_login(number):
            return None
        return self._find_one(filter_format("(&(objectClass=inetOrgPerson)(employeeNumber=%s))", number.strip()))

    def find_by_uuid(self, entry_uuid: str) -> Person | None:
        """The person with this entryUUID (the OIDC ``sub``); None for anything that is not a UUID."""
        canonical = check_uuid(entry_uuid)
        if canonical is None:
            return None
        return self._find_one(filter_format("(&(objectClass=inetOrgPerson)(entryUUID=%s))", canonical))

    def is_active(self, entry_uuid: str) -> bool | None:
        """Whether the person with this entryUUID may still use the platform (None: no such person).

        One search for two attributes: what a token refresh needs, without the unit path and groups.
        """
        canonical = check_uuid(entry_uuid)
        if canonical is None:
            return None
        wanted = filter_format("(&(objectClass=inetOrgPerson)(entryUUID=%s))", canonical)
        found = self.pool.run(
            lambda conn: conn.search(
                self.config.base_dn, "sub", wanted, ("antinStatus", "pwdAccountLockedTime"), size_limit=2
            )
        )
        if len(found) != 1:
            return None
        entry = found[0]
        return status_of(entry) is AccountStatus.ACTIVE and not is_locked(
            entry.first("pwdAccountLockedTime"), self._default_policy()[1]
        )

    def get_person(self, uid: str) -> Person:
        person = self.find_by_uid(uid)
        if person is None:
            raise NotFoundError("official", uid)
        return person

    def _find_one(self, filterstr: str) -> Person | None:
        def search(conn: LdapConnection) -> list[Person]:
            found = conn.search(self.config.base_dn, "sub", filterstr, PERSON_ATTRS, size_limit=2)
            return self._people(conn, found)

        try:
            people = self.pool.run(search)
        except DirectoryError as err:
            if "more than" in str(err):
                raise DirectoryError("several accounts match this login") from err
            raise
        if len(people) > 1:
            raise DirectoryError("several accounts match this login")
        return people[0] if people else None

    def _people(self, conn: LdapConnection, entries: Sequence[Entry]) -> list[Person]:
        """People with their units' paths, the units read in one search for the whole batch."""
        codes = {code.lower() for e in entries for code in self.names.unit_codes_above(e.dn)}
        units = {u.code.lower(): u for u in self._units_by_code(conn, codes)}
        direct = {dn for e in entries for dn in e.get("memberOf") if self.names.is_group_dn(dn)}
        parents = self._group_parents(conn, direct)
        lockout = self._default_policy()[1]
        return [person_from_entry(e, self.names, units, parents, lockout_seconds=lockout) for e in entries]

    def _group_parents(self, conn: LdapConnection, start: set[str]) -> dict[str, tuple[str, ...]]:
        """For ``start`` and every group above them: the groups that directly contain each (by normalised DN).

        memberOf (kept by the memberof overlay on people and groups) lists direct groups only; nesting is
        resolved here, one search per level of nesting.
        """
        parents: dict[str, tuple[str, ...]] = {}
        frontier = {normalize_dn(dn): dn for dn in start}
        while frontier:
            names = sorted({explode_dn(dn)[0][1] for dn in frontier.values()})
            found: list[Entry] = []
            for at in range(0, len(names), 200):
                terms = "".join(filter_format("(cn=%s)", n) for n in names[at : at + 200])
                found += conn.search(
                    self.names.groups_dn, "one", f"(&(objectClass=groupOfNames)(|{terms}))", ["memberOf"]
                )
            next_frontier: dict[str, str] = {}
            for entry in found:
                above = tuple(dn for dn in entry.get("memberOf") if self.names.is_group_dn(dn))
                parents[normalize_dn(entry.dn)] = above
                for dn in above:
                    key = normalize_dn(dn)
                    if key not in parents and key not in frontier:
                        next_frontier[key] = dn
            for key in frontier:
                parents.setdefault(key, ())
            frontier = next_frontier
        return parents

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

    def _units_by_code(self, conn: LdapConnection, codes: set[str]) -> list[Unit]:
        found: list[Unit] = []
        ordered = sorted(codes)
        for start in range(0, len(ordered), 200):
            chunk = ordered[start : start + 200]
            terms = "".join(filter_format("(antinUnitCode=%s)", c) for c in chunk)
            filterstr = f"(&(objectClass=antinUnit)(|{terms}))"
            found += [unit_from_entry(e) for e in conn.search(self.names.units_dn, "sub", filterstr, UNIT_ATTRS)]
        return found

    def search_people(
        self,
        text: str | None = None,
        *,
        unit_code: str | None = None,
        subtree: bool = True,
        status: AccountStatus | None = None,
        cookie: bytes | None = None,
        page_size: int | None = None,
    ) -> Page:
        """One page of officials matching ``text`` (uid, name, mail or employee number) in a unit.

        The cookie is stateless (an offset and the query), so the next page may be asked for on any
        connection, by any worker; inside, each page is read with the simple paged results control.
        """
        size = max(1, min(page_size or self.config.page_size, 5000))
        filterstr = self._people_filter(text, status)
        base = self.get_unit(unit_code).dn if unit_code else self.config.base_dn
        query = {"f": filterstr, "b": base, "s": subtree}
        offset = 0
        if cookie:
            offset = _decode_cookie(cookie, query)
        scope: Scope = "sub" if subtree else "one"

        def read_page(conn: LdapConnection) -> tuple[list[Person], bool]:
            skipped = 0
            ldap_cookie = b""
            batch: list[Entry] = []
            while True:
                want = size + 1 - len(batch) if skipped >= offset else min(offset - skipped, 5000)
                entries, ldap_cookie = conn.search_page(base, scope, filterstr, PERSON_ATTRS, want, ldap_cookie)
                if skipped < offset:
                    take = min(len(entries), offset - skipped)
                    skipped += take
                    entries = entries[take:]
                batch += entries
                if len(batch) > size or not ldap_cookie:
                    break
            if ldap_cookie:  # abandon the rest of the paged search on the server
                conn.search_page(base, scope, filterstr, ["1.1"], 0, ldap_cookie)
            more = len(batch) > size
            return self._people(conn, batch[:size]), more

        with self.pool.pinned() as conn:
            people, more = read_page(conn)
        next_cookie = _encode_cookie(offset + len(people), query) if more else None
        return Page(items=tuple(people), cookie=next_cookie)

    def iter_people(self, *, unit_code: str | None = None) -> Iterator[Person]:
        """Every official (under a unit), page after page on one connection."""
        base = self.get_unit(unit_code).dn if unit_code else self.config.base_dn
        with self.pool.pinned() as conn:
            cookie = b""
            while True:
                entries, cookie = conn.search_page(
                    base, "sub", PEOPLE_FILTER, PERSON_ATTRS, self.config.page_size, cookie
                )
                yield from self._people(conn, entries)
                if not cookie:
                    return

    def _people_filter(self, text: str | None, status: AccountStatus | None) -> str:
        parts = [PEOPLE_FILTER]
        if text is not None and text.strip():
            needle = check_text("text", text, max_length=MAX_LOGIN)
            parts.append(
                filter_format("(|(uid=*%s*)(cn=*%s*)(mail=*%s*)(employeeNumber=%s))", needle, needle, needle, needle)
            )
        if status is not None:
            if status is AccountStatus.ACTIVE:
                parts.append("(|(antinStatus=active)(!(antinStatus=*)))")
            else:
                parts.append(filter_format("(antinStatus=%s)", status.value))
        return "(&" + "".join(parts) + ")"

    # -- changing people ------------------------------------------------------------------------------------

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
        uid = check_uid(new.uid)
        full_name = check_text("full_name", new.full_name)
        surname, given_name = split_full_name(full_name)
        attrs: dict[str, list[str]] = {
            "objectClass": ["inetOrgPerson", "antinOfficial"],
            "uid": [uid],
            "cn": [full_name],
            "sn": [surname],
            "givenName": [given_name],
            "displayName": [full_name],
            "antinStatus": [AccountStatus(new.status).value],
        }
        for field_name, attr in PERSON_FIELDS.items():
            value = check_optional(field_name, getattr(new, field_name))
            if value:
                attrs[attr] = [value]
        if new.password is not None:
            password = check_password(new.password)
            check_password_rules(password, uid=uid, min_length=self.min_password_length())
            attrs["userPassword"] = [password]
            if new.must_change_password:
                attrs["pwdReset"] = ["TRUE"]
        if new.status is not AccountStatus.ACTIVE:
            attrs["pwdAccountLockedTime"] = [PERMANENT_LOCK]
        return self.names.person_dn(uid, unit_dn), attrs

    def create_people(self, people: Sequence[NewPerson], *, chunk: int = 500) -> list[DirectoryError | None]:
        """Create officials in order, as :meth:`create_person` would one by one, with far fewer round trips.

        The units are read with one search, the uniqueness of uid, mail and employee number is checked with
        one search per ``chunk`` officials, and the adds are pipelined (:meth:`LdapConnection.add_many`).
        Returns each official's outcome (None: created) up to and including the first failure; the officials
        after it are not created. Unlike create_person, the created entries are not read back.
        """
        codes = {p.unit_code.lower() for p in people if p.unit_code}
        units = {u.code.lower(): u for u in self.pool.run(lambda c: self._units_by_code(c, codes))} if codes else {}
        outcomes: list[DirectoryError | None] = []
        for start in range(0, len(people), chunk):
            entries: list[tuple[str, dict[str, list[str]]]] = []
            refused: DirectoryError | None = None
            for new in people[start : start + chunk]:
                try:
                    unit = units.get(new.unit_code.lower()) if new.unit_code else None
                    if new.unit_code and unit is None:
                        raise NotFoundError("unit", new.unit_code)
                    entries.append(self._person_entry(new, unit.dn if unit else None))
                except DirectoryError as err:
                    refused = err
                    break
            taken = self._taken(entries)
            if taken:
                first = min(taken)
                refused, entries = taken[first], entries[:first]
            added = self.pool.run(lambda c: c.add_many(entries))  # noqa: B023 (called at once)
            for (_, attrs), outcome in zip(entries, added, strict=False):
                if isinstance(outcome, AlreadyExistsError) and outcome.what == "entry":
                    outcomes.append(AlreadyExistsError("official", attrs["uid"][0]))
                else:
                    outcomes.append(outcome)
            if len(added) < len(entries) or any(added):
                return outcomes
            if refused is not None:
                outcomes.append(refused)
                return outcomes
        return outcomes

    def _taken(self, entries: Sequence[tuple[str, dict[str, list[str]]]]) -> dict[int, DirectoryError]:
        """For each new entry whose uid, mail or employee number someone already has: the precise error."""
        wanted = [
            (attr, label) for attr, label in (("uid", "uid"), ("mail", "mail"), ("employeeNumber", "employee number"))
        ]
        terms = "".join(
            filter_format(f"({attr}=%s)", attrs[attr][0]) for _, attrs in entries for attr, _ in wanted if attr in attrs
        )
        if not terms:
            return {}
        names = [attr for attr, _ in wanted]
        found = self.pool.run(lambda c: c.search(self.config.base_dn, "sub", f"(|{terms})", names))
        held = {(attr, v.lower()) for e in found for attr in names for v in e.get(attr)}
        taken: dict[int, DirectoryError] = {}
        for index, (_, attrs) in enumerate(entries):
            for attr, label in wanted:
                if attr in attrs and (attr, attrs[attr][0].lower()) in held:
                    taken[index] = AlreadyExistsError(label, attrs[attr][0])
                    break
        return taken

    def find_people(self, uids: Sequence[str], *, chunk: int = 200) -> dict[str, Person]:
        """The officials with these uids (lower-cased keys), with units and groups, in one search per chunk."""
        ordered = sorted({u.lower() for u in uids if _plausible_login(u)})
        found: dict[str, Person] = {}

        def search(conn: LdapConnection, part: list[str]) -> list[Person]:
            terms = "".join(filter_format("(uid=%s)", u) for u in part)
            entries = conn.search(self.config.base_dn, "sub", f"(&{PEOPLE_FILTER}(|{terms}))", PERSON_ATTRS)
            return self._people(conn, entries)

        for start in range(0, len(ordered), chunk):
            part = ordered[start : start + chunk]
            for person in self.pool.run(lambda c: search(c, part)):  # noqa: B023 (called at once)
                found[person.uid.lower()] = person
        return found

    def holders(
        self, attr: Literal["mail", "employeeNumber"], values: Sequence[str], *, chunk: int = 200
    ) -> dict[str, list[str]]:
        """For each value (lower-cased) someone holds in ``attr``: the uids that hold it."""
        ordered = sorted({v.lower() for v in values if _plausible_login(v)})
        held: dict[str, list[str]] = {}
        for start in range(0, len(ordered), chunk):
            terms = "".join(filter_format(f"({attr}=%s)", v) for v in ordered[start : start + chunk])
            filterstr = f"(&{PEOPLE_FILTER}(|{terms}))"
            for entry in self.pool.run(lambda c: c.search(self.config.base_dn, "sub", filterstr, ["uid", attr])):  # noqa: B023
                for value in entry.get(attr):
                    held.setdefault(value.lower(), []).extend(entry.get("uid"))
        return held

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

    def modify_person(self, uid: str, changes: PersonChanges) -> Person:
        person = self.get_person(uid)
        mods: list[Modification] = []
        if changes.full_name is not None:
            full_name = check_text("full_name", changes.full_name)
            surname, given_name = split_full_name(full_name)
            for attr, text in (("cn", full_name), ("sn", surname), ("givenName", given_name)):
                mods.append(Modification("replace", attr, [text]))
            mods.append(Modification("replace", "displayName", [full_name]))
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
        if mods:
            self.pool.run(lambda c: c.modify(person.dn, mods))
        return self.get_person(person.uid)

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

    def disable(self, uid: str, status: AccountStatus = AccountStatus.SUSPENDED) -> Person:
        """Suspend or retire: the server itself then refuses the account's binds (a permanent ppolicy lock)."""
        if status is AccountStatus.ACTIVE:
            raise InvalidInputError("status", "disable needs suspended or retired")
        person = self.get_person(uid)
        mods = [
            Modification("replace", "antinStatus", [status.value]),
            Modification("replace", "pwdAccountLockedTime", [PERMANENT_LOCK]),
        ]
        self.pool.run(lambda c: c.modify(person.dn, mods))
        return self.get_person(person.uid)

    def enable(self, uid: str) -> Person:
        person = self.get_person(uid)
        mods = [Modification("replace", "antinStatus", [AccountStatus.ACTIVE.value])]
        self.pool.run(lambda c: c.modify(person.dn, mods))
        self._clear_lock(person)
        return self.get_person(person.uid)

    def unlock(self, uid: str) -> Person:
        """Lift a lockout (too many failed logins); a disabled account stays refused until enabled."""
        person = self.get_person(uid)
        if person.status is not AccountStatus.ACTIVE:
            raise InvalidInputError("uid", f"{person.uid} is {person.status.value}: enable it instead")
        self._clear_lock(person)
        return self.get_person(person.uid)

    def _clear_lock(self, person: Person) -> None:
        def clear(conn: LdapConnection) -> None:
            entry = conn.read(person.dn, ["pwdAccountLockedTime", "pwdFailureTime"])
            mods = [
                Modification("delete", attr)
                for attr in ("pwdAccountLockedTime", "pwdFailureTime")
                if entry is not None and entry.get(attr)
            ]
            if mods:
                conn.modify(person.dn, mods, relax=True)

        self.pool.run(clear)

    # -- passwords ------------------------------------------------------------------------------------------

    def change_own_password(self, login: str, old_password: str, new_password: str) -> None:
        """RFC 3062 Password Modify as the person: bind with the old password, then change it.

        Raises InvalidCredentialsError, AccountLockedError, PasswordExpiredError (no grace login left) or
        PasswordQualityError with the policy's reason.
        """
        if not _plausible_login(login) or not _plausible_password(old_password):
            raise InvalidCredentialsError()
        new = check_password(new_password, "new_password")
        person = self.find_by_login(login)
        if person is None:
            raise InvalidCredentialsError()
        check_password_rules(new, uid=person.uid, min_length=self.min_password_length())

        def change(conn: LdapConnection) -> None:
            result = conn.bind_with_policy(person.dn, old_password)
            if not result.ok:
                if result.policy_error == "account-locked":
                    raise AccountLockedError(person.uid)
                if result.policy_error == "password-expired":
                    raise PasswordExpiredError(person.uid)
                raise InvalidCredentialsError()
            conn.change_password(person.dn, old_password, new)

        self.pool.run(change, kind="bind")

    def reset_password(self, uid: str, new_password: str | None = None, *, must_change: bool = True) -> str | None:
        """Set a password as an administrator; returns the server-generated one when none is given.

        With ``must_change`` the person must choose a new password at the next login (pwdReset).
        """
        person = self.get_person(uid)
        new = None
        if new_password is not None:
            new = check_password(new_password)
            check_password_rules(new, uid=person.uid, min_length=self.min_password_length())

        def reset(conn: LdapConnection) -> str | None:
            generated = conn.change_password(person.dn, None, new)
            entry = conn.read(person.dn, ["pwdReset"])
            is_reset = entry is not None and (entry.first("pwdReset") or "").upper() == "TRUE"
            if must_change and not is_reset:
                conn.modify(person.dn, [Modification("replace", "pwdReset", ["TRUE"])])
            elif not must_change and is_reset:
                conn.modify(person.dn, [Modification("delete", "pwdReset")])
            return generated

        result = self.pool.run(reset)
        return result if isinstance(result, str) else None

    def create_policy(self, policy: PasswordPolicy) -> None:
        """Add (or replace) a named password policy under ou=policies."""
        name = check_group_name(policy.name, "policy")
        dn = f"cn={escape_dn_value(name)},{self.config.policies_dn}"

        def write(conn: LdapConnection) -> None:
            if conn.read(dn, ["1.1"]) is None:
                conn.add(dn, policy.entry_attributes())
            else:
                attrs = policy.entry_attributes()
                conn.modify(dn, [Modification("replace", k, v) for k, v in attrs.items() if k != "cn"])

        self.pool.run(write)

    def set_policy(self, uid: str, policy_name: str | None) -> None:
        """Give an official a named password policy (None: back to the default one)."""
        person = self.get_person(uid)
        if policy_name is None:
            mods = [Modification("delete", "pwdPolicySubentry")]
        else:
            name = check_group_name(policy_name, "policy")
            dn = f"cn={escape_dn_value(name)},{self.config.policies_dn}"
            if self.pool.run(lambda c: c.read(dn, ["1.1"])) is None:
                raise NotFoundError("password policy", name)
            mods = [Modification("replace", "pwdPolicySubentry", [dn])]
        try:
            self.pool.run(lambda c: c.modify(person.dn, mods))
        except InvalidInputError:
            if policy_name is not None:
                raise  # deleting an absent subentry is fine

    # -- units ----------------------------------------------------------------------------------------------

    def create_unit(
        self,
        code: str,
        name: str,
        kind: UnitKind | str,
        parent_code: str | None = None,
        description: str = "",
    ) -> Unit:
        code = check_code(code)
        name = check_text("name", name)
        try:
            kind = UnitKind(kind)
        except ValueError as err:
            raise InvalidInputError("kind", f"must be one of {', '.join(k.value for k in UnitKind)}") from err
        parent_dn = self.get_unit(parent_code).dn if parent_code else None
        if self._find_unit(code) is not None:
            raise AlreadyExistsError("unit", code)
        attrs = {
            "objectClass": ["antinUnit"],
            "antinUnitCode": [code],
            "ou": [name],
            "antinUnitKind": [kind.value],
        }
        if description:
            attrs["description"] = [check_text("description", description, max_length=1024)]
        dn = self.names.unit_dn(code, parent_dn)
        try:
            self.pool.run(lambda c: c.add(dn, attrs))
        except AlreadyExistsError as err:
            raise AlreadyExistsError("unit", code) from err
        return self.get_unit(code)

    def _find_unit(self, code: str) -> Unit | None:
        filterstr = filter_format("(&(objectClass=antinUnit)(antinUnitCode=%s))", code)
        found = self.pool.run(lambda c: c.search(self.names.units_dn, "sub", filterstr, UNIT_ATTRS))
        return unit_from_entry(found[0]) if found else None

    def get_unit(self, code: str | None) -> Unit:
        if code is None:
            raise InvalidInputError("unit", "must not be empty")
        code = check_code(code, "unit")
        unit = self._find_unit(code)
        if unit is None:
            raise NotFoundError("unit", code)
        return unit

    def list_units(self, parent_code: str | None = None) -> list[Unit]:
        """Every unit (under ``parent_code``), parents before children."""
        base = self.get_unit(parent_code).dn if parent_code else self.names.units_dn
        units: list[Unit] = []
        with self.pool.pinned() as conn:
            cookie = b""
            while True:
                entries, cookie = conn.search_page(
                    base, "sub", "(objectClass=antinUnit)", UNIT_ATTRS, self.config.page_size, cookie
                )
                units += [unit_from_entry(e) for e in entries if normalize_dn(e.dn) != normalize_dn(base)]
                if not cookie:
                    break
        return sorted(units, key=lambda u: _dn_sort_key(u.dn))

    def units_by_code(self, codes: Iterable[str]) -> list[Unit]:
        """The units with these codes that exist, in one search per 200 codes (not every unit, as list_units)."""
        wanted = {c.lower() for c in codes if _plausible_login(c)}
        return self.pool.run(lambda c: self._units_by_code(c, wanted)) if wanted else []

    def unit_path(self, code: str) -> list[Unit]:
        """The unit and its parents up to the root."""
        unit = self.get_unit(code)
        codes = {c.lower() for c in [unit.code, *self.names.unit_codes_above(unit.dn)]}
        found = {u.code.lower(): u for u in self.pool.run(lambda c: self._units_by_code(c, codes))}
        return [found[c.lower()] for c in [unit.code, *self.names.unit_codes_above(unit.dn)] if c.lower() in found]

    def move_unit(self, code: str, new_parent_code: str | None) -> Unit:
        """Move a unit with everything under it (officials keep their entryUUID, groups follow)."""
        unit = self.get_unit(code)
        target = self.get_unit(new_parent_code).dn if new_parent_code else self.names.units_dn
        if normalize_dn(target) == normalize_dn(unit.dn) or normalize_dn(target).endswith("," + normalize_dn(unit.dn)):
            raise InvalidInputError("parent", "a unit cannot move under itself")
        rdn = f"antinUnitCode={escape_dn_value(unit.code)}"
        self.pool.run(lambda c: c.rename(unit.dn, rdn, target))
        return self.get_unit(unit.code)

    def delete_unit(self, code: str) -> None:
        """Delete a unit that holds no sub-unit and no official."""
        unit = self.get_unit(code)
        children = self.pool.run(lambda c: c.search(unit.dn, "one", "(objectClass=*)", ["1.1"], size_limit=0))
        if children:
            raise InvalidInputError("unit", f"{unit.code} is not empty ({len(children)} entries under it)")
        self.pool.run(lambda c: c.delete(unit.dn))

    # -- groups and roles -------------------------------------------------------------------------------------

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
            attrs["antinScopeUnitCode"] = [self.get_unit(unit_code).code]
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

    def delete_group(self, name: str) -> None:
        group = self.get_group(name)
        self.pool.run(lambda c: c.delete(group.dn))

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


# -- helpers ---------------------------------------------------------------------------------------------------


def _plausible_login(login: object) -> bool:
    return (
        isinstance(login, str)
        and 0 < len(login.strip()) <= MAX_LOGIN
        and not any(ord(ch) < 32 or ord(ch) == 127 for ch in login)
    )


def _plausible_password(password: object) -> bool:
    # An empty password would be an unauthenticated bind, which LDAP servers report as a success.
    return isinstance(password, str) and 0 < len(password) <= 256 and "\x00" not in password


def _dn_sort_key(dn: str) -> tuple[str, ...]:
    from directory.ldap_client import explode_dn

    return tuple(reversed([v.lower() for _, v in explode_dn(dn)]))


def _encode_cookie(offset: int, query: dict[str, object]) -> bytes:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": query}, ensure_ascii=False).encode())


def _decode_cookie(cookie: bytes, query: dict[str, object]) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cookie))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError) as err:
        raise InvalidInputError("cookie", "not a cookie of this search") from err
    if data.get("q") != query or offset < 0:
        raise InvalidInputError("cookie", "not a cookie of this search")
    return offset


def _lockout_of(entry: Entry) -> LockoutPolicy:
    """The lockout of one pwdPolicy entry; absent attributes take the draft's defaults (no lockout)."""
    if (entry.first("pwdLockout") or "FALSE").upper() != "TRUE":
        return LockoutPolicy(max_failures=0, failure_count_interval=0, lockout_seconds=0)
    return LockoutPolicy(
        max_failures=int(entry.first("pwdMaxFailure") or 0),
        failure_count_interval=int(entry.first("pwdFailureCountInterval") or 0),
        lockout_seconds=int(entry.first("pwdLockoutDuration") or 0),
    )
