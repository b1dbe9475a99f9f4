"""The requests a worker of ``antin serve`` has in flight, and the heartbeat its server's watchdog reads.

Both servers replace a worker whose heartbeat is older than ``[server] timeout``: gunicorn's arbiter reads the time
a worker last wrote to its temporary file (``antin.gunicorn_server``), granian's main process the same of a file per
worker (``antin.granian_server``). The heartbeat is written by the worker, so a worker that cannot run Python any more
(a call holding the interpreter lock, a deadlock) falls silent; and it never moves past the start of the oldest
request still in flight, so a request stuck in the app (a directory or database that never answers) makes its
worker fall silent too: gunicorn's gthread worker beats from its main thread whatever its request threads do, and
granian has no such limit at all.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["InFlight", "track_requests"]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class InFlight:
    """When each request this process is serving started (the monotonic clock)."""

    def __init__(self) -> None:
        # each key written by one request: a dict's item set and pop are atomic under the GIL, no lock needed
        self._started: dict[int, float] = {}
        self._keys = itertools.count()

    def begin(self) -> int:
        """Count a request in flight; its key is for :meth:`end` (an answer may be closed on another thread)."""
        key = next(self._keys)
        self._started[key] = time.monotonic()
        return key

    def end(self, key: int) -> None:
        self._started.pop(key, None)

    def heartbeat(self) -> float:
        """Now, or the start of the oldest request in flight if there is one."""
        return min([time.monotonic(), *list(self._started.values())])


def track_requests(app: WsgiApp, in_flight: InFlight) -> WsgiApp:
    """``app`` with each request counted in flight until its answer is sent (its iterable exhausted or closed)."""

    def tracked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        key = in_flight.begin()
        try:
            answer = app(environ, start_response)
        except BaseException:
            in_flight.end(key)
            raise
        if isinstance(answer, list):  # all in memory: nothing more of the app runs (the server's fast path kept)
            in_flight.end(key)
            return answer
        return _ended_when_sent(answer, in_flight, key)

    return tracked


def _ended_when_sent(answer: Iterable[bytes], in_flight: InFlight, key: int) -> Iterator[bytes]:
    try:
        yield from answer
    finally:  # exhausted, closed by the server, or collected: the request is over either way
        close = getattr(answer, "close", None)
        if close is not None:
            close()
        in_flight.end(key)
