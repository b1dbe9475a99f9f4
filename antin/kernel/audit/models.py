"""The audit log's tables: the entries, and the heads that seal the end of each writer's chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from antin.kernel.database import Base, UtcDateTime

__all__ = ["AuditEntry", "AuditHead"]


class AuditEntry(Base):
    """One security event. ``entry_hash`` covers its writer's number for it (``writer_seq``), every field and
    ``prev_hash``, which chains the entries of one writer; ``seq`` is the entry's number in the whole log, given by
    the database in commit order."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("writer", "writer_seq", name="uq_audit_log_writer_seq"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    writer: Mapped[int] = mapped_column(Integer, default=1)
    writer_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str | None] = mapped_column(String(256), index=True)
    subject: Mapped[str | None] = mapped_column(String(256), index=True)
    client_id: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    # not indexed: no query reads an entry by its hash, and (writer, writer_seq), which it covers, is unique
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One writer's last entry number and hash (``id`` is the writer), sealed with a MAC keyed by the instance
    secret; the row with ``id`` 0 is the register of writers (``seq`` is how many there are), sealed the same way.

    A chain alone cannot show that its newest entries were cut off, nor the register that a whole writer was
    removed; the seals can, because whoever cuts them would need the secret key, which is not in the database,
    to reseal them.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    entry_hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str] = mapped_column(String(64))
