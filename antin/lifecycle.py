"""How the long-running commands (``antin demo``, ``antin directory serve``, ``antin serve``) stop on a signal.

Python's default answer to Ctrl-C is a ``KeyboardInterrupt`` raised wherever the main thread happens to be: in
the middle of starting slapd (which then outlives the command), inside a clean-up half done, or during the
imports (a traceback and exit 1); SIGTERM's default kills the process with nothing stopped. These commands take
SIGINT and SIGTERM alike, from ``antin``'s entry point on, before anything heavy is imported, as a *request*:
the handler only raises a flag, start-up looks at it between its steps (:func:`check`, which raises
:class:`StopRequested`), the serving loop waits on it (:func:`wait`), and the command then stops what it started,
in reverse order, and exits 0.

The request is never delivered as an exception at an arbitrary point (as ``KeyboardInterrupt`` is): one that
lands inside a library's locked section (python-ldap's connection lock, a pool's condition) leaves the lock held,
and the clean-up then waits on it for ever, as ``scripts/stop_soak.py`` showed. Start-up therefore breaks its
long steps into short ones (the imports one package at a time). The handler never takes a lock either
(a ``threading.Event.set`` in a handler can deadlock the main thread it interrupts).
"""

from __future__ import annotations

import importlib
import signal
import time
from collections.abc import Iterable
from types import FrameType

__all__ = [
    "SERVING_COMMANDS",
    "StopRequested",
    "check",
    "defer_stop_signals",
    "import_in_steps",
    "is_serving",
    "stop_requested",
    "wait",
]

# The argument lists that start a command running until it is stopped.
SERVING_COMMANDS = (("demo",), ("serve",), ("directory", "serve"))
POLL_SECONDS = 0.1


class StopRequested(BaseException):  # like KeyboardInterrupt, so that an `except Exception` lets it by
    """A stop signal arrived during start-up: unwind what was started, then exit 0."""


class _State:
    installed = False
    requested = False


_state = _State()


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
    """Between two steps of a start-up: raise :class:`StopRequested` if a stop signal has arrived."""
    if _state.requested:
        raise StopRequested


def import_in_steps(modules: Iterable[str]) -> None:
    """Import these modules one at a time, looking for a stop request after each (imports take seconds when busy)."""
    for name in modules:
        importlib.import_module(name)
        check()


def wait(seconds: float | None = None) -> bool:
    """Sleep until a stop is requested (or ``seconds`` pass); True when one was."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not _state.requested:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True
