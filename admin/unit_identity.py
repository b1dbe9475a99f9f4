"""Which unit a grant or a client was given (the reasons and the rules: :mod:`directory.unit_identity`, whose
:class:`UnitIdentities` this is, with the grants' root ``*``). Grants made before units were bound hold no
entryUUID: they are all bound the first time the process checks one, or marked :data:`UNIT_GONE`.

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
from directory.service import LdapDirectory
from directory.unit_identity import UNIT_GONE
from directory.unit_identity import UnitIdentities as DirectoryUnitIdentities

__all__ = ["UNIT_GONE", "BoundGrants", "GrantRow", "UnitIdentities"]


class UnitIdentities(DirectoryUnitIdentities):
    """:class:`directory.unit_identity.UnitIdentities` for the admin service: the root of grants (``*``) is no unit
    and never gone."""

    def __init__(
        self,
        directory: LdapDirectory,
        request_memo: Callable[[], MutableMapping[str, str] | None] = lambda: None,
    ) -> None:
        super().__init__(directory, request_memo, always_live=ROOT_UNIT)


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
