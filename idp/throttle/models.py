"""Failure counters of the login throttle, when no Redis is configured."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.database import Base, UtcDateTime

__all__ = ["ThrottleCounter"]


class ThrottleCounter(Base):
    __tablename__ = "throttle_counter"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime)
