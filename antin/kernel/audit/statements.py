"""The audit log's Core statements, built once: an append runs for every event of every request."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Insert, bindparam, insert, select, union_all, update

from antin.kernel.audit.chain import REGISTER_ID
from antin.kernel.audit.models import AuditEntry, AuditHead
from antin.kernel.database import table_of

__all__ = [
    "ENTRY_FIELDS",
    "ENTRY_TABLE",
    "HEAD_TABLE",
    "INSERT_ENTRIES",
    "LOCK_REGISTER",
    "MOVE_HEAD",
    "READ_HEAD",
    "sealed_insert",
]

ENTRY_TABLE = table_of(AuditEntry)
HEAD_TABLE = table_of(AuditHead)
ENTRY_FIELDS = tuple(c.key for c in ENTRY_TABLE.columns if c.key != "seq")  # the database numbers the log
INSERT_ENTRIES = insert(ENTRY_TABLE).returning(ENTRY_TABLE.c.seq, sort_by_parameter_order=True)
MOVE_HEAD = (
    update(HEAD_TABLE)
    .where(HEAD_TABLE.c.id == bindparam("writer"), HEAD_TABLE.c.seq == bindparam("old_seq"))
    .values(seq=bindparam("head_seq"), entry_hash=bindparam("head_hash"), seal=bindparam("head_seal"))
)
READ_HEAD = select(HEAD_TABLE.c.seq, HEAD_TABLE.c.entry_hash).where(HEAD_TABLE.c.id == bindparam("writer"))
LOCK_REGISTER = (
    update(HEAD_TABLE).where(HEAD_TABLE.c.id == REGISTER_ID).values(seq=HEAD_TABLE.c.seq).returning(HEAD_TABLE.c.seq)
)


@cache
def sealed_insert(count: int) -> Insert:
    """One statement (PostgreSQL): move this writer's head from where it left it, and only then insert the
    ``count`` entries, returning each one's ``writer_seq`` and the number the database gave it."""
    moved = MOVE_HEAD.returning(HEAD_TABLE.c.id).cte("moved")
    selects = [
        select(*(bindparam(f"{name}_{i}", type_=ENTRY_TABLE.c[name].type) for name in ENTRY_FIELDS)).select_from(moved)
        for i in range(count)
    ]
    rows = selects[0] if count == 1 else union_all(*selects)
    return (
        insert(ENTRY_TABLE)
        .from_select(list(ENTRY_FIELDS), rows)
        .add_cte(moved)
        .returning(ENTRY_TABLE.c.writer_seq, ENTRY_TABLE.c.seq)
    )
