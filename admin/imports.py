"""Bulk import of officials from CSV, by an administrator, within their reach: a dry run, then the real run.

The directory's importer (:mod:`directory.transfer`) does the work: it reads the file, plans every row (create,
update, unchanged or rejected, with the reason) and applies the plan. This module only adds what an administrator
needs on top: each row's unit, and the unit an existing official is in now, must be within the actor's reach for
``officials:write`` (a row outside it is refused, naming the unit, and never reaches the planner); one audit entry
per real run with its counts; and officials a row suspends or retires lose their sessions, tokens and certificates
at once, as when disabled one by one.

A real run follows the directory's importer: with a refused row nothing is written (unless ``skip_refused``);
otherwise the rows are applied in file order, officials' creates in pipelined batches, and the run stops at the
first row the directory refuses. It is not all-or-nothing: the report says which rows were applied and which were
not, and running the same file again is the resumption (applied rows are then "unchanged").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from admin.delegation import Actor, Delegation, covers
from admin.errors import AdminError, NotPermittedError
from admin.models import ROOT_UNIT, AdminAction
from admin.officials import AccountEnder
from antin.kernel.audit import AuditEvent, AuditLog
from directory.errors import InvalidInputError
from directory.files import Rejection, Row
from directory.models import AccountStatus, Person
from directory.service import LdapDirectory
from directory.transfer import ImportPlan, ImportResult, Operation, apply_plan, plan_import, read_rows

__all__ = [
    "MAX_IMPORT_BYTES",
    "BadImportFileError",
    "ImportReport",
    "Imports",
    "Progress",
    "RowOutcome",
    "counting",
    "report_of",
    "settle",
    "text_of",
]

MAX_IMPORT_BYTES = 2 * 1024 * 1024  # about 15,000 rows: far more than one province adds at once
Action = Literal["create", "change", "unchanged", "refused"]
Outcome = Literal["planned", "applied", "failed", "not-applied", "refused", "unchanged"]
Progress = Callable[[int, int], None]  # (rows written, rows to write)


class BadImportFileError(AdminError):
    status = 400
    code = "bad-import-file"


class ImportTooLargeError(BadImportFileError):
    status = 413
    code = "import-too-large"


@dataclass(frozen=True)
class RowOutcome:
    line: int
    login: str
    action: Action
    fields: tuple[str, ...] = ()  # what a change changes
    reason: str = ""  # why a row is refused, or why applying it failed
    outcome: Outcome = "planned"

    def as_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "login": self.login,
            "action": self.action,
            "fields": list(self.fields),
            "reason": self.reason,
            "outcome": self.outcome,
        }


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[RowOutcome] = field(default_factory=list)
    status: str = "dry-run"  # dry-run, applied, nothing-applied (refused rows), stopped (the directory failed)
    error: str | None = None

    def count(self, action: Action) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def applied(self) -> int:
        return sum(1 for r in self.rows if r.outcome == "applied")

    def counts(self) -> dict[str, int]:
        return {
            "create": self.count("create"),
            "change": self.count("change"),
            "unchanged": self.count("unchanged"),
            "refused": self.count("refused"),
            "applied": self.applied,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "status": self.status,
            "error": self.error,
            **self.counts(),
            "rows": [r.as_json() for r in self.rows],
        }


class Imports:
    def __init__(
        self, directory: LdapDirectory, delegation: Delegation, audit: AuditLog, end_access: AccountEnder
    ) -> None:
        self.directory = directory
        self.delegation = delegation
        self.audit = audit
        self.end_access = end_access

    def preview(self, actor: Actor, csv_bytes: bytes) -> ImportReport:
        """What the file would do, row by row; nothing is written."""
        plan = self._plan(actor, csv_bytes)
        return report_of(plan, dry_run=True)

    def apply(
        self, actor: Actor, csv_bytes: bytes, *, skip_refused: bool = False, progress: Progress | None = None
    ) -> ImportReport:
        """Plan again (the directory may have changed since the preview) and apply, through the directory's importer.

        ``progress(done, total)`` is called before the first row is written and after each row is."""
        plan = self._plan(actor, csv_bytes)
        report = report_of(plan, dry_run=False)
        if plan.rejections and not skip_refused:
            report.status = "nothing-applied"
            return report
        result = apply_plan(plan, counting(plan, progress))
        settle(report, result)
        self._end_access_of_disabled(actor, plan, result.applied)
        self.audit.record(
            AuditEvent.DIRECTORY_IMPORT,
            actor=actor.name,
            subject="officials.csv",
            details={"source": "admin", "status": report.status, **report.counts()},
        )
        return report

    # -- planning within reach ------------------------------------------------------------------------------

    def _plan(self, actor: Actor, csv_bytes: bytes) -> ImportPlan:
        units = self.delegation.units_holding(actor, AdminAction.OFFICIALS_WRITE)
        if not units:
            raise NotPermittedError(AdminAction.OFFICIALS_WRITE.value)
        text = text_of(csv_bytes)
        rows, unreadable = read_rows(text, "csv")
        file_level = [r for r in unreadable if r.key in ("header", "file")]
        if file_level:
            raise BadImportFileError(f"line {file_level[0].line}: {file_level[0].reason}")
        if not rows and not unreadable:
            raise BadImportFileError("the file has a header but no rows")
        existing = self._existing_officials(units, rows)
        allowed, refused = self._within_reach(units, rows, existing or {})
        # the reach check's read is the planner's too: one search per 200 rows saved
        return plan_import(self.directory, allowed, [*unreadable, *refused], people=existing)

    def _existing_officials(self, units: list[str], rows: list[Row]) -> dict[str, Person] | None:
        """The file's officials already in the directory, for a unit administrator (whose rows must be checked
        against where each official is now); None when not read (a platform administrator reaches everyone)."""
        uids = [r.values.get("uid", "").strip() for r in rows if r.values.get("uid", "").strip()]
        if ROOT_UNIT in units:
            return None
        try:
            return self.directory.find_people(uids) if uids else {}
        except InvalidInputError:
            return None  # a malformed uid: the planner refuses that row by itself

    def _within_reach(
        self, units: list[str], rows: list[Row], existing: dict[str, Person]
    ) -> tuple[list[Row], list[Rejection]]:
        everywhere = ROOT_UNIT in units
        paths: dict[str, list[str] | None] = {}
        allowed: list[Row] = []
        refused: list[Rejection] = []
        for row in rows:
            uid = row.values.get("uid", "").strip()
            unit = row.values.get("unit", "").strip()
            if everywhere:
                allowed.append(row)
                continue
            if not unit:
                refused.append(
                    Rejection(row.line, uid or "?", "an official outside every unit: only a platform administrator")
                )
                continue
            if unit.casefold() not in paths:
                paths[unit.casefold()] = self.delegation.unit_path(unit)
            path = paths[unit.casefold()]
            if path is None or not covers(units, path):
                refused.append(Rejection(row.line, uid or "?", f"unit {unit} is outside your reach"))
                continue
            person = existing.get(uid.lower())
            if person is not None and not covers(units, [u.code for u in person.unit_path] or [ROOT_UNIT]):
                refused.append(Rejection(row.line, uid, f"official {uid} is outside your reach"))
                continue
            allowed.append(row)
        return allowed, refused

    def _end_access_of_disabled(self, actor: Actor, plan: ImportPlan, applied: list[Any]) -> None:
        """Officials a row suspended or retired: signed out, tokens and certificates revoked, as one by one."""
        statuses = [op.key for op in applied if op.kind == "person" and "status" in op.changes]
        if not statuses:
            return
        for person in self.directory.find_people(statuses).values():
            if person.status is not AccountStatus.ACTIVE:
                self.end_access(person, actor.name)


def text_of(csv_bytes: bytes) -> str:
    if len(csv_bytes) > MAX_IMPORT_BYTES:
        raise ImportTooLargeError(f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MiB: split it")
    if not csv_bytes.strip():
        raise BadImportFileError("the file is empty")
    try:
        text = csv_bytes.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadImportFileError(f"not a UTF-8 CSV file (byte {err.start})") from None
    if "\x00" in text:
        raise BadImportFileError("not a CSV file (it holds NUL bytes)")
    return text


def report_of(plan: ImportPlan, *, dry_run: bool, kind: str = "person") -> ImportReport:
    """The plan's rows (those of ``kind``: officials, or units) as a report, in file order."""
    rows = [RowOutcome(r.line, r.key, "refused", reason=r.reason, outcome="refused") for r in plan.rejections]
    for op in plan.operations:
        if op.kind != kind:
            continue
        if op.action == "unchanged":
            rows.append(RowOutcome(op.line, op.key, "unchanged", outcome="unchanged"))
        else:
            rows.append(RowOutcome(op.line, op.key, "create" if op.action == "create" else "change", op.changes))
    rows.sort(key=lambda r: r.line)
    return ImportReport(dry_run=dry_run, rows=rows)


def counting(plan: ImportPlan, progress: Progress | None) -> Callable[[Operation], None] | None:
    """The directory importer's per-row callback, as ``progress(done, total)`` over the rows that write."""
    if progress is None:
        return None
    total = sum(1 for op in plan.operations if op.action != "unchanged")
    done = 0
    progress(0, total)

    def one_more(_: Operation) -> None:
        nonlocal done
        done += 1
        progress(done, total)

    return one_more


def settle(report: ImportReport, result: ImportResult) -> None:
    """Each planned row's outcome after the real run: applied, failed (with the directory's reason) or not applied."""
    applied = {(op.line, op.key, op.action) for op in result.applied}
    failed = (result.failed.line, result.failed.key) if result.failed else None
    rows = []
    for row in report.rows:
        if row.action in ("refused", "unchanged"):
            rows.append(row)
            continue
        action = "update" if row.action == "change" else row.action
        if (row.line, row.login, action) in applied:
            rows.append(_with(row, "applied"))
        elif failed == (row.line, row.login):
            rows.append(_with(row, "failed", result.error or ""))
        else:
            rows.append(_with(row, "not-applied"))
    report.rows = rows
    report.status = "stopped" if result.failed else "applied"
    report.error = result.error


def _with(row: RowOutcome, outcome: Outcome, reason: str = "") -> RowOutcome:
    return RowOutcome(row.line, row.login, row.action, row.fields, reason or row.reason, outcome)
