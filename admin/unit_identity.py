"""Which unit a grant or a client was given: a unit's code can be reused, its entryUUID cannot.

A unit deleted and a new one created later with the same code (elsewhere, for other people) must not inherit what
was given to the old one. So a grant or a client keeps, beside the code, the entryUUID the unit had when it was
given; the server keeps a unit's entryUUID through a rename or a move, so those keep the grant. Rows made before
this existed hold no entryUUID: they are bound to the unit that has the code the first time they are seen, or
marked :data:`UNIT_GONE` when no unit has it any more.

The authorisation check runs on every admin request, so the codes' entryUUIDs are read in one directory search and
remembered for the rest of the request (never longer: a unit deleted and made again is seen by the next request).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping

from admin.models import ROOT_UNIT
from directory.service import LdapDirectory

__all__ = ["UNIT_GONE", "UnitIdentities"]

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

    def is_live(self, unit_code: str, unit_uuid: str | None, current: dict[str, str]) -> bool:
        """Whether a row given on ``unit_code`` when it had ``unit_uuid`` still names that same unit."""
        if unit_code == ROOT_UNIT:
            return True
        return bool(unit_uuid) and current.get(unit_code.casefold()) == unit_uuid
