"""What every part of :class:`~directory.service.LdapDirectory` stands on: the pool, the default policy, people read.

Reading a person needs the units above the entry (its path) and the groups above its groups (nesting), so
turning search results into :class:`~directory.models.Person` values lives here, shared by every part.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from directory.config import DirectoryConfig
from directory.entries import UNIT_ATTRS, DirectoryNames, person_from_entry, unit_from_entry
from directory.errors import DirectoryError
from directory.ldap_client import Entry, LdapConnection, LdapPool, explode_dn, filter_format, normalize_dn
from directory.models import Person, Unit
from directory.policy import LockoutPolicy

__all__ = ["MAX_LOGIN", "PEOPLE_FILTER", "DirectoryBase", "plausible_login", "plausible_password"]

PEOPLE_FILTER = "(objectClass=inetOrgPerson)"
MAX_LOGIN = 256
# how long a group's own groups (its nesting, not who is in it) are reused: every sign-in reads the official's
# entry afresh, but the groups above its groups change rarely, and reading them took a search per level of nesting
# on every sign-in. A change made through this process is seen at once; one made elsewhere within this time.
GROUP_NESTING_TTL = 60.0


class DirectoryBase:
    """The state of an LdapDirectory and the reads its parts share; thread-safe, one per process."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self.names = DirectoryNames(config)
        self.pool = LdapPool(config)
        self._policy_numbers: tuple[int, int] | None = None
        self._lockout: tuple[float, LockoutPolicy] | None = None
        # normalised group DN -> (when read, the groups directly containing it); replaced whole, never edited
        self._nesting: dict[str, tuple[float, tuple[str, ...]]] = {}

    def forget_group_nesting(self) -> None:
        """Read the groups' nesting afresh from now on (a group was changed through this process)."""
        self._nesting = {}

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

    def min_password_length(self) -> int:
        """pwdMinLength of the default policy (slapd does not apply it to passwords an administrator sets)."""
        return self._default_policy()[0]

    # -- health -----------------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise DirectoryUnavailableError unless the directory answers as the service account."""
        self.pool.run(lambda c: c.read(self.config.base_dn, ["1.1"]))

    # -- reading people with their units and groups --------------------------------------------------------

    def _people(self, conn: LdapConnection, entries: Sequence[Entry], *, with_units: bool = True) -> list[Person]:
        """People with their units' paths, the units read in one search for the whole batch (none read, and the
        paths left empty, without ``with_units``)."""
        units: dict[str, Unit] = {}
        if with_units:
            codes = {code.lower() for e in entries for code in self.names.unit_codes_above(e.dn)}
            units = {u.code.lower(): u for u in self._units_by_code(conn, codes)}
        direct = {dn for e in entries for dn in e.get("memberOf") if self.names.is_group_dn(dn)}
        parents = self._group_parents(conn, direct, reuse=True)
        lockout = self._default_policy()[1]
        return [person_from_entry(e, self.names, units, parents, lockout_seconds=lockout) for e in entries]

    def _group_parents(
        self, conn: LdapConnection, start: set[str], *, reuse: bool = False
    ) -> dict[str, tuple[str, ...]]:
        """For ``start`` and every group above them: the groups that directly contain each (by normalised DN).

        memberOf (kept by the memberof overlay on people and groups) lists direct groups only; nesting is
        resolved here, one search per level of nesting. With ``reuse``, what was read less than
        :data:`GROUP_NESTING_TTL` ago is not read again (reading people; a cycle check reads afresh).
        """
        parents: dict[str, tuple[str, ...]] = {}
        frontier = {normalize_dn(dn): dn for dn in start}
        known, now = self._nesting, time.monotonic()
        if reuse:
            frontier = self._known_nesting(frontier, known, now, parents)
        read: dict[str, tuple[str, ...]] = {}
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
                parents[normalize_dn(entry.dn)] = read[normalize_dn(entry.dn)] = above
                for dn in above:
                    key = normalize_dn(dn)
                    if key not in parents and key not in frontier:
                        next_frontier[key] = dn
            for key in frontier:
                parents.setdefault(key, ())
                read.setdefault(key, ())
            frontier = next_frontier
        if reuse and read and self._nesting is known:  # not if forgotten meanwhile (it may be what changed)
            self._nesting = {**known, **{key: (now, above) for key, above in read.items()}}
        return parents

    @staticmethod
    def _known_nesting(
        frontier: dict[str, str],
        known: dict[str, tuple[float, tuple[str, ...]]],
        now: float,
        parents: dict[str, tuple[str, ...]],
    ) -> dict[str, str]:
        """Fill ``parents`` from what ``known`` holds fresh, level by level from ``frontier``; return the groups
        whose parents must be read."""
        unknown: dict[str, str] = {}
        while frontier:
            ahead: dict[str, str] = {}
            for key, dn in frontier.items():
                cached = known.get(key)
                if cached is None or now - cached[0] >= GROUP_NESTING_TTL:
                    unknown[key] = dn
                    continue
                parents[key] = cached[1]
                ahead.update({normalize_dn(above): above for above in cached[1]})
            frontier = {key: dn for key, dn in ahead.items() if key not in parents and key not in unknown}
        return unknown

    def _units_by_code(self, conn: LdapConnection, codes: set[str]) -> list[Unit]:
        found: list[Unit] = []
        ordered = sorted(codes)
        for start in range(0, len(ordered), 200):
            chunk = ordered[start : start + 200]
            terms = "".join(filter_format("(antinUnitCode=%s)", c) for c in chunk)
            filterstr = f"(&(objectClass=antinUnit)(|{terms}))"
            found += [unit_from_entry(e) for e in conn.search(self.names.units_dn, "sub", filterstr, UNIT_ATTRS)]
        return found


# ASCII control characters: one regex search instead of a Python test per character (every login, every row
# of an import: a sixth of planning's CPU).
_ASCII_CONTROL = re.compile("[\x00-\x1f\x7f]")


def plausible_login(login: object) -> bool:
    return isinstance(login, str) and 0 < len(login.strip()) <= MAX_LOGIN and not _ASCII_CONTROL.search(login)


def plausible_password(password: object) -> bool:
    # An empty password would be an unauthenticated bind, which LDAP servers report as a success.
    return isinstance(password, str) and 0 < len(password) <= 256 and "\x00" not in password
