"""How the long-running commands (``antin demo``, ``antin directory serve``, ``antin serve``) stop on a signal.

Python's default answer to Ctrl-C is a ``KeyboardInterrupt`` raised wherever the main thread happens to be: in
the middle of starting slapd (which then outlives the command), inside a clean-up half done, or during the
imports (a traceback and exit 1). These commands take SIGINT and SIGTERM alike as a *request* instead: the
handler only raises a flag, start-up looks at it between its steps (:func:`check`), the serving loop waits on it
(:func:`wait`), and the command then stops what it started in reverse order and exits 0. The handlers are
installed by ``antin``'s entry point before anything heavy is imported, so no moment of the start is unguarded.
The flag is a plain boolean: a handler that takes a lock (``threading.Event.set``) can deadlock the main thread
it interrupts.
"""

from __future__ import annotations

import signal
import time
from types import FrameType

__all__ = ["SERVING_COMMANDS", "StopRequested", "check", "defer_stop_signals", "is_serving", "stop_requested", "wait"]

# The argument lists that start a command running until it is stopped.
SERVING_COMMANDS = (("demo",), ("serve",), ("directory", "serve"))
POLL_SECONDS = 0.1


class _State:
    requested = False
    installed = False


_state = _State()


class StopRequested(Exception):  # noqa: N818 - a request, not an error
    """A stop signal arrived during start-up: unwind what was started, then exit 0."""


def _request_stop(_signum: int, _frame: FrameType | None) -> None:
    _state.requested = True


def is_serving(args: list[str]) -> bool:
    """Whether ``antin ARGS`` runs until stopped (options after the command name do not matter)."""
    words = [a for a in args if not a.startswith("-")]
    return any(tuple(words[: len(c)]) == c for c in SERVING_COMMANDS)


def defer_stop_signals() -> None:
    """Turn SIGINT and SIGTERM into a stop request for the rest of this process (idempotent)."""
    if _state.installed:
        return
    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    _state.installed = True


def stop_requested() -> bool:
    return _state.requested


def check() -> None:
    """Between two start-up steps: raise :class:`StopRequested` if a stop signal has arrived."""
    if _state.requested:
        raise StopRequested


def wait(seconds: float | None = None) -> bool:
    """Sleep until a stop is requested (or ``seconds`` pass); True when one was."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not _state.requested:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True
