"""The audit log as administrators search it: by actor, subject, event and time, page by page, exported whole
(CSV, JSON lines), and the chain's verification.

An auditor of the whole directory (``audit:read`` on ``*``) searches freely. One who holds ``audit:read`` only on
units must name an official of those units as the actor or the subject: entries carry no unit, so the official is
what places an entry in a subtree. An official is named in the log by login (sign-in attempts) or by sub (the
rest), and a search by either finds both.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select

from admin.delegation import Actor, Delegation
from admin.errors import AdminError, NotPermittedError, OutOfReachError
from admin.models import ROOT_UNIT, AdminAction
from antin.kernel.audit import AuditLog, VerifyResult
from antin.kernel.audit.chain import as_utc
from antin.kernel.audit.models import AuditEntry
from antin.kernel.database import Database
from directory.service import LdapDirectory

__all__ = ["EXPORT_LIMIT", "AuditEntryView", "AuditPage", "AuditQuery", "AuditSearch", "OfficialRequiredError"]

EXPORT_LIMIT = 100_000  # entries in one export; a longer span is exported in several time ranges
_CSV_FIELDS = ("seq", "occurred_at", "event", "actor", "subject", "client_id", "ip", "details")


class OfficialRequiredError(AdminError):
    status = 400
    code = "official-required"

    def __init__(self) -> None:
        super().__init__("name an official of your units as the actor or the subject")


@dataclass(frozen=True)
class AuditQuery:
    actor: str = ""  # a login or a sub (an administrator's, an official's), or a CLI actor ("cli:root")
    subject: str = ""
    event: str = ""
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    @property
    def empty(self) -> bool:
        return not (self.actor or self.subject or self.event or self.since or self.until)


@dataclass(frozen=True)
class AuditEntryView:
    seq: int
    occurred_at: datetime
    event: str
    actor: str | None
    subject: str | None
    client_id: str | None
    ip: str | None
    details: dict[str, object]

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "occurred_at": self.occurred_at.isoformat(),
            "event": self.event,
            "actor": self.actor,
            "subject": self.subject,
            "client_id": self.client_id,
            "ip": self.ip,
            "details": self.details,
        }


@dataclass(frozen=True)
class AuditPage:
    items: tuple[AuditEntryView, ...]
    before: int | None  # pass back as ``before`` for the next (older) page; None on the last


class AuditSearch:
    def __init__(
        self,
        database: Database,
        audit: AuditLog,
        directory: LdapDirectory,
        delegation: Delegation,
        clock: Callable[[], datetime],
    ) -> None:
        self.audit_clock = clock
        self.database = database
        self.audit = audit
        self.directory = directory
        self.delegation = delegation

    # -- for administrators -----------------------------------------------------------------------------------

    def search(self, actor: Actor, query: AuditQuery, *, before: int | None = None, size: int = 25) -> AuditPage:
        return self._page(self._scoped(actor, query), before=before, size=size)

    def export(self, actor: Actor, query: AuditQuery, fmt: str) -> Iterator[str]:
        """The matching entries, newest first, as CSV or JSON lines (``fmt``: csv, jsonl), chunk by chunk."""
        statement = self._scoped(actor, query)  # checked before the first byte is sent
        if fmt not in ("csv", "jsonl"):
            raise AdminError("the export format is csv or jsonl")
        return self._export(statement, fmt)

    def verify(self, actor: Actor) -> VerifyResult:
        """Walk the whole chain (what ``antin audit verify`` does, about 10,000 entries a second): for those who read
        the whole log, since the chain is the whole log and walking it is not free."""
        if not self.whole_log(actor):
            raise NotPermittedError(f"{AdminAction.AUDIT_READ.value} on {ROOT_UNIT}")
        return self.audit.verify()

    def whole_log(self, actor: Actor) -> bool:
        """Whether ``actor`` reads the whole log (``audit:read`` on ``*``); else an official must be named."""
        units = self.delegation.units_holding(actor, AdminAction.AUDIT_READ)
        if not units:
            raise NotPermittedError(AdminAction.AUDIT_READ.value)
        return ROOT_UNIT in units

    def count_recent(self, actor: Actor, *, hours: int) -> int | None:
        """Entries of the last ``hours`` in the whole log, for one who reads it whole; else None."""
        if not self.whole_log(actor):
            return None
        since = self.audit_clock() - timedelta(hours=hours)
        with self.database.reading() as s:
            return int(s.scalar(select(func.count()).where(AuditEntry.occurred_at >= since)) or 0)

    def logins_of(self, page: AuditPage) -> dict[str, str]:
        """The logins of the subs a page names (the log records most actors and subjects by sub), for display."""
        names = {v for e in page.items for v in (e.actor, e.subject) if v and _looks_like_uuid(v)}
        found: dict[str, str] = {}
        for name in names:
            person = self.directory.find_by_uuid(name)
            if person is not None:
                found[name] = person.uid
        return found

    # -- for the other admin services (already authorised) ---------------------------------------------------

    def about(self, names: Sequence[str], *, before: int | None = None, size: int = 25) -> AuditPage:
        """Entries by or about one official, known by ``names`` (their login and sub)."""
        statement = select(AuditEntry).where(or_(AuditEntry.actor.in_(names), AuditEntry.subject.in_(names)))
        return self._page(statement, before=before, size=size)

    # -- inside -----------------------------------------------------------------------------------------------

    def _scoped(self, actor: Actor, query: AuditQuery) -> Select[AuditEntry]:
        whole = self.whole_log(actor)
        if not whole and not (query.actor or query.subject):
            raise OfficialRequiredError()
        statement = select(AuditEntry)
        for column, value in ((AuditEntry.actor, query.actor), (AuditEntry.subject, query.subject)):
            if value:
                statement = statement.where(column.in_(self._names(actor, value, whole)))
        if query.event:
            statement = statement.where(AuditEntry.event == query.event)
        if query.since:
            statement = statement.where(AuditEntry.occurred_at >= query.since)
        if query.until:
            statement = statement.where(AuditEntry.occurred_at < query.until)
        return statement

    def _names(self, actor: Actor, value: str, whole: bool) -> tuple[str, ...]:
        """The names an actor or subject goes by in the log; outside the whole log, an official within reach."""
        person = self.directory.find_by_uid(value) or self.directory.find_by_uuid(value)
        if whole:
            return (person.uid, person.entry_uuid) if person is not None else (value,)
        path = [u.code for u in person.unit_path] if person is not None else []
        self.delegation.authorize(actor, AdminAction.AUDIT_READ, path, target=("official", value))
        if person is None:
            raise OutOfReachError("official", value)
        return (person.uid, person.entry_uuid)

    def _page(self, statement: Select[AuditEntry], *, before: int | None, size: int) -> AuditPage:
        if before is not None:
            statement = statement.where(AuditEntry.seq < before)
        statement = statement.order_by(AuditEntry.seq.desc()).limit(size + 1)
        with self.database.reading() as s:
            rows = [_view(row) for row in s.scalars(statement)]
        more = len(rows) > size
        rows = rows[:size]
        return AuditPage(tuple(rows), rows[-1].seq if more and rows else None)

    def _export(self, statement: Select[AuditEntry], fmt: str) -> Iterator[str]:
        if fmt == "csv":
            yield _csv_line(_CSV_FIELDS)
        sent = 0
        before: int | None = None
        while sent < EXPORT_LIMIT:
            page = self._page(statement, before=before, size=min(1000, EXPORT_LIMIT - sent))
            for entry in page.items:
                if fmt == "csv":
                    row = entry.as_json()
                    yield _csv_line(
                        [row[f] if f != "details" else json.dumps(row[f], ensure_ascii=False) for f in _CSV_FIELDS]
                    )
                else:
                    yield json.dumps(entry.as_json(), ensure_ascii=False) + "\n"
            sent += len(page.items)
            if page.before is None:
                return
            before = page.before


def _looks_like_uuid(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


def _csv_line(values: Sequence[object]) -> str:
    out = io.StringIO()
    # a cell starting with = + - @ would be a formula to a spreadsheet: quote it (CSV injection)
    cells = ["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in values]
    csv.writer(out).writerow(["" if v is None else v for v in cells])
    return out.getvalue()


def _view(row: AuditEntry) -> AuditEntryView:
    return AuditEntryView(
        seq=row.seq,
        occurred_at=as_utc(row.occurred_at),
        event=row.event,
        actor=row.actor,
        subject=row.subject,
        client_id=row.client_id,
        ip=row.ip,
        details=json.loads(row.details),
    )
