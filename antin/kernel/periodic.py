"""A thread per server process that does one job every so many seconds (the audit anchors, the documents'
reminders): started by the app and again after gunicorn's fork, whose child has no threads; stopped on close."""

from __future__ import annotations

import threading

__all__ = ["PeriodicJob"]


class PeriodicJob:
    """Calls :meth:`tick` every ``interval`` seconds in a daemon thread, the first time one interval after
    :meth:`start` (a restart loop stays cheap). :meth:`tick` handles its own errors: the thread must not die."""

    thread_name = "antin-periodic"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def enabled(self) -> bool:
        return self.interval > 0

    def start(self) -> None:
        """Start this process's thread (idempotent; again after a fork, whose child has no threads)."""
        if not self.enabled() or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def tick(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()
