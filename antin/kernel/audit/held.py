"""Audit entries held until the request's next append (:meth:`AuditLog.hold`): two entries of one request written
by one statement — a sign-in's password accepted and its session started — instead of one each.

The entries are held per context (a request's thread), in order; the next append of that context writes them
first, in its batch or in the statement of :meth:`AuditLog.record_in` when that statement can carry them
(``CarriedEntry.leading``). What nothing takes is written when the :meth:`~HeldEntries.holding` block ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from antin.kernel.audit.events import AuditEvent

__all__ = ["HeldEntries", "NewEntry"]

log = logging.getLogger("antin.audit")


@dataclass(slots=True)
class NewEntry:
    """An event about to be appended: a plain object, not an ORM entity (it is written with a Core statement, and
    the ORM's instrumentation cost more than the hash)."""

    occurred_at: datetime
    event: str
    actor: str | None
    subject: str | None
    client_id: str | None
    ip: str | None
    details: str
    writer: int = 0
    writer_seq: int = 0
    prev_hash: str = ""
    entry_hash: str = ""
    seq: int = 0


class HeldEntries:
    """The holding half of :class:`~antin.kernel.audit.service.AuditLog` (which writes, and makes entries)."""

    clock: Callable[[], datetime]

    def __init__(self) -> None:
        # entries held in this context until its next append; None outside a holding block
        self._held: ContextVar[list[NewEntry] | None] = ContextVar(f"antin_audit_held_{id(self)}", default=None)

    def _write(self, entries: list[NewEntry]) -> None:
        raise NotImplementedError

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
        raise NotImplementedError

    def hold(
        self,
        event: AuditEvent,
        *,
        actor: str | None = None,
        subject: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record ``event`` with this context's next append, in its statement (a sign-in's password accepted and
        its session started: one statement, not two), or when the :meth:`holding` block around ends, whichever
        comes first; outside such a block, at once. The entry keeps its time and its place before the next."""
        entry = self._new_entry(event, self.clock(), actor, subject, client_id, ip, details)
        held = self._held.get()
        if held is None:
            self._write([entry])
        else:
            held.append(entry)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """A block in which :meth:`hold` holds entries; what is still held at its end is appended then (after an
        error too: an entry already due is not lost because a later step failed)."""
        held: list[NewEntry] = []
        token = self._held.set(held)
        try:
            yield
        except BaseException:
            self._held.reset(token)
            if held:
                try:
                    self._write(held)
                except Exception:  # the error under way is the one to report; this one is logged
                    log.exception("held audit entries could not be appended")
            raise
        self._held.reset(token)
        if held:
            self._write(held)

    def _take_held(self) -> list[NewEntry]:
        held = self._held.get()
        if not held:
            return []
        taken = list(held)
        held.clear()
        return taken

    def _give_back(self, entries: list[NewEntry]) -> None:
        """Entries taken for a statement that failed: held again, before any held meanwhile."""
        held = self._held.get()
        if entries and held is not None:
            held[:0] = entries
