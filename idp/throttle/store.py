"""Where failure counters live: Redis when configured (shared by every worker and host), the database otherwise."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from idp.database import Database, utcnow
from idp.throttle.models import ThrottleCounter

__all__ = ["Counter", "DatabaseThrottleStore", "RedisThrottleStore", "ThrottleStore"]


class Counter(Protocol):
    failures: int
    last_failure: float  # epoch seconds


class _Counter:
    def __init__(self, failures: int, last_failure: float) -> None:
        self.failures = failures
        self.last_failure = last_failure


class ThrottleStore(Protocol):
    def get(self, key: str) -> Counter | None: ...

    def add_failure(self, key: str, forget_after: int) -> Counter: ...

    def reset(self, key: str) -> None: ...


class DatabaseThrottleStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    def get(self, key: str) -> Counter | None:
        with self._db.session() as s:
            row = s.get(ThrottleCounter, key)
            if row is None:
                return None
            return _Counter(row.failures, row.last_failure_at.timestamp())

    def add_failure(self, key: str, forget_after: int) -> Counter:
        now = utcnow()
        for _attempt in range(3):
            try:
                with self._db.session() as s:
                    s.execute(
                        delete(ThrottleCounter).where(
                            ThrottleCounter.last_failure_at < now - timedelta(seconds=forget_after)
                        )
                    )
                    row = s.scalar(select(ThrottleCounter).where(ThrottleCounter.key == key).with_for_update())
                    if row is None:
                        row = ThrottleCounter(key=key, failures=0, last_failure_at=now)
                        s.add(row)
                    row.failures += 1
                    row.last_failure_at = now
                    return _Counter(row.failures, now.timestamp())
            except IntegrityError:
                continue  # another worker created the row first: count again on top of it
        return _Counter(1, now.timestamp())

    def reset(self, key: str) -> None:
        with self._db.session() as s:
            s.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))


class RedisThrottleStore:
    """Counters as Redis hashes that expire by themselves."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def get(self, key: str) -> Counter | None:
        values = self._redis.hgetall(f"antin:throttle:{key}")
        if not values:
            return None
        return _Counter(int(values.get(b"failures", 0)), float(values.get(b"last", 0)))

    def add_failure(self, key: str, forget_after: int) -> Counter:
        name = f"antin:throttle:{key}"
        now = time.time()
        pipe = self._redis.pipeline()
        pipe.hincrby(name, "failures", 1)
        pipe.hset(name, "last", str(now))
        pipe.expire(name, forget_after)
        failures, _set, _exp = pipe.execute()
        return _Counter(int(failures), now)

    def reset(self, key: str) -> None:
        self._redis.delete(f"antin:throttle:{key}")

    def close(self) -> None:
        self._redis.close()
