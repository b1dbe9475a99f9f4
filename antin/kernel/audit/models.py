"""The audit log's tables: the entries, and the head that seals the end of the chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from antin.kernel.database import Base, UtcDateTime

__all__ = ["AuditEntry", "AuditHead"]


class AuditEntry(Base):
    """One security event. ``entry_hash`` covers every column and ``prev_hash``, which chains the entries."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str | None] = mapped_column(String(256), index=True)
    subject: Mapped[str | None] = mapped_column(String(256), index=True)
    client_id: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The last entry's number and hash, sealed with a MAC keyed by the instance secret.

    The chain alone cannot show that its newest entries were cut off; the sealed head can, because
    whoever cuts them would need the secret key, which is not in the database, to reseal it.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    entry_hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str] = mapped_column(String(64))
