"""Rows of signing's tables that name a unit (a seal certificate, a register entry, a group's workflow step) keep the
unit's entryUUID beside its code (why: :mod:`directory.unit_identity`). Rows written before they did are bound here,
once per process, to the unit that has their code when first seen ("" when none has: they cover nothing)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute

from antin.kernel.database import Database

__all__ = ["CurrentUnits", "bind_legacy_rows"]

# codes → their unit's entryUUID now, by casefolded code ("" for a code no unit has): UnitIdentities.current
CurrentUnits = Callable[[Iterable[str]], dict[str, str]]


def bind_legacy_rows(
    database: Database,
    code: InstrumentedAttribute[Any],
    unit_uuid: InstrumentedAttribute[Any],
    current: CurrentUnits,
    *where: ColumnElement[bool],
) -> int:
    """Set ``unit_uuid`` of every row (matching ``where``) that names a unit by ``code`` and holds no entryUUID yet;
    the number of codes bound."""
    unbound = (unit_uuid.is_(None), code.is_not(None), *where)
    with database.session() as s:
        codes = {c for c in s.scalars(select(code).where(*unbound).distinct()) if c}
        if not codes:
            return 0
        uuids = current(codes)
        table = code.class_
        for each in codes:
            s.execute(
                update(table).where(code == each, *unbound).values({unit_uuid.key: uuids.get(each.casefold(), "")})
            )
    return len(codes)
