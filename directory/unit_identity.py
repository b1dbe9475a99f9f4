"""Which unit a thing was given to: a unit's code can be reused, its entryUUID cannot.

A unit deleted and a new one created later with the same code (elsewhere, for other people) must not inherit what was
given to the old one: an administrator's grant, an OIDC client, a group scoped to it, its seal certificate, its
register of documents. So each keeps, beside the code, the entryUUID the unit had when it was given; the server keeps
a unit's entryUUID through a rename or a move, so those keep it. A row made before this existed holds no entryUUID:
it is bound to the unit that has the code the first time it is seen, or marked :data:`UNIT_GONE` when no unit has it
any more (what belongs to a gone unit is orphaned: it covers nothing).

The codes' entryUUIDs are read in one directory search and, given a ``request_memo``, remembered for the rest of the
request (never longer: a unit deleted and made again is seen by the next request).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping

from directory.models import Unit
from directory.protocol import UserDirectory

__all__ = ["UNIT_GONE", "UnitIdentities"]

UNIT_GONE = ""  # stored for a row whose unit was already gone when it was bound: matches no entryUUID, ever


class UnitIdentities:
    """The current entryUUID of units by code (for one request at a time, given a ``request_memo``)."""

    def __init__(
        self,
        directory: UserDirectory,
        request_memo: Callable[[], MutableMapping[str, str] | None] = lambda: None,
        *,
        always_live: str | None = None,
    ) -> None:
        self.directory = directory
        # a dict that lives as long as the current request (None outside one: the CLI reads afresh each time)
        self.request_memo = request_memo
        self.always_live = always_live  # a code that names no unit and is never gone (the admin grants' "*")

    def current(self, codes: Iterable[str]) -> dict[str, str]:
        """Each code's unit's entryUUID now (by casefolded code); :data:`UNIT_GONE` for a code no unit has."""
        wanted = {code.casefold() for code in codes if code != self.always_live}
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

    def uuid_of(self, code: str) -> str:
        """The entryUUID of the unit that has ``code`` now (:data:`UNIT_GONE` when none has)."""
        return self.current([code]).get(code.casefold(), UNIT_GONE)

    def remember(self, units: Iterable[Unit]) -> None:
        """Units just read from the directory (a target's path): their entryUUIDs need no search in this request."""
        memo = self.request_memo()
        if memo is not None:
            memo.update({u.code.casefold(): u.entry_uuid for u in units if u.entry_uuid})

    def is_live(self, unit_code: str, unit_uuid: str | None, current: dict[str, str]) -> bool:
        """Whether a row given on ``unit_code`` when it had ``unit_uuid`` still names that same unit."""
        if self.always_live is not None and unit_code == self.always_live:
            return True
        return bool(unit_uuid) and current.get(unit_code.casefold()) == unit_uuid
