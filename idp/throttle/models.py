"""Counters of the login throttle, when no Redis is configured."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from antin.kernel.database import Base

__all__ = ["ThrottleCounter"]


class ThrottleCounter(Base):
    """One budget (an address, a login from an address, a login, a device): attempts counted and when it frees.

    Times are epoch seconds, so that one ``INSERT … ON CONFLICT DO UPDATE … WHERE`` can compare and set them on
    SQLite and PostgreSQL alike.
    """

    __tablename__ = "throttle_counter"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[float] = mapped_column(Float, default=0.0)  # the next attempt waits until then
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # forgotten then (a quiet window after the last)
