"""Appending to and verifying the hash-chained audit log.

Each process that writes is a *writer* with a chain of its own: each entry's hash covers its fields, its
number in the writer's chain and the previous entry's hash, so editing, deleting or reordering an entry breaks
the chain at that entry. Each writer's head (its last number and hash) is sealed with a MAC under the instance
secret, which shows when its newest entries were cut off, and a sealed register of writers (how many there are)
shows when a whole writer was removed. A writer knows its own head, so an append reads nothing and locks only
its own head row: workers no longer wait on each other (issue 13, item 6). The chains are anchored together by
the register, and ``seq`` (given by the database) orders the entries of all writers in commit order.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from antin.kernel.audit.carried import CarriedEntry, Written
from antin.kernel.audit.chain import (
    REGISTER_ID,
    canonical_json,
    entry_hash,
    genesis_of,
    head_key,
    legacy_seal,
    register_seal,
    writer_seal,
)
from antin.kernel.audit.events import AuditEvent
from antin.kernel.audit.held import HeldEntries, NewEntry
from antin.kernel.audit.reading import AuditRecord, read_entries
from antin.kernel.audit.statements import (
    ENTRY_FIELDS,
    HEAD_TABLE,
    INSERT_ENTRIES,
    LOCK_REGISTER,
    MOVE_HEAD,
    READ_HEAD,
    sealed_insert,
)
from antin.kernel.audit.verify import ChainBreak, VerifyResult, verify_log
from antin.kernel.database import Database, utcnow

__all__ = ["Alternative", "AuditLog", "AuditRecord", "AuditWriteError", "ChainBreak", "VerifyResult"]

SENSITIVE_WORDS = ("password", "secret", "pin", "verifier", "assertion", "private", "cookie")
log = logging.getLogger("antin.audit")
T = TypeVar("T")


@dataclass
class _Pending:
    entries: list[NewEntry]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


@dataclass(frozen=True)
class Alternative:
    """The event :meth:`AuditLog.record_in` writes instead when its statement did something else than planned (the
    time and the address are the planned event's)."""

    event: AuditEvent
    actor: str | None = None
    subject: str | None = None
    client_id: str | None = None
    details: Mapping[str, Any] | None = None


@dataclass
class _Writer:
    """This process's chain: its number and its head, which only this process moves."""

    id: int
    pid: int
    seq: int
    hash: str


class AuditWriteError(RuntimeError):
    """An event could not be appended; its ``__cause__`` says why (the database away answers 503, see
    antin.kernel.errors)."""


class _HeadMovedError(Exception):
    """The head in the database is not where this writer left it (a commit whose answer was lost)."""


class AuditLog(HeldEntries):
    """The audit log of one instance; safe to share between threads.

    Each process appends to a chain of its own (registered on its first append, and again after a fork), so
    processes never wait on each other. Within a process, appends use group commit: while one thread writes,
    the events other threads record meanwhile wait and are then written together in one transaction. Every
    caller still returns only after its own event is committed. An event whose entry is written by the statement
    of the operation it records (:meth:`record_in`) costs no append of its own.
    """

    def __init__(self, database: Database, secret_key: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.clock = clock
        self._key = head_key(secret_key)
        self._mutex = threading.Lock()
        self._queue: list[_Pending] = []
        self._writing = False
        self._writer: _Writer | None = None  # only the thread that writes touches it
        self._spare: list[_Writer] = []  # writers of record_in's statements, not in use now
        HeldEntries.__init__(self)

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
        """Append one event and return its number. Values under sensitive keys are never stored. Entries held in
        this context (:meth:`hold`) are appended before it, in the same statement."""
        entry = self._new_entry(event, self.clock(), actor, subject, client_id, ip, details)
        held = self._take_held()
        try:
            self._write([*held, entry])
        except BaseException:
            self._give_back(held)
            raise
        return entry.seq

    def _write(self, entries: list[NewEntry]) -> None:
        for entry in entries:
            _log_event(entry)
        pending = _Pending(entries)
        self._submit(pending)
        if pending.error is not None:
            raise AuditWriteError("could not append to the audit log") from pending.error

    def record_in(
        self,
        write: Callable[[CarriedEntry], tuple[T, Written]],
        event: AuditEvent,
        *,
        actor: str | None = None,
        subject: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        details: Mapping[str, Any] | None = None,
        alternative: Alternative | None = None,
        carries_held: bool = False,
    ) -> T:
        """Have ``write`` write this event's entry in its own statement (:mod:`antin.kernel.audit.carried`, on
        PostgreSQL's driver) and return what it returns. Entries held in this context (:meth:`hold`) go first: in
        the same statement if ``write`` can carry them (``carries_held``: it reads ``CarriedEntry.leading``), else
        appended just before. ``write`` says what it wrote: the entry, the ``alternative``
        (the same position, another event) or, when the head had moved, nothing; then it runs again after the head
        is read. Its own errors reach the caller unchanged.

        The statement runs on a chain of its own for as long as it runs (a spare writer of this process, registered
        when none is free): other threads' statements run meanwhile on theirs, not one after the other on the
        process's chain; a process has as many of these writers as it ever had such statements at once."""
        held = self._take_held()
        if held and not carries_held:
            try:
                self._write(held)
            except BaseException:
                self._give_back(held)
                raise
            held = []
        now = self.clock()
        entry = self._new_entry(event, now, actor, subject, client_id, ip, details)
        other = None
        if alternative is not None:
            a = alternative
            other = self._new_entry(a.event, now, a.actor, a.subject, a.client_id, ip, a.details)
        writer = self._spare_writer()
        try:
            for attempt in range(20):
                position, previous = writer.seq + 1, writer.hash
                params: dict[str, Any] = {"audit_old_seq": writer.seq}
                for i, lead in enumerate(held):  # chained before the entry, at the positions before its own
                    lead.writer, lead.writer_seq, lead.prev_hash = writer.id, position, previous
                    lead.entry_hash = previous = entry_hash(lead)
                    params.update({f"audit_lead{i}_{name}": getattr(lead, name) for name in ENTRY_FIELDS})
                    position += 1
                for prefix, placed in (("audit_", entry), ("audit_alt_", other)):
                    if placed is not None:
                        placed.writer, placed.writer_seq, placed.prev_hash = writer.id, position, previous
                        placed.entry_hash = entry_hash(placed)
                        params.update({prefix + name: getattr(placed, name) for name in ENTRY_FIELDS})
                        params[prefix + "seal"] = writer_seal(self._key, writer.id, position, placed.entry_hash)
                try:
                    result, written = write(CarriedEntry(params, other is not None, len(held)))
                except BaseException:
                    self._give_back(held)
                    raise
                if written is not Written.NOTHING:
                    chosen = entry if written is Written.ENTRY or other is None else other
                    writer.seq, writer.hash = position, chosen.entry_hash
                    for lead in held:
                        _log_event(lead)
                    _log_event(chosen)
                    return result
                # an earlier statement's commit whose answer was lost: nothing was written, the head is read again
                self._reload_head(writer)
                time.sleep(min(0.001 * 2**attempt, 0.25))
            raise AuditWriteError("could not append to the audit log: its head kept moving")
        finally:
            with self._mutex:
                self._spare.append(writer)

    def _spare_writer(self) -> _Writer:
        with self._mutex:
            while self._spare:
                writer = self._spare.pop()
                if writer.pid == os.getpid():  # a forked worker must not share its parent's chains
                    return writer
        for attempt in range(20):
            try:
                return self._register()
            except IntegrityError:  # two processes registered at once: the next attempt takes the next number
                time.sleep(min(0.005 * 2**attempt, 0.25))
        raise AuditWriteError("could not register a writer of the audit log")

    def _new_entry(
        self,
        event: AuditEvent,
        occurred_at: datetime,
        actor: str | None,
        subject: str | None,
        client_id: str | None,
        ip: str | None,
        details: Mapping[str, Any] | None,
    ) -> NewEntry:
        return NewEntry(
            occurred_at=occurred_at,
            event=event.value,
            actor=actor,
            subject=subject,
            client_id=client_id,
            ip=ip,
            details=canonical_json(redact(details or {})),
        )

    def _submit(self, pending: _Pending) -> None:
        """Queue ``pending`` and return once it is written or has failed: the first thread to find nobody writing
        writes what is queued (group commit), the others wait."""
        with self._mutex:
            self._queue.append(pending)
            lead = not self._writing
            self._writing = True
        if lead:
            self._write_queued()
        pending.done.wait()

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
                self._append_with_retries([entry for p in batch for entry in p.entries])
            except Exception as err:
                error = err
            for p in batch:
                p.error = error
                p.done.set()

    def _append_with_retries(self, entries: list[NewEntry]) -> None:
        for attempt in range(20):
            try:
                writer = self._current_writer()
                self._append(writer, entries)
                return
            except (IntegrityError, OperationalError, _HeadMovedError) as err:
                # SQLite was busy, two processes registered at once, or an earlier commit's answer was lost:
                # read this writer's head again and retry
                if isinstance(err, OperationalError) and not any(w in str(err) for w in ("locked", "busy")):
                    raise
                self._reload_head(self._writer)
                time.sleep(min(0.005 * 2**attempt, 0.25))
        raise RuntimeError("the database stayed busy")

    def _current_writer(self) -> _Writer:
        writer = self._writer
        if writer is None or writer.pid != os.getpid():  # a forked worker must not share its parent's chain
            writer = self._writer = self._register()
        return writer

    def _reload_head(self, writer: _Writer | None) -> None:
        if writer is None or writer.pid != os.getpid():
            return
        try:
            with self.database.autocommit() as conn:
                head = conn.execute(READ_HEAD, {"writer": writer.id}).one()
        except Exception:  # the retry reports what is wrong
            return
        writer.seq, writer.hash = head.seq, head.entry_hash

    def _append(self, writer: _Writer, entries: list[NewEntry]) -> None:
        seq, prev_hash = writer.seq, writer.hash
        rows = []
        for entry in entries:
            seq += 1
            entry.writer, entry.writer_seq, entry.prev_hash = writer.id, seq, prev_hash
            entry.entry_hash = prev_hash = entry_hash(entry)
            rows.append({name: getattr(entry, name) for name in ENTRY_FIELDS})
        head = {
            "writer": writer.id,
            "old_seq": writer.seq,
            "head_seq": seq,
            "head_hash": prev_hash,
            "head_seal": writer_seal(self._key, writer.id, seq, prev_hash),
        }
        if self.database.is_sqlite:
            with self.database.transaction() as conn:
                numbers = [row.seq for row in conn.execute(INSERT_ENTRIES, rows)]
                if conn.execute(MOVE_HEAD, head).rowcount != 1:
                    raise _HeadMovedError
        else:
            # one statement, atomic without BEGIN and COMMIT: the head moves only if the entries are written
            params = {**head, **{f"{name}_{i}": row[name] for i, row in enumerate(rows) for name in row}}
            driver = self.database.driver  # psycopg directly: SQLAlchemy's own cost would double the statement's
            if driver is not None:
                written = driver.all(driver.sql_of(sealed_insert(len(rows))), params)
                numbered = {row.writer_seq: row.seq for row in written}
            else:
                with self.database.autocommit() as conn:
                    numbered = {row.writer_seq: row.seq for row in conn.execute(sealed_insert(len(rows)), params)}
            if len(numbered) != len(rows):
                raise _HeadMovedError
            numbers = [numbered[entry.writer_seq] for entry in entries]
        for entry, number in zip(entries, numbers, strict=True):
            entry.seq = number
        writer.seq, writer.hash = seq, prev_hash

    def _register(self) -> _Writer:
        """A new writer: the next number in the sealed register, and an empty chain sealed under it."""
        with self.database.transaction() as conn:
            locked = conn.execute(LOCK_REGISTER).first()  # registrations, rare, take turns on this row
            count = self._start_register(conn) if locked is None else locked.seq
            writer = count + 1
            genesis = genesis_of(writer)
            conn.execute(
                insert(HEAD_TABLE),
                {"id": writer, "seq": 0, "entry_hash": genesis, "seal": writer_seal(self._key, writer, 0, genesis)},
            )
            conn.execute(
                update(HEAD_TABLE).where(HEAD_TABLE.c.id == REGISTER_ID),
                {"seq": writer, "entry_hash": genesis, "seal": register_seal(self._key, writer, genesis)},
            )
        return _Writer(writer, os.getpid(), 0, genesis)

    def _start_register(self, conn: Connection) -> int:
        """Create the register (a race ends in IntegrityError, and a retry). A log from before there were
        writers is writer 1, closed: its head is sealed again as a writer's, if its old seal holds."""
        count = 0
        legacy = conn.execute(select(HEAD_TABLE).where(HEAD_TABLE.c.id == 1)).first()
        if legacy is not None:
            count = 1
            if hmac.compare_digest(legacy.seal, legacy_seal(self._key, legacy.seq, legacy.entry_hash)):
                seal = writer_seal(self._key, 1, legacy.seq, legacy.entry_hash)
                conn.execute(update(HEAD_TABLE).where(HEAD_TABLE.c.id == 1), {"seal": seal})
        genesis = genesis_of(count)
        seal = register_seal(self._key, count, genesis)
        conn.execute(insert(HEAD_TABLE), {"id": REGISTER_ID, "seq": count, "entry_hash": genesis, "seal": seal})
        return count

    def verify(self) -> VerifyResult:
        """Walk every writer's chain and name the first broken or missing entry."""
        return verify_log(self.database, self._key)

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
        return read_entries(self.database, event=event, actor=actor, subject=subject, since=since, limit=limit)


def _log_event(entry: NewEntry) -> None:
    extra = {"audit_event": entry.event, "actor": entry.actor, "subject": entry.subject, "client_id": entry.client_id}
    log.info("audit %s", entry.event, extra=extra)


@functools.lru_cache(maxsize=1024)
def _sensitive(key: str) -> bool:
    """Whether a details key names a secret; the keys are the code's own few, so each is looked at once."""
    lowered = key.lower()
    return any(word in lowered for word in SENSITIVE_WORDS)


def redact(details: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``details`` with the values of sensitive-looking keys replaced, at any depth."""
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if _sensitive(key):
            clean[key] = "[redacted]"
        elif isinstance(value, Mapping):
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean
