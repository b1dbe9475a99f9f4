"""Give the system back the free memory glibc keeps in a worker's heap (issue 14, item 4).

glibc's ``free`` keeps what a request freed inside its arenas for the next ``malloc``; only a free stretch at the very
top of an arena goes back by itself (``M_TRIM_THRESHOLD``). A worker's heap is soon mixed: blocks that stay (caches,
connections, compiled statements) among blocks each request frees, so the free memory stays resident, and more of it
as the live blocks move up the heap. Under the soaks this free memory was what kept rising once the bounded caches
had filled (docs/production.md, "What grows in a worker, and what bounds it"). ``malloc_trim(0)`` returns every free
page of every arena (``madvise(MADV_DONTNEED)``, glibc 2.8+): the worker calls it from a thread of its own every
``[server] malloc_trim_seconds``. A page a later request needs is faulted in again; nothing else changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from collections.abc import Callable

__all__ = ["THREAD_NAME", "start_malloc_trim", "trim_free_memory"]

THREAD_NAME = "antin-trim"
"""The trimming thread's name, for Python and for the system (``top -H``, ``/proc/<pid>/task/*/comm``)."""
PR_SET_NAME = 15  # prctl(2): name the calling thread


def _libc_malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc (musl has no arenas to trim)
    return trim


def trim_free_memory() -> bool:
    """Return the free pages of every glibc arena to the system now; False when nothing was released (or no glibc)."""
    trim = _libc_malloc_trim()
    return bool(trim is not None and trim(0))


def start_malloc_trim(every_seconds: float) -> threading.Thread | None:
    """In a daemon thread, :func:`trim_free_memory` every ``every_seconds``; None, and nothing started, when it is 0
    or the C library is not glibc."""
    trim = _libc_malloc_trim()
    if every_seconds <= 0 or trim is None:
        return None

    def run() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").prctl(PR_SET_NAME, THREAD_NAME.encode(), 0, 0, 0)
        while True:
            time.sleep(every_seconds)
            trim(0)  # ctypes releases the interpreter lock meanwhile: requests run on

    thread = threading.Thread(target=run, name=THREAD_NAME, daemon=True)
    thread.start()
    return thread
