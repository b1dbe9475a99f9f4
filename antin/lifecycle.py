"""How the long-running commands (``antin demo``, ``antin directory serve``, ``antin serve``) stop on a signal.

Python's default answer to Ctrl-C is a ``KeyboardInterrupt`` raised wherever the main thread happens to be: in
the middle of starting slapd (which then outlives the command), inside a clean-up half done, or during the
imports (a traceback and exit 1); SIGTERM's default kills the process with nothing stopped. These commands take
SIGINT and SIGTERM alike, from ``antin``'s entry point on, before anything heavy is imported:

- while a command serves, a signal only raises a flag, and the serving loop (:func:`wait`) sees it;
- during a start-up that declares itself :func:`interruptible` (each step of it "adds what is missing", so a
  step cut short is finished by the next start, as after a crash), the signal stops it at once with
  :class:`StopRequested`, except inside a :func:`critical` section (starting slapd until its stop is arranged,
  writing a file), where it waits for the section's end;
- once stopping, further signals are ignored: the clean-up is never cut short.

The command then stops what it started, in reverse order, and exits 0. The handler never takes a lock (a
``threading.Event.set`` in a handler can deadlock the main thread it interrupts).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = [
    "SERVING_COMMANDS",
    "StopRequested",
    "check",
    "critical",
    "defer_stop_signals",
    "interruptible",
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
    interruptible = False  # in a start-up that may be cut short
    critical = 0  # depth of critical sections


_state = _State()


def _request_stop(_signum: int, _frame: FrameType | None) -> None:
    _state.requested = True
    if _state.interruptible and not _state.critical:
        _state.interruptible = False  # from here on, stopping: nothing is cut short any more
        raise StopRequested


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
    """Raise :class:`StopRequested` if a stop signal has arrived (between steps that were not interruptible)."""
    if _state.requested:
        raise StopRequested


@contextmanager
def interruptible() -> Iterator[None]:
    """A start-up whose steps a stop signal may cut short (see the module's docstring)."""
    check()
    _state.interruptible = True
    try:
        yield
    finally:
        _state.interruptible = False
    check()  # a stop that came during the last critical section


@contextmanager
def critical() -> Iterator[None]:
    """A section that a stop signal must not cut: the stop waits for its end."""
    _state.critical += 1
    try:
        yield
    finally:
        _state.critical -= 1
    if _state.interruptible and _state.requested:
        _state.interruptible = False
        raise StopRequested


def wait(seconds: float | None = None) -> bool:
    """Sleep until a stop is requested (or ``seconds`` pass); True when one was."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not _state.requested:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True
