"""Bulk import of units from CSV, by an administrator, within their reach: a dry run, then the real run.

The file has a header line and the columns ``code``, ``name`` (required), ``kind``, ``parent`` and ``description``
(what :func:`~admin.exports.units_csv` writes, so an export reads back). Each row becomes a unit row of the
directory's importer (:mod:`directory.transfer`), which plans it — a new unit, "unchanged", a unit moved under another
parent, or refused with the reason (a unit that exists under another name or kind, a parent that is neither in the
directory nor earlier in the file) — and applies the plan in file order. This module adds what delegation needs: a
row whose unit exists outside the actor's reach for ``units:write``, or whose parent is outside it (or absent: a new
top unit, the platform administrator's), is refused naming it, and never reaches the planner. One audit entry per
real run; the directory audits nothing itself.

A real run is resumable, as the officials' import is: with a refused row nothing is written (unless
``skip_refused``); it stops at the first row the directory refuses, and the same file again continues (the rows
applied are then "unchanged").
"""

from __future__ import annotations

import csv
import io

from admin.delegation import Actor, Delegation, covers
from admin.errors import NotPermittedError
from admin.imports import BadImportFileError, ImportReport, Progress, counting, report_of, settle, text_of
from admin.models import ROOT_UNIT, AdminAction
from antin.kernel.audit import AuditEvent, AuditLog
from directory.files import Rejection, Row
from directory.service import LdapDirectory
from directory.transfer import ImportPlan, apply_plan, plan_import

__all__ = ["UNIT_COLUMNS", "UnitImports", "read_unit_rows"]

UNIT_COLUMNS = ("code", "name", "kind", "parent", "description")


def read_unit_rows(text: str) -> tuple[list[Row], list[Rejection]]:
    """The unit rows of a CSV text; a row that cannot be read is rejected with its line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip().lower() for h in reader.fieldnames or []]
        missing = [c for c in ("code", "name") if c not in header]
        if missing:
            raise BadImportFileError(f"line 1: missing column(s): {', '.join(missing)}")
        unknown = [h for h in header if h not in UNIT_COLUMNS]
        if unknown:
            raise BadImportFileError(f"line 1: unknown column(s): {', '.join(unknown)}")
        reader.fieldnames = header
        rows: list[Row] = []
        rejections: list[Rejection] = []
        for record in reader:
            if None in record:
                rejections.append(Rejection(reader.line_num, record.get("code") or "?", "more fields than columns"))
                continue
            values = {k: (v or "").strip() for k, v in record.items() if k is not None}
            rows.append(Row(reader.line_num, "unit", values))
    except csv.Error as err:
        raise BadImportFileError(f"line {reader.line_num}: not a readable CSV file: {err}") from None
    return rows, rejections


class UnitImports:
    def __init__(self, directory: LdapDirectory, delegation: Delegation, audit: AuditLog) -> None:
        self.directory = directory
        self.delegation = delegation
        self.audit = audit

    def preview(self, actor: Actor, csv_bytes: bytes) -> ImportReport:
        """What the file would do, row by row; nothing is written."""
        return report_of(self._plan(actor, csv_bytes), dry_run=True, kind="unit")

    def apply(
        self, actor: Actor, csv_bytes: bytes, *, skip_refused: bool = False, progress: Progress | None = None
    ) -> ImportReport:
        """Plan again (the directory may have changed since the preview) and apply in file order."""
        plan = self._plan(actor, csv_bytes)
        report = report_of(plan, dry_run=False, kind="unit")
        if plan.rejections and not skip_refused:
            report.status = "nothing-applied"
            return report
        settle(report, apply_plan(plan, counting(plan, progress)))
        self.audit.record(
            AuditEvent.DIRECTORY_IMPORT,
            actor=actor.name,
            subject="units.csv",
            details={"source": "admin", "status": report.status, **report.counts()},
        )
        return report

    def _plan(self, actor: Actor, csv_bytes: bytes) -> ImportPlan:
        units = self.delegation.units_holding(actor, AdminAction.UNITS_WRITE)
        if not units:
            raise NotPermittedError(AdminAction.UNITS_WRITE.value)
        rows, unreadable = read_unit_rows(text_of(csv_bytes))
        if not rows and not unreadable:
            raise BadImportFileError("the file has a header but no rows")
        allowed, refused = self._within_reach(units, rows)
        return plan_import(self.directory, allowed, [*unreadable, *refused])

    def _within_reach(self, units: list[str], rows: list[Row]) -> tuple[list[Row], list[Rejection]]:
        """Rows whose unit (where it exists) and parent are both within ``units``; the others refused, naming them.

        A unit created earlier in the file counts as within reach under its parent, so a file may build a subtree."""
        if ROOT_UNIT in units:
            return rows, []
        codes = {r.values.get(k, "") for r in rows for k in ("code", "parent")} - {""}
        existing = {u.code.lower(): u for u in self.directory.units_by_code(codes)}
        paths: dict[str, list[str] | None] = {}

        def path_of(code: str) -> list[str] | None:
            key = code.lower()
            if key not in paths:
                paths[key] = self.delegation.unit_path(code) if key in existing else None
            return paths[key]

        allowed: list[Row] = []
        refused: list[Rejection] = []
        for row in rows:
            code, parent = row.values.get("code", ""), row.values.get("parent", "")
            if code.lower() in existing:
                own = path_of(code)
                if own is None or not covers(units, own):
                    refused.append(Rejection(row.line, code or "?", f"unit {code} is outside your reach"))
                    continue
                if (existing[code.lower()].parent_code or "").lower() == parent.lower():
                    allowed.append(row)  # it stays where it is: the planner says whether anything else changes
                    continue
            if not parent:
                top = "a unit at the top of the tree: only a platform administrator"
                refused.append(Rejection(row.line, code or "?", top))
                continue
            above = path_of(parent)
            if above is None or not covers(units, above):
                refused.append(Rejection(row.line, code or "?", f"unit {parent} is outside your reach"))
                continue
            allowed.append(row)
            if code and code.lower() not in existing:  # a new unit: the rows after it may hang under it
                paths[code.lower()] = [code, *above]
        return allowed, refused
