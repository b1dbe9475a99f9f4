"""Which unit a grant or a client was given: a unit's code can be reused, its entryUUID cannot.

A unit deleted and a new one created later with the same code (elsewhere, for other people) must not inherit what
was given to the old one. So a grant or a client keeps, beside the code, the entryUUID the unit had when it was
given; the server keeps a unit's entryUUID through a rename or a move, so those keep the grant. Rows made before
this existed hold no entryUUID: they are bound to the unit that has the code the first time they are seen, or
marked :data:`UNIT_GONE` when no unit has it any more.

The authorisation check runs on every admin request, so the codes' entryUUIDs are read in one directory search and
remembered for the rest of the request (never longer: a unit deleted and made again is seen by the next request);
the units of a path just read from the directory are remembered too, so that a check whose target's path holds the
grant's unit costs no search at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import NamedTuple

from sqlalchemy import select

from admin.models import ROOT_UNIT, AdminGrant
from antin.kernel.database import Database
from directory.models import Unit
from directory.service import LdapDirectory

__all__ = ["UNIT_GONE", "BoundGrants", "GrantRow", "UnitIdentities"]

UNIT_GONE = ""  # stored for a row whose unit was already gone when it was bound: matches no entryUUID, ever


class UnitIdentities:
    """The current entryUUID of units by code, for one request at a time."""

    def __init__(
        self,
        directory: LdapDirectory,
        request_memo: Callable[[], MutableMapping[str, str] | None] = lambda: None,
    ) -> None:
        self.directory = directory
        # a dict that lives as long as the current request (None outside one: the CLI reads afresh each time)
        self.request_memo = request_memo

    def current(self, codes: Iterable[str]) -> dict[str, str]:
        """Each code's unit's entryUUID now (by casefolded code); :data:`UNIT_GONE` for a code no unit has."""
        wanted = {code.casefold() for code in codes if code != ROOT_UNIT}
        memo = self.request_memo()
        known = {code: memo[code] for code in wanted if code in memo} if memo is not None else {}
        missing = wanted - set(known)
        if missing:
            found = {u.code.casefold(): u.entry_uuid for u in self.directory.units_by_code(missing)}
            fresh = {code: found.get(code, UNIT_GONE) for code in missing}
            if memo is not None:
                memo.update(fresh)
            known.update(fresh)
        return known

    def remember(self, units: Iterable[Unit]) -> None:
        """Units just read from the directory (a target's path): their entryUUIDs need no search in this request."""
        memo = self.request_memo()
        if memo is not None:
            memo.update({u.code.casefold(): u.entry_uuid for u in units if u.entry_uuid})

    def is_live(self, unit_code: str, unit_uuid: str | None, current: dict[str, str]) -> bool:
        """Whether a row given on ``unit_code`` when it had ``unit_uuid`` still names that same unit."""
        if unit_code == ROOT_UNIT:
            return True
        return bool(unit_uuid) and current.get(unit_code.casefold()) == unit_uuid


class GrantRow(NamedTuple):
    id: int
    role: str
    unit_code: str
    unit_uuid: str | None


class BoundGrants:
    """The grants table read with its units' identities: which grants still name the unit they were given on."""

    def __init__(self, database: Database, units: UnitIdentities) -> None:
        self.database = database
        self.units = units
        self._legacy_bound = False  # grants made before units were bound by entryUUID: bound at first use

    def of(self, subject: str) -> list[GrantRow]:
        """Every grant ``subject`` holds, live or orphaned."""
        self._bind_legacy_grants()
        query = select(AdminGrant.id, AdminGrant.role, AdminGrant.unit_code, AdminGrant.unit_uuid).where(
            AdminGrant.subject == subject
        )
        with self.database.reading() as s:
            return [GrantRow(*row) for row in s.execute(query)]

    def live(self, rows: list[GrantRow]) -> list[GrantRow]:
        """Those of ``rows`` whose unit is still the one they were given on (binding those not bound yet)."""
        if not rows:
            return []
        orphaned = self.orphaned(rows)
        return [row for row in rows if row.id not in orphaned]

    def orphaned(self, rows: Iterable[GrantRow | AdminGrant]) -> set[int]:
        """The ids of those grants whose unit is gone."""
        rows = list(rows)
        current = self.units.current(r.unit_code for r in rows)
        unbound = {r.id: r.unit_code for r in rows if r.unit_uuid is None and r.unit_code != ROOT_UNIT}
        bound = self._bind(unbound, current) if unbound else {}
        return {r.id for r in rows if not self.units.is_live(r.unit_code, bound.get(r.id, r.unit_uuid), current)}

    def _bind_legacy_grants(self) -> None:
        """Once per process: bind every grant that holds no entryUUID yet to its unit (or mark it orphaned), so that
        a grant made before this version is bound before a new unit can take its code."""
        if self._legacy_bound:
            return
        query = select(AdminGrant.id, AdminGrant.unit_code).where(
            AdminGrant.unit_uuid.is_(None), AdminGrant.unit_code != ROOT_UNIT
        )
        with self.database.reading() as s:
            unbound = {grant_id: code for grant_id, code in s.execute(query)}
        if unbound:
            self._bind(unbound, self.units.current(unbound.values()))
        self._legacy_bound = True

    def _bind(self, unbound: dict[int, str], current: dict[str, str]) -> dict[int, str]:
        """Store each unbound grant's unit's entryUUID now (UNIT_GONE when no unit has its code); return them."""
        bound = {grant_id: current.get(code.casefold(), UNIT_GONE) for grant_id, code in unbound.items()}
        with self.database.session() as s:
            for row in s.scalars(select(AdminGrant).where(AdminGrant.id.in_(bound), AdminGrant.unit_uuid.is_(None))):
                row.unit_uuid = bound[row.id]
        return bound
