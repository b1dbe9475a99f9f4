"""Keep a worker's memory where its live objects are: collect its garbage cycles, give glibc's free pages back
(issue 14, item 4).

Under the soaks a worker's resident memory kept rising after its bounded caches had filled (docs/production.md, "What
grows in a worker, and what bounds it"). Two things kept memory nobody used any more:

- Python's collector frees a cycle of objects only when it collects the generation the cycle ended up in; the oldest
  generation is collected once a quarter as many objects as it holds have survived into it, and after the app is
  loaded it holds hundreds of thousands (modules, classes, functions): cycles a request left there (pyHanko's and
  asn1crypto's parsed structures, tracebacks) piled up for minutes. Memory Python frees goes back to its own arenas
  and to glibc, which reuse it, but resident memory follows the highest pile seen.
- glibc's ``free`` keeps what it is given inside its heap for the next ``malloc``; only a free stretch at the very
  top goes back by itself (``M_TRIM_THRESHOLD``), and a worker's heap is soon a mix of blocks that stay among blocks
  each request frees.

So, once the app is loaded, the objects it loaded are frozen out of the collector (``gc.freeze``: never freed, which
they never were, and never traversed again), and the oldest generation is then collected as soon as a quarter of what
requests left there has piled up; and every ``[server] heap_upkeep_seconds`` a thread of the worker collects every
generation and calls ``malloc_trim(0)``, which returns every free page of every glibc arena to the system
(``madvise(MADV_DONTNEED)``, glibc 2.8+). A page a later request needs is faulted in again.

Each round also sets the worker's ``antin_cache_entries`` and ``antin_cache_bytes`` (and hits, misses) in ``/metrics``
from the caches registered with :mod:`antin.kernel.caches`: a ``len()`` and an integer per cache.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
import time
from collections.abc import Callable

from antin.kernel.caches import publish_cache_sizes

__all__ = ["THREAD_NAME", "start_heap_upkeep", "trim_free_memory"]

THREAD_NAME = "antin-heap"
"""The upkeep thread's name, for Python and for the system (``top -H``, ``/proc/<pid>/task/*/comm``)."""
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


def _publish() -> None:
    with contextlib.suppress(Exception):  # the metrics are no reason to stop the upkeep
        publish_cache_sizes()


def start_heap_upkeep(every_seconds: float) -> threading.Thread | None:
    """Freeze what the process holds now (call it once the app is loaded), then, in a daemon thread, collect every
    generation and :func:`trim_free_memory` every ``every_seconds``; None, and nothing done, when it is 0."""
    if every_seconds <= 0:
        return None
    gc.collect()  # what loading the app left as garbage is not frozen with it
    gc.freeze()
    trim = _libc_malloc_trim()
    _publish()

    def run() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").prctl(PR_SET_NAME, THREAD_NAME.encode(), 0, 0, 0)
        while True:
            time.sleep(every_seconds)
            gc.collect()  # the frozen objects are not traversed: milliseconds
            if trim is not None:
                trim(0)  # ctypes releases the interpreter lock meanwhile: requests run on
            _publish()

    thread = threading.Thread(target=run, name=THREAD_NAME, daemon=True)
    thread.start()
    return thread
