"""Officials and units exported as CSV, within the administrator's reach, in the files the imports read back.

Officials come in the directory's own CSV (:func:`directory.transfer.export_csv`: the columns the officials' import
reads; never a password), units in the columns of the units' import (parents before children). Each export is
audited, since it hands out personal data in bulk. A cell that begins with ``= + - @`` is prefixed with ``'`` so
that a spreadsheet does not run it as a formula (CSV injection); the importers take such a cell as typed, so the
file is for reading, and a file meant to be imported again should not contain such names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from admin.delegation import Actor, Delegation
from admin.errors import NotPermittedError
from admin.models import ROOT_UNIT, AdminAction
from admin.unit_imports import UNIT_COLUMNS
from admin.units import Units
from antin.kernel.audit import AuditEvent, AuditLog
from directory.models import Person, Unit
from directory.service import LdapDirectory
from directory.transfer import export_csv

__all__ = ["Exports", "guard_formulas"]


def guard_formulas(line: str) -> str:
    """One CSV line with every cell that a spreadsheet would take for a formula quoted with a leading ``'``."""
    cells = next(csv.reader([line]))
    guarded = ["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in cells]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(guarded)
    return out.getvalue()


class Exports:
    def __init__(self, directory: LdapDirectory, delegation: Delegation, units: Units, audit: AuditLog) -> None:
        self.directory = directory
        self.delegation = delegation
        self.units = units
        self.audit = audit

    def officials_csv(self, actor: Actor, unit: str | None = None) -> Iterator[str]:
        """Every official within reach (or under ``unit``, which must be within it), line by line, header first."""
        if unit is not None:
            path = self.delegation.authorize_unit(actor, AdminAction.OFFICIALS_READ, unit)
            tops: list[str] | None = None if path == [ROOT_UNIT] else [unit]
        else:
            tops = self.delegation.reach(actor, AdminAction.OFFICIALS_READ)
            if tops == []:
                raise NotPermittedError(AdminAction.OFFICIALS_READ.value)
        self._audit(actor, "officials.csv", unit)
        return self._officials(tops)

    def units_csv(self, actor: Actor, unit: str | None = None) -> Iterator[str]:
        """Every unit within reach (or ``unit``'s subtree), parents first, header first."""
        units = self.units.list_units(actor, unit)  # checks the reach before anything is sent
        self._audit(actor, "units.csv", unit)
        return _unit_lines(units)

    def _officials(self, tops: list[str] | None) -> Iterator[str]:
        people: Iterable[Person]
        if tops is None:
            people = self.directory.iter_people()
        else:
            people = (p for top in tops for p in self.directory.iter_people(unit_code=top))
        for line in export_csv(people):
            yield guard_formulas(line)

    def _audit(self, actor: Actor, subject: str, unit: str | None) -> None:
        self.audit.record(
            AuditEvent.DIRECTORY_EXPORT, actor=actor.name, subject=subject, details={"unit": unit or ROOT_UNIT}
        )


def _unit_lines(units: list[Unit]) -> Iterator[str]:
    yield _row(UNIT_COLUMNS)
    for u in units:
        yield _row((u.code, u.name, u.kind.value, u.parent_code or "", u.description or ""))


def _row(values: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(["'" + v if v[:1] in ("=", "+", "-", "@") else v for v in values])
    return out.getvalue()
