"""Rate limits per client and concurrency caps for expensive public endpoints (the verification page and API).

A rate limit counts a client's requests in fixed windows (``limit`` per ``window_seconds``) and refuses the rest
with the seconds left in the window. A gate lets at most ``capacity`` requests run at once on one host, across all
of its worker processes, and refuses the others at once (nothing queues): each running request holds a lease that
it releases when done, and that runs out by itself if its worker dies. Both live in Redis when
``ANTIN_REDIS_URL`` is set (every worker of every host shares them), in the database otherwise. When the store
cannot be reached the request is refused as busy (503, never a 500): the protection does not silently lapse.
"""

from __future__ import annotations

import hashlib
import logging
import math
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from antin.kernel.instance import Instance
from antin.kernel.ratelimit.store import DatabaseLimitStore, LimitStore, RedisLimitStore

__all__ = ["BusyError", "DatabaseLimitStore", "Limiter", "RateLimitedError", "RedisLimitStore", "limiter_for"]

log = logging.getLogger("antin.ratelimit")
STORE_DOWN_RETRY_SECONDS = 30


class RateLimitedError(Exception):
    """The client made too many requests; it may try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limited; retry after {retry_after} s")


class BusyError(Exception):
    """Every slot of the gate is taken; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"busy; retry after {retry_after} s")


def _digest(value: str) -> str:
    # no client addresses in clear in Redis or the table
    return hashlib.sha256(value.encode()).hexdigest()[:40]


class Limiter:
    def __init__(
        self, store: LimitStore, *, host: str | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.store = store
        self.host = host or socket.gethostname()
        self.clock = clock

    def check_rate(self, scope: str, client: str, limit: int, window_seconds: int, *, now: float | None = None) -> None:
        """Count this request of ``client``; raise :class:`RateLimitedError` past ``limit`` in the window."""
        current = now if now is not None else self._now()
        try:
            hits, ends = self.store.hit(f"{scope}:{_digest(client)}", window_seconds, now=current)
        except Exception as err:
            log.error("rate-limit store unreachable: %s", type(err).__name__)
            raise BusyError(STORE_DOWN_RETRY_SECONDS) from err
        if hits > limit:
            raise RateLimitedError(max(1, math.ceil(ends - current)))

    def _now(self) -> float:
        return self.clock().timestamp() if self.clock is not None else time.time()

    @contextmanager
    def gate(self, name: str, capacity: int, lease_seconds: int, *, retry_after: int = 5) -> Iterator[None]:
        """Run the block in one of ``capacity`` slots of this host's gate ``name``, or raise :class:`BusyError`."""
        gate = f"{name}@{self.host}"
        try:
            token = self.store.acquire(gate, capacity, lease_seconds)
        except Exception as err:
            log.error("concurrency store unreachable: %s", type(err).__name__)
            raise BusyError(STORE_DOWN_RETRY_SECONDS) from err
        if token is None:
            raise BusyError(retry_after)
        try:
            yield
        finally:
            try:
                self.store.release(gate, token)
            except Exception as err:  # the lease runs out by itself
                log.error("could not release a %s lease: %s", gate, type(err).__name__)

    def close(self) -> None:
        closer = getattr(self.store, "close", None)
        if callable(closer):
            closer()


def limiter_for(instance: Instance) -> Limiter:
    """The instance's limiter, built on first use from ``ANTIN_REDIS_URL`` (or the database)."""
    return instance.service("antin.ratelimit", _build_limiter)


def _build_limiter(instance: Instance) -> Limiter:
    url = instance.settings.redis.url
    store: LimitStore = RedisLimitStore(url) if url else DatabaseLimitStore(instance.database)
    return Limiter(store, clock=instance.clock)
