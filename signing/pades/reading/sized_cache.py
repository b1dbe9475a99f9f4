"""A least-recently-used cache bounded by the bytes its entries weigh as well as by their count.

``functools.lru_cache`` bounds a cache by count only: 128 CRLs of 500 KB each, parsed, hold gigabytes. Here
every entry has a weight (the DER bytes it was parsed from) and the cache drops its oldest entries until both its
count and its weight fit; an entry heavier than a fraction of the whole is never kept (the caller's value is
still returned). Shared by a worker's threads: one lock around every read and change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from antin.kernel.caches import CacheSize

__all__ = ["SizedLRU"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedLRU(Generic[K, V]):
    """At most ``max_entries`` values weighing ``max_bytes`` together; no single entry over ``max_entry_bytes``."""

    def __init__(self, max_entries: int, max_bytes: int, max_entry_bytes: int | None = None) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("a cache needs room for at least one entry and one byte")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes if max_entry_bytes is None else min(max_entry_bytes, max_bytes)
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        """Lookups answered from the cache, and lookups that had to make their value (since made or cleared)."""

    def get_or_make(self, key: K, weight: int, make: Callable[[], V]) -> V:
        """The value cached under ``key``, else ``make()``'s, kept when its ``weight`` fits.

        ``make`` runs outside the lock (parsing may take long); two threads may both make a missing value, and
        the first one stored wins. An exception from ``make`` is not cached.
        """
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self.hits += 1
                self._entries.move_to_end(key)
                return found[0]
            self.misses += 1
        value = make()
        if weight > self.max_entry_bytes:
            return value
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
            self._entries[key] = (value, weight)
            self._weight += weight
            while len(self._entries) > self.max_entries or self._weight > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def size(self) -> CacheSize:
        """Entries, weight, hits and misses now (for ``antin_cache_*`` in ``/metrics``)."""
        return CacheSize(len(self._entries), self._weight, self.hits, self.misses)

    @property
    def weight(self) -> int:
        """The bytes the cached entries weigh together."""
        return self._weight
