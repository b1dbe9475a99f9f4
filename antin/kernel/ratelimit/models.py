"""Rate-limit windows and concurrency leases, when no Redis is configured."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from antin.kernel.database import Base, UtcDateTime

__all__ = ["ConcurrencyLease", "RateWindow"]


class RateWindow(Base):
    """How many requests one key made in one fixed window (``key`` ends with the window's number)."""

    __tablename__ = "rate_window"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ConcurrencyLease(Base):
    """One of the ``capacity`` slots of a named gate, held by one request until released or expired."""

    __tablename__ = "concurrency_lease"

    gate: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
