"""Finding officials: by login, uid, e-mail, employee number or entryUUID; searching and listing them.

The paged search's cookie is stateless (an offset and the query, base64 JSON), so any worker can serve the
next page.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Literal

from directory.entries import PERSON_ATTRS, is_locked, status_of
from directory.errors import DirectoryError, InvalidInputError, NotFoundError
from directory.ldap_client import Entry, LdapConnection, Scope, filter_format
from directory.models import AccountStatus, Page, Person, PersonBrief
from directory.names import ascii_fold
from directory.service.base import MAX_LOGIN, PEOPLE_FILTER, plausible_login
from directory.service.units import UnitsMixin
from directory.validation import check_text, check_uuid

__all__ = ["PeopleMixin", "search_key_filter"]


class PeopleMixin(UnitsMixin):
    """Reading officials (with their units' paths and their groups, nested groups resolved)."""

    def find_by_login(self, login: str, *, with_units: bool = True) -> Person | None:
        """The person whose uid or e-mail is ``login`` (case-insensitive); without ``with_units``, its unit and
        unit path are left empty and not searched for (what a sign-in reads: the entry, its status, its groups)."""
        if not plausible_login(login):
            return None
        value = login.strip()
        wanted = filter_format("(&(objectClass=inetOrgPerson)(|(uid=%s)(mail=%s)))", value, value)
        return self._find_one(wanted, with_units=with_units)

    def find_by_uid(self, uid: str) -> Person | None:
        if not plausible_login(uid):
            return None
        return self._find_one(filter_format("(&(objectClass=inetOrgPerson)(uid=%s))", uid.strip()))

    def find_by_mail(self, mail: str) -> Person | None:
        if not plausible_login(mail):
            return None
        return self._find_one(filter_format("(&(objectClass=inetOrgPerson)(mail=%s))", mail.strip()))

    def find_by_employee_number(self, number: str) -> Person | None:
        if not plausible_login(number):
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

    def has_people(self) -> bool:
        """Whether the directory holds any official at all (one search, at most one entry read)."""
        try:
            found = self.pool.run(lambda c: c.search(self.config.base_dn, "sub", PEOPLE_FILTER, ["1.1"], size_limit=1))
        except DirectoryError as err:
            if "more than" in str(err):
                return True
            raise
        return bool(found)

    def get_person(self, uid: str) -> Person:
        person = self.find_by_uid(uid)
        if person is None:
            raise NotFoundError("official", uid)
        return person

    def _find_one(self, filterstr: str, *, with_units: bool = True) -> Person | None:
        def search(conn: LdapConnection) -> list[Person]:
            found = conn.search(self.config.base_dn, "sub", filterstr, PERSON_ATTRS, size_limit=2)
            return self._people(conn, found, with_units=with_units)

        try:
            people = self.pool.run(search)
        except DirectoryError as err:
            if "more than" in str(err):
                raise DirectoryError("several accounts match this login") from err
            raise
        if len(people) > 1:
            raise DirectoryError("several accounts match this login")
        return people[0] if people else None

    def find_people(self, uids: Sequence[str], *, chunk: int = 200) -> dict[str, Person]:
        """The officials with these uids (lower-cased keys), with units and groups, in one search per chunk."""
        ordered = sorted({u.lower() for u in uids if plausible_login(u)})
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
        ordered = sorted({v.lower() for v in values if plausible_login(v)})
        held: dict[str, list[str]] = {}
        for start in range(0, len(ordered), chunk):
            terms = "".join(filter_format(f"({attr}=%s)", v) for v in ordered[start : start + chunk])
            filterstr = f"(&{PEOPLE_FILTER}(|{terms}))"
            for entry in self.pool.run(lambda c: c.search(self.config.base_dn, "sub", filterstr, ["uid", attr])):  # noqa: B023
                for value in entry.get(attr):
                    held.setdefault(value.lower(), []).extend(entry.get("uid"))
        return held

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

    def iter_people(self, *, unit_code: str | None = None, ldap_filter: str | None = None) -> Iterator[Person]:
        """Every official (under a unit; passing ``ldap_filter`` too, a search filter built with
        :func:`~directory.ldap_client.filter_format`), page after page on one connection."""
        base = self.get_unit(unit_code).dn if unit_code else self.config.base_dn
        filterstr = f"(&{PEOPLE_FILTER}{ldap_filter})" if ldap_filter else PEOPLE_FILTER
        with self.pool.pinned() as conn:
            cookie = b""
            while True:
                entries, cookie = conn.search_page(base, "sub", filterstr, PERSON_ATTRS, self.config.page_size, cookie)
                yield from self._people(conn, entries)
                if not cookie:
                    return

    def iter_people_brief(
        self, *, unit_code: str | None = None, folded: str = "", page_size: int | None = None
    ) -> Iterator[PersonBrief]:
        """Officials (under a unit) by login, name, e-mail and employee number only: no unit path, no groups.

        With ``folded`` (lower case, no diacritics: see :func:`directory.names.ascii_fold`) only those the text
        search finds, through indexes alone (:func:`search_key_filter`): whose folded name or login contains it
        (starts or ends with it, under four bytes), or whose e-mail or employee number it is. ``page_size``: the
        entries asked of the server at a time (default ``[directory] page_size``): a caller that wants the first
        few spares slapd finding hundreds.
        """
        base = self.get_unit(unit_code).dn if unit_code else self.config.base_dn
        attrs = ("uid", "cn", "mail", "employeeNumber")
        per_page = max(1, min(page_size or self.config.page_size, self.config.page_size))
        filterstr = f"(&{PEOPLE_FILTER}{search_key_filter(folded)})" if folded.strip() else PEOPLE_FILTER
        with self.pool.pinned() as conn:
            cookie = b""
            try:
                while True:
                    entries, cookie = conn.search_page(base, "sub", filterstr, attrs, per_page, cookie)
                    for e in entries:
                        uid = e.first("uid")
                        if uid:
                            yield PersonBrief(uid, e.first("cn") or "", e.first("mail"), e.first("employeeNumber"))
                    if not cookie:
                        return
            finally:
                if cookie:  # the caller stopped early: abandon the rest of the paged search on the server
                    with contextlib.suppress(DirectoryError):
                        conn.search_page(base, "sub", filterstr, ["1.1"], 0, cookie)

    def _people_filter(self, text: str | None, status: AccountStatus | None) -> str:
        parts = [PEOPLE_FILTER]
        if text is not None and text.strip():
            parts.append(search_key_filter(check_text("text", text, max_length=MAX_LOGIN)))
        if status is not None:
            if status is AccountStatus.ACTIVE:
                parts.append("(|(antinStatus=active)(!(antinStatus=*)))")
            else:
                parts.append(filter_format("(antinStatus=%s)", status.value))
        return "(&" + "".join(parts) + ")"


# slapd's substring index keys: runs of 4 bytes inside a value (index_substr_any_len), and its first and last 2 to 4
# bytes (index_substr_if_minlen, _maxlen). A shorter run inside asks for no key: slapd would test every official
# in the scope (at a million officials, seconds: past the directory's timeout).
_INDEXED_ANY = 4
_INDEXED_ENDS = 2


def search_key_filter(text: str) -> str:
    """The text search's filter, every branch served by an index (docs/directory.md, "Indexes").

    An official matches whose search key (full name or login, folded: :func:`directory.names.search_keys`)
    contains the folded text — starts or ends with it when it is under four bytes, too short for the index to
    find it inside a word; is it, when it is one character —, or whose e-mail or employee number is the text
    (case ignored). The text is escaped.
    """
    exact = " ".join(text.split())
    needle = " ".join(ascii_fold(exact).casefold().split())
    size = len(needle.encode())
    if size >= _INDEXED_ANY:
        key = filter_format("(antinSearchKey=*%s*)", needle)
    elif size >= _INDEXED_ENDS:
        key = filter_format("(antinSearchKey=%s*)(antinSearchKey=*%s)", needle, needle)
    else:  # one character: a login of one letter, by its equality index
        key = filter_format("(uid=%s)", needle)
    return "(|" + key + filter_format("(mail=%s)(employeeNumber=%s)", exact, exact) + ")"


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
