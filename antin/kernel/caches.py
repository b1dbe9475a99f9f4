"""The bounded caches a worker keeps, counted for operators: ``antin_cache_entries``, ``antin_cache_bytes``,
``antin_cache_hits`` and ``antin_cache_misses``.

Domain packages register each cache of theirs that is bounded and cheap to count (its number of entries, and the
bytes it is bounded by when it has such a bound: the DER bytes the verifier's entries were parsed from) with
:func:`register_cache`; :func:`publish_cache_sizes` sets the gauges from them. The heap upkeep round calls it
every ``[server] heap_upkeep_seconds`` (60 s), and the worker that answers ``/metrics`` calls it for itself
first: reading a size is a ``len()`` and an integer, never a walk of the cache.

Under ``PROMETHEUS_MULTIPROC_DIR`` (``antin serve``) the gauges are kept per process (``liveall``: a ``pid`` label,
the files of a worker that ended removed when it is marked dead), since each worker holds its own caches and a
bound is per worker: a sum over workers would hide the one at its bound.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

from prometheus_client import Gauge

__all__ = ["CacheSize", "cache_sizes", "publish_cache_sizes", "register_cache", "register_instance_cache"]


class CacheSize(NamedTuple):
    entries: int
    bytes: int | None = None
    """What the entries weigh by the cache's byte bound; None for a cache bounded by count only."""
    hits: int | None = None
    """Lookups answered from the cache since the worker started (None: not counted)."""
    misses: int | None = None
    """Lookups that had to make their value since the worker started (None: not counted)."""


SizeReader = Callable[[], CacheSize]
T = TypeVar("T")

CACHE_ENTRIES = Gauge(
    "antin_cache_entries", "Entries a bounded cache of this worker holds", ["cache"], multiprocess_mode="liveall"
)
CACHE_BYTES = Gauge(
    "antin_cache_bytes",
    "Bytes the entries of a byte-bounded cache of this worker weigh (the verifier's: the DER they were parsed from)",
    ["cache"],
    multiprocess_mode="liveall",
)

CACHE_HITS = Gauge(
    "antin_cache_hits",
    "Lookups a cache of this worker answered since it started",
    ["cache"],
    multiprocess_mode="liveall",
)
CACHE_MISSES = Gauge(
    "antin_cache_misses",
    "Lookups a cache of this worker could not answer (its value made, then kept if it fits) since it started",
    ["cache"],
    multiprocess_mode="liveall",
)

_readers: dict[str, SizeReader] = {}
_owners: dict[str, list[tuple[weakref.ref[Any], Callable[[object], CacheSize]]]] = {}
_lock = threading.Lock()


def register_cache(name: str, size: SizeReader) -> None:
    """Count the cache ``name`` (``verifier-ocsp``…) by ``size``; a second registration under a name replaces the
    first (the newest instance of a per-app cache is the one serving)."""
    with _lock:
        _readers[name] = size


def register_instance_cache(name: str, owner: T, size: Callable[[T], CacheSize]) -> None:
    """Count a cache held by ``owner`` (an object of a feature) without keeping ``owner`` alive. Several owners
    under one name (an app may build two verifiers of access tokens, each with its revocation answers) are summed;
    one that is gone counts no more."""
    ref = weakref.ref(owner)
    with _lock:
        owners = _owners.setdefault(name, [])
        owners[:] = [(r, read) for r, read in owners if r() is not None]
        owners.append((ref, cast("Callable[[object], CacheSize]", size)))

        def read() -> CacheSize:
            with _lock:
                alive = [(o, read) for r, read in _owners.get(name, []) if (o := r()) is not None]
            sizes = [read(o) for o, read in alive]
            return CacheSize(
                sum(s.entries for s in sizes),
                _sum_or_none([s.bytes for s in sizes]),
                _sum_or_none([s.hits for s in sizes]),
                _sum_or_none([s.misses for s in sizes]),
            )

        _readers[name] = read


def _sum_or_none(values: list[int | None]) -> int | None:
    counted = [v for v in values if v is not None]
    return sum(counted) if counted else None


def cache_sizes() -> dict[str, CacheSize]:
    """Each registered cache's size now (a cache whose reader fails is left out)."""
    with _lock:
        readers = dict(_readers)
    sizes: dict[str, CacheSize] = {}
    for name, read in readers.items():
        try:
            sizes[name] = read()
        except Exception:  # noqa: S112 - a cache we cannot count is no reason to fail the round or a scrape
            continue
    return sizes


def publish_cache_sizes() -> dict[str, CacheSize]:
    """Set ``antin_cache_entries`` and ``antin_cache_bytes`` for this process from every registered cache."""
    sizes = cache_sizes()
    for name, size in sizes.items():
        CACHE_ENTRIES.labels(name).set(size.entries)
        if size.bytes is not None:
            CACHE_BYTES.labels(name).set(size.bytes)
        if size.hits is not None:
            CACHE_HITS.labels(name).set(size.hits)
        if size.misses is not None:
            CACHE_MISSES.labels(name).set(size.misses)
    return sizes
