"""Proving the audit log complete and untampered: every writer's chain walked, every seal checked.

The first break found is named by the log's entry number (``seq``) and a reason; a missing entry is named by
the number after the last intact entry of its writer, which is its number exactly while one writer wrote.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import func, select

from antin.kernel.audit.chain import (
    REGISTER_ID,
    entry_hash,
    genesis_of,
    legacy_seal,
    register_seal,
    writer_seal,
)
from antin.kernel.audit.models import AuditEntry, AuditHead
from antin.kernel.database import Database

__all__ = ["ChainBreak", "VerifyResult", "verify_log"]


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


def verify_log(database: Database, key: bytes) -> VerifyResult:
    """Walk every writer's chain in order, then the heads and the register of writers."""
    with database.session() as session:
        heads = {head.id: head for head in session.scalars(select(AuditHead))}
        walk = _Walk(key, heads)
        if walk.register is None and set(heads) - {1}:
            newest = session.scalar(select(func.max(AuditEntry.seq))) or 0
            return VerifyResult(0, ChainBreak(newest + 1, "the sealed register of writers is missing"))
        query = select(AuditEntry).order_by(AuditEntry.writer, AuditEntry.writer_seq)
        for entry in session.scalars(query.execution_options(yield_per=1000)):
            found = walk.entry(entry)
            if found is not None:
                return VerifyResult(walk.checked, found)
        return VerifyResult(walk.checked, walk.finish())


def _entries(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}–{last}"


class _Walk:
    def __init__(self, key: bytes, heads: dict[int, AuditHead]) -> None:
        self.key = key
        self.register = heads.pop(REGISTER_ID, None)
        self.heads = heads
        self.checked = 0
        self.newest = 0  # the highest entry number seen
        self.seen: set[int] = set()
        self.writer = 0
        self.expected = 1
        self.prev_hash = ""
        self.last_seq = 0  # the current writer's last intact entry
        self.unsealed = 0  # the current writer's first entry after its sealed head

    def entry(self, entry: AuditEntry) -> ChainBreak | None:
        if entry.writer != self.writer:
            found = self._close() if self.writer else None
            if found is not None:
                return found
            if entry.writer not in self.heads:
                legacy = entry.writer == 1 and self.register is None
                what = "the sealed head of the log" if legacy else f"writer {entry.writer}'s sealed head"
                return ChainBreak(entry.seq, f"{what} is missing")
            self.writer, self.expected, self.prev_hash = entry.writer, 1, genesis_of(entry.writer)
            self.last_seq = self.unsealed = 0
            self.seen.add(entry.writer)
        self.newest = max(self.newest, entry.seq)
        if entry.writer_seq != self.expected:
            gap = _entries(self.expected, entry.writer_seq - 1)
            at = self.last_seq + 1 if self.last_seq else entry.seq - (entry.writer_seq - self.expected)
            return ChainBreak(at, f"{gap} of writer {self.writer} missing")
        if entry.seq <= self.last_seq:
            return ChainBreak(entry.seq, "is out of order (numbered before the entry it follows)")
        if entry.prev_hash != self.prev_hash:
            return ChainBreak(entry.seq, "does not follow the entry before it (chain broken)")
        if entry_hash(entry) != entry.entry_hash:
            return ChainBreak(entry.seq, "was altered (its hash does not match)")
        if entry.writer_seq == self.heads[self.writer].seq + 1:
            self.unsealed = entry.seq
        self.checked += 1
        self.prev_hash = entry.entry_hash
        self.expected += 1
        self.last_seq = entry.seq
        return None

    def _close(self) -> ChainBreak | None:
        head, last = self.heads[self.writer], self.expected - 1
        if head.seq > last:
            gap = _entries(last + 1, head.seq)
            return ChainBreak(
                self.last_seq + 1, f"{gap} of writer {self.writer} missing (cut off the end of its chain)"
            )
        if head.seq < last:
            return ChainBreak(self.unsealed, "was appended without sealing the head")
        if head.entry_hash != self.prev_hash or not self._sealed(head):
            return ChainBreak(self.last_seq, "the head's seal is invalid (forged or wrong key)")
        return None

    def _sealed(self, head: AuditHead) -> bool:
        if head.id == 1 and self.register is None:
            expected = legacy_seal(self.key, head.seq, head.entry_hash)
        else:
            expected = writer_seal(self.key, head.id, head.seq, head.entry_hash)
        return hmac.compare_digest(head.seal, expected)

    def finish(self) -> ChainBreak | None:
        found = self._close() if self.writer else None
        if found is not None:
            return found
        after = self.newest + 1
        for writer, head in sorted(self.heads.items()):
            if writer in self.seen:
                continue
            if head.seq:
                return ChainBreak(after, f"{_entries(1, head.seq)} of writer {writer} missing (its whole chain)")
            if head.entry_hash != genesis_of(writer) or not self._sealed(head):
                return ChainBreak(after, f"writer {writer}'s head's seal is invalid (forged or wrong key)")
        register = self.register
        if register is None:  # a log from before there were writers (more heads were caught before the walk)
            return None
        sealed = register_seal(self.key, register.seq, register.entry_hash)
        if register.entry_hash != genesis_of(register.seq) or not hmac.compare_digest(register.seal, sealed):
            return ChainBreak(after, "the register of writers' seal is invalid (forged or wrong key)")
        for writer in range(1, register.seq + 1):
            if writer not in self.heads:
                return ChainBreak(after, f"writer {writer} was removed (its sealed head is missing)")
        extra = sorted(set(self.heads) - set(range(1, register.seq + 1)))
        if extra:
            return ChainBreak(after, f"writer {extra[0]} is not in the sealed register of writers")
        return None
