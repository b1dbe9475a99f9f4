"""Does this database's audit log still hold what an anchor saw? Its entries may only have grown since.

Each writer's anchored last entry must still be there with the same hash; the chain check (verify.py) then
proves everything before it. A writer whose chain now ends before its anchored entry lost its tail; an entry
with another hash means the log was rewritten after the anchor (e.g. numbers given again after a failover).
"""

from __future__ import annotations

from sqlalchemy import func, select

from antin.kernel.audit.anchor import Anchor
from antin.kernel.audit.models import AuditEntry
from antin.kernel.audit.verify import ChainBreak
from antin.kernel.database import Database

__all__ = ["check_anchor"]


def check_anchor(database: Database, anchor: Anchor) -> ChainBreak | None:
    """The first way the log falls short of the anchor, or None when it holds it (and perhaps more)."""
    missing = 0
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
                return ChainBreak(found.seq, _rewritten(anchor, f"writer {head.writer}'s entry {head.writer_seq}"))
        newest = session.scalar(select(func.max(AuditEntry.seq))) or 0
        if missing:
            return ChainBreak(
                newest + 1,
                f"the last {missing} {'entry' if missing == 1 else 'entries'} up to #{anchor.seq} recorded at"
                f" {anchor.recorded_at} {'is' if missing == 1 else 'are'} missing (anchored at {anchor.anchored_at};"
                f" this database's log ends at #{newest})",
            )
        if anchor.seq:
            at_seq = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == anchor.seq))
            if at_seq != anchor.entry_hash:
                return ChainBreak(anchor.seq, _rewritten(anchor, f"entry #{anchor.seq}"))
    return None


def _rewritten(anchor: Anchor, what: str) -> str:
    # After a failover new processes take the lost writer numbers again, so a lost tail is often written over.
    return (
        f"is not the entry anchored at {anchor.anchored_at} as {what} (its hash differs): entries up to"
        f" #{anchor.seq} recorded at {anchor.recorded_at} were lost and written over, or altered"
    )
