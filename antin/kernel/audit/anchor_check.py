"""Does this database's audit log still hold what an anchor saw? Its entries may only have grown since.

Each writer's anchored last entry must still be there with the same hash; the chain check (verify.py) then
proves everything before it. A writer whose chain now ends before its anchored entry lost its tail; an entry
with another hash means the log was rewritten after the anchor (e.g. numbers given again after a failover).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from antin.kernel.audit.anchor import Anchor
from antin.kernel.audit.models import AuditEntry
from antin.kernel.audit.verify import ChainBreak
from antin.kernel.database import Database

__all__ = ["Shortfall", "check_anchor", "shortfall"]


@dataclass(frozen=True)
class Shortfall:
    """How the log falls short of an anchor: entries lost, writers whose anchored entry was replaced."""

    missing: int
    overwritten: tuple[tuple[int, int, int], ...]  # (writer, its anchored entry's number, that entry's seq now)
    newest: int  # the log's newest seq now
    moved: bool  # nothing lost, but the anchored newest entry is not at its number


def shortfall(database: Database, anchor: Anchor) -> Shortfall:
    """Compare the log with the anchor (reads one entry per anchored writer)."""
    missing = 0
    overwritten: list[tuple[int, int, int]] = []
    anchored_at = datetime.fromisoformat(anchor.anchored_at)
    moved = False
    with database.session() as session:
        for head in anchor.writers:
            found = session.execute(
                select(AuditEntry.seq, AuditEntry.entry_hash).where(
                    AuditEntry.writer == head.writer, AuditEntry.writer_seq == head.writer_seq
                )
            ).first()
            if found is None:
                last = session.scalar(select(func.max(AuditEntry.writer_seq)).where(AuditEntry.writer == head.writer))
                missing += head.writer_seq - (last or 0)
            elif found.entry_hash != head.entry_hash:
                overwritten.append((head.writer, head.writer_seq, found.seq))
                # its entries written before the anchor survived; those numbered again after it replaced lost ones
                kept = session.scalar(
                    select(func.max(AuditEntry.writer_seq)).where(
                        AuditEntry.writer == head.writer,
                        AuditEntry.writer_seq <= head.writer_seq,
                        AuditEntry.occurred_at <= anchored_at,
                    )
                )
                missing += head.writer_seq - (kept or 0)
        newest = session.scalar(select(func.max(AuditEntry.seq))) or 0
        if not missing and not overwritten and anchor.seq:
            at_seq = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == anchor.seq))
            moved = at_seq != anchor.entry_hash
    return Shortfall(missing, tuple(overwritten), newest, moved)


def check_anchor(database: Database, anchor: Anchor) -> ChainBreak | None:
    """The first way the log falls short of the anchor, or None when it holds it (and perhaps more)."""
    found = shortfall(database, anchor)
    if found.moved:
        return ChainBreak(anchor.seq, f"is not the entry #{anchor.seq} anchored at {anchor.anchored_at}")
    if found.overwritten:
        return _written_over(anchor, found.missing, list(found.overwritten))
    if found.missing:
        missing = found.missing
        return ChainBreak(
            found.newest + 1,
            f"the last {_count(missing)} up to #{anchor.seq} recorded at {anchor.recorded_at}"
            f" {'is' if missing == 1 else 'are'} missing (anchored at {anchor.anchored_at};"
            f" this database's log ends at #{found.newest})",
        )
    return None


def _written_over(anchor: Anchor, missing: int, overwritten: list[tuple[int, int, int]]) -> ChainBreak:
    """After a failover new processes take the lost writer numbers again, so a lost tail is often written over;
    how many of a writer's entries were lost is told by the times of those left (the writers' clocks)."""
    writer, writer_seq, seq = overwritten[0]
    which = f"writer {writer}'s entry {writer_seq}, now #{seq}, is not the one anchored at {anchor.anchored_at}"
    if not missing:  # its entry is where it was, with other contents
        return ChainBreak(seq, f"was altered after it was anchored ({which})")
    writers = ", ".join(str(w) for w, _, _ in overwritten)
    numbers = f"the numbers of {'writer' if len(overwritten) == 1 else 'writers'} {writers}"
    return ChainBreak(
        seq,
        f"the last {_count(missing)} up to #{anchor.seq} recorded at {anchor.recorded_at} are missing (counted by"
        f" the times of the entries left) and {numbers} were given again since ({which}): lost in a failover or"
        " a restore",
    )


def _count(entries: int) -> str:
    return f"{entries} {'entry' if entries == 1 else 'entries'}"
