"""The instance's clock: one place that says what time it is, so a test can move time for the whole platform.

Every service asks ``instance.clock.now()`` (an aware UTC datetime) rather than the system directly; a test
moves time with ``instance.clock.advance(timedelta(minutes=31))`` instead of patching modules one by one.
Row defaults in SQL models (``created_at``) keep the system time: they record when a row was written.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]


class Clock:
    """Aware UTC time, possibly moved by an offset (tests and tools only)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def __call__(self) -> datetime:
        """A clock is also a zero-argument callable, the shape pyHanko-style ``clock=`` parameters take."""
        return self.now()

    def advance(self, delta: timedelta) -> None:
        """Move time forward (or back, with a negative delta) for everything that reads this clock."""
        with self._lock:
            self._offset += delta

    def reset(self) -> None:
        """Back to the system's time."""
        with self._lock:
            self._offset = timedelta(0)
