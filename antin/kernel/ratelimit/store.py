"""Where rate-limit counters and concurrency leases live: Redis when configured (shared by every worker and host),
the database otherwise. Every check-and-count is one atomic step: one SQL statement, or one Redis transaction or
script, so that parallel requests cannot slip between a check and its count.
"""

from __future__ import annotations

import math
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from antin.kernel.database import Database, table_of
from antin.kernel.ratelimit.models import ConcurrencyLease, RateWindow

__all__ = ["DatabaseLimitStore", "LimitStore", "RedisLimitStore"]


class LimitStore(Protocol):
    def hit(self, key: str, window_seconds: int, *, now: float | None = None) -> tuple[int, float]:
        """Count one request of ``key`` in the current fixed window; its count so far and the window's end."""
        ...

    def acquire(self, gate: str, capacity: int, lease_seconds: int) -> str | None:
        """Take one of ``capacity`` slots of ``gate``: a token to release it with, or None when all are held."""
        ...

    def release(self, gate: str, token: str) -> None: ...


def _window(window_seconds: int, now: float) -> tuple[int, float]:
    number = math.floor(now / window_seconds)
    return number, (number + 1) * window_seconds


class DatabaseLimitStore:
    """Counters and leases in two small tables, each change one ``INSERT … ON CONFLICT`` (SQLite ≥ 3.35, PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._insert: Any = sqlite.insert if database.is_sqlite else postgresql.insert
        self._windows = table_of(RateWindow)
        self._leases = table_of(ConcurrencyLease)

    def hit(self, key: str, window_seconds: int, *, now: float | None = None) -> tuple[int, float]:
        current = time.time() if now is None else now
        number, ends = _window(window_seconds, current)
        expires = datetime.fromtimestamp(ends, UTC)
        table = self._windows
        statement = (
            self._insert(table)
            .values(key=f"{key}:{number}", hits=1, expires_at=expires)
            .on_conflict_do_update(index_elements=[table.c.key], set_={"hits": table.c.hits + 1})
            .returning(table.c.hits)
        )
        with self._db.transaction() as conn:
            hits = int(conn.execute(statement).scalar_one())
        if hits == 1:  # a new window: forget the finished ones
            with self._db.transaction() as conn:
                conn.execute(delete(table).where(table.c.expires_at < datetime.fromtimestamp(current, UTC)))
        return hits, ends

    def acquire(self, gate: str, capacity: int, lease_seconds: int) -> str | None:
        now = datetime.now(UTC)
        holder = secrets.token_hex(8)
        table = self._leases
        for slot in range(capacity):
            # takes the slot when it is free or its lease ran out (a worker that died holding it)
            statement = (
                self._insert(table)
                .values(gate=gate, slot=slot, holder=holder, expires_at=now + timedelta(seconds=lease_seconds))
                .on_conflict_do_update(
                    index_elements=[table.c.gate, table.c.slot],
                    set_={"holder": holder, "expires_at": now + timedelta(seconds=lease_seconds)},
                    where=table.c.expires_at < now,
                )
                .returning(table.c.slot)
            )
            with self._db.transaction() as conn:
                if conn.execute(statement).first() is not None:
                    return f"{slot}:{holder}"
        return None

    def release(self, gate: str, token: str) -> None:
        slot, _, holder = token.partition(":")
        table = self._leases
        with self._db.transaction() as conn:
            conn.execute(delete(table).where(table.c.gate == gate, table.c.slot == int(slot), table.c.holder == holder))


# Drop the leases that ran out, then take a slot if one is left: KEYS[1] the gate's sorted set (member: holder,
# score: lease end); ARGV now, capacity, lease end, holder, key lifetime.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


class RedisLimitStore:
    """Counters as keys that expire with their window; each gate a sorted set of leases."""

    def __init__(self, url: str) -> None:
        from antin.kernel.redis_client import redis_client  # redis-py loads only where Redis is configured

        self._redis = redis_client(url, socket_timeout=2, socket_connect_timeout=2)
        self._acquire = self._redis.register_script(_ACQUIRE)

    def hit(self, key: str, window_seconds: int, *, now: float | None = None) -> tuple[int, float]:
        current = time.time() if now is None else now
        number, ends = _window(window_seconds, current)
        name = f"antin:rate:{key}:{number}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, window_seconds + 1)
        hits, _ = pipe.execute()
        return int(hits), ends

    def acquire(self, gate: str, capacity: int, lease_seconds: int) -> str | None:
        now = time.time()
        holder = secrets.token_hex(8)
        taken = self._acquire(
            keys=[f"antin:gate:{gate}"], args=[now, capacity, now + lease_seconds, holder, lease_seconds + 1]
        )
        return holder if int(taken) == 1 else None

    def release(self, gate: str, token: str) -> None:
        self._redis.zrem(f"antin:gate:{gate}", token)

    def close(self) -> None:
        self._redis.close()
