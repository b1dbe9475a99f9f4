"""The gunicorn worker of ``antin serve``: gthread, except that a worker still loading the platform stops at once.

gunicorn's worker takes SIGTERM as "finish the requests in flight, then exit" and only looks at it once it serves:
one that arrives while the worker imports and builds the application (seconds on a busy machine) waited for the
load to end first, and ``antin serve`` stopped during its start took up to 13 s under CPU load
(``scripts/stop_soak.py``). A worker that has not booted has no request in flight and nothing to flush: it exits
there and then.
"""

from __future__ import annotations

import os
from types import FrameType

from gunicorn.workers.gthread import ThreadWorker

__all__ = ["StoppableThreadWorker"]


class StoppableThreadWorker(ThreadWorker):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.booted:
            os._exit(0)
        super().handle_exit(sig, frame)

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        if not self.booted:
            os._exit(0)
        super().handle_quit(sig, frame)
