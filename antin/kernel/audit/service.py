"""Appending to and verifying the hash-chained audit log.

Each entry's hash covers its fields and the previous entry's hash, so editing or deleting an entry breaks
the chain at that entry; a head row sealed with the instance secret shows when the newest entries were cut
off. Appends from several processes are serialised by locking the head row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from antin.kernel.audit.events import AuditEvent
from antin.kernel.audit.models import AuditEntry, AuditHead
from antin.kernel.database import Database, table_of, utcnow

__all__ = ["AuditLog", "AuditRecord", "ChainBreak", "VerifyResult"]

GENESIS = "0" * 64
HEAD_ID = 1
SENSITIVE_WORDS = ("password", "secret", "pin", "verifier", "assertion", "private", "cookie")
log = logging.getLogger("antin.audit")
_ENTRY_TABLE = table_of(AuditEntry)
_HEAD_TABLE = table_of(AuditHead)
_ENTRY_COLUMNS = tuple(column.key for column in _ENTRY_TABLE.columns)
# Core statements built once: an append runs for every event of every request.
_LOCK_HEAD = (
    update(_HEAD_TABLE)
    .where(_HEAD_TABLE.c.id == HEAD_ID)
    .values(seq=_HEAD_TABLE.c.seq)
    .returning(_HEAD_TABLE.c.seq, _HEAD_TABLE.c.entry_hash)
)
_INSERT_ENTRIES = insert(_ENTRY_TABLE)
_INSERT_HEAD = insert(_HEAD_TABLE)
_UPDATE_HEAD = update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == HEAD_ID)


@dataclass(frozen=True)
class AuditRecord:
    """One entry as read back: what ``antin audit list`` shows."""

    seq: int
    occurred_at: datetime
    event: str
    actor: str | None
    subject: str | None
    client_id: str | None
    ip: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class ChainBreak:
    """The first entry where the chain does not hold, and why."""

    seq: int
    reason: str


@dataclass(frozen=True)
class VerifyResult:
    entries_checked: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


@dataclass
class _Pending:
    entry: AuditEntry
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class AuditLog:
    """The audit log of one instance; safe to share between threads.

    Appends use group commit: while one thread writes, the events other threads record meanwhile wait and are
    then written together in one transaction, so that a busy worker takes the chain's lock once per batch
    rather than once per event. Every caller still returns only after its own event is committed.
    """

    def __init__(self, database: Database, secret_key: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.clock = clock
        self._key = hashlib.sha256(b"antin audit head\0" + secret_key.encode()).digest()
        self._mutex = threading.Lock()
        self._queue: list[_Pending] = []
        self._writing = False

    def record(
        self,
        event: AuditEvent,
        *,
        actor: str | None = None,
        subject: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one event and return its number. Values under sensitive keys are never stored."""
        clean = redact(details or {})
        log.info(
            "audit %s",
            event.value,
            extra={"audit_event": event.value, "actor": actor, "subject": subject, "client_id": client_id},
        )
        entry = AuditEntry(
            occurred_at=self.clock(),
            event=event.value,
            actor=actor,
            subject=subject,
            client_id=client_id,
            ip=ip,
            details=canonical_json(clean),
        )
        pending = _Pending(entry)
        with self._mutex:
            self._queue.append(pending)
            lead = not self._writing
            self._writing = True
        if lead:
            self._write_queued()
        pending.done.wait()
        if pending.error is not None:
            raise RuntimeError("could not append to the audit log") from pending.error
        return entry.seq

    def _write_queued(self) -> None:
        """Write batches until the queue is empty (run by one thread at a time)."""
        while True:
            with self._mutex:
                batch, self._queue = self._queue, []
                if not batch:
                    self._writing = False
                    return
            error: BaseException | None = None
            try:
                self._append_with_retries([p.entry for p in batch])
            except Exception as err:
                error = err
            for p in batch:
                p.error = error
                p.done.set()

    def _append_with_retries(self, entries: list[AuditEntry]) -> None:
        for attempt in range(20):
            try:
                self._append(entries)
                return
            except (IntegrityError, OperationalError) as err:
                # another process appended first, or SQLite was busy: take the new head and try again
                if isinstance(err, OperationalError) and not any(w in str(err) for w in ("locked", "busy")):
                    raise
                time.sleep(min(0.005 * 2**attempt, 0.25))
        raise RuntimeError("the database stayed busy")

    def _append(self, entries: list[AuditEntry]) -> None:
        with self.database.transaction() as conn:
            # Writing first takes the lock (a row lock in PostgreSQL, the write lock in SQLite) and reads the head.
            head = conn.execute(_LOCK_HEAD).first()
            seq, prev_hash = (head.seq, head.entry_hash) if head is not None else (0, GENESIS)
            rows = []
            for entry in entries:
                seq += 1
                entry.seq, entry.prev_hash = seq, prev_hash
                entry.entry_hash = prev_hash = entry_hash(entry)
                rows.append({column: getattr(entry, column) for column in _ENTRY_COLUMNS})
            conn.execute(_INSERT_ENTRIES, rows)
            values = {"seq": seq, "entry_hash": prev_hash, "seal": self._seal(seq, prev_hash)}
            if head is None:
                conn.execute(_INSERT_HEAD, {"id": HEAD_ID, **values})  # a race ends in IntegrityError
            else:
                conn.execute(_UPDATE_HEAD, values)

    def _seal(self, seq: int, hash_: str) -> str:
        return hmac.new(self._key, f"{seq}:{hash_}".encode(), hashlib.sha256).hexdigest()

    def verify(self) -> VerifyResult:
        """Walk the whole chain and name the first broken or missing entry."""
        checked = 0
        expected_seq = 1
        prev_hash = GENESIS
        with self.database.session() as session:
            for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000)):
                if entry.seq != expected_seq:
                    missing = (
                        f"entry {expected_seq}"
                        if entry.seq == expected_seq + 1
                        else (f"entries {expected_seq}–{entry.seq - 1}")
                    )
                    return VerifyResult(checked, ChainBreak(expected_seq, f"{missing} missing"))
                if entry.prev_hash != prev_hash:
                    return VerifyResult(
                        checked, ChainBreak(entry.seq, "does not follow the entry before it (chain broken)")
                    )
                if entry_hash(entry) != entry.entry_hash:
                    return VerifyResult(checked, ChainBreak(entry.seq, "was altered (its hash does not match)"))
                checked += 1
                prev_hash = entry.entry_hash
                expected_seq += 1
            head = session.get(AuditHead, HEAD_ID)
        last = expected_seq - 1
        if head is None:
            if last:
                return VerifyResult(checked, ChainBreak(last, "the sealed head of the log is missing"))
            return VerifyResult(0, None)
        if head.seq > last:
            gap = f"entry {last + 1}" if head.seq == last + 1 else f"entries {last + 1}–{head.seq}"
            return VerifyResult(checked, ChainBreak(last + 1, f"{gap} missing (cut off the end of the log)"))
        if head.seq < last:
            return VerifyResult(checked, ChainBreak(head.seq + 1, "was appended without sealing the head"))
        if head.entry_hash != prev_hash or not hmac.compare_digest(head.seal, self._seal(head.seq, head.entry_hash)):
            return VerifyResult(checked, ChainBreak(head.seq, "the head's seal is invalid (forged or wrong key)"))
        return VerifyResult(checked, None)

    def entries(
        self,
        *,
        event: str | None = None,
        actor: str | None = None,
        subject: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> Iterator[AuditRecord]:
        """The newest entries first, filtered."""
        query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
        if event:
            query = query.where(AuditEntry.event == event)
        if actor:
            query = query.where(AuditEntry.actor == actor)
        if subject:
            query = query.where(AuditEntry.subject == subject)
        if since:
            query = query.where(AuditEntry.occurred_at >= since)
        with self.database.session() as session:
            rows = list(session.scalars(query))
        for row in rows:
            yield AuditRecord(
                seq=row.seq,
                occurred_at=as_utc(row.occurred_at),
                event=row.event,
                actor=row.actor,
                subject=row.subject,
                client_id=row.client_id,
                ip=row.ip,
                details=json.loads(row.details),
            )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def as_utc(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; they were stored in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def entry_hash(entry: AuditEntry) -> str:
    fields = [
        entry.seq,
        as_utc(entry.occurred_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        entry.event,
        entry.actor,
        entry.subject,
        entry.client_id,
        entry.ip,
        entry.details,
        entry.prev_hash,
    ]
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


def redact(details: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``details`` with the values of sensitive-looking keys replaced, at any depth."""
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if any(word in key.lower() for word in SENSITIVE_WORDS):
            clean[key] = "[redacted]"
        elif isinstance(value, Mapping):
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean
