"""Where the throttle's budgets live: Redis when configured (shared by every worker and host), the database otherwise.

Each store does the check and the count in ONE atomic step (:meth:`ThrottleStore.take`): a Lua script in Redis,
one ``INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING`` in SQL. Parallel requests therefore cannot all pass
a check made before any of them is counted: each attempt either takes a place in the budget or is refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import CTE, and_, case, delete, exists, literal, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement

from antin.kernel.database import Database, table_of
from idp.throttle.errors import ThrottleUnavailableError
from idp.throttle.models import ThrottleCounter

__all__ = [
    "Budget",
    "Counter",
    "DatabaseThrottleStore",
    "RedisThrottleStore",
    "Take",
    "ThrottleStore",
    "take_each_in_turn",
]

UNLIMITED = 2**31 - 1
CLEAN_EVERY = 64  # SQL: forgotten rows are deleted every this many takes


@dataclass(frozen=True)
class Budget:
    """How many attempts a key allows, and how the next one is spaced out."""

    window: float
    """Seconds after the last counted attempt when the count is forgotten."""
    limit: int | None = None
    """Attempts counted within the window before every further one is refused; None: no cap."""
    delay_after: int | None = None
    """From this many attempts on, each further one waits 1, 2, 4… seconds; None: never."""
    max_delay: float = 0.0
    """The longest wait between two attempts."""

    def delay(self, attempts: int) -> float:
        """The wait imposed after the ``attempts``-th counted attempt."""
        if self.delay_after is None or attempts < self.delay_after:
            return 0.0
        return float(min(2 ** min(attempts - self.delay_after, 62), self.max_delay))


@dataclass(frozen=True)
class Take:
    allowed: bool
    attempts: int  # counted in the window, this one included when allowed
    retry_after: float = 0.0  # seconds until the budget admits again, when refused


@dataclass(frozen=True)
class Counter:
    attempts: int
    blocked_until: float  # epoch seconds
    expires_at: float  # epoch seconds


class ThrottleStore(Protocol):
    def take(self, key: str, budget: Budget, now: float) -> Take:
        """Atomically: refuse when the budget is spent or the delay runs, else count one more attempt."""
        ...

    def take_each(self, plan: Sequence[tuple[str, Budget]], now: float) -> Take:
        """:meth:`take` each budget of ``plan`` in order; at the first refusal, :meth:`give_back` the places taken
        before it and return that refusal (else the last take). In one round trip where the store allows (Redis:
        one script; PostgreSQL: one statement; issue 13: a sign-in's statements)."""
        ...

    def give_back(self, key: str) -> None:
        """Uncount one attempt that turned out not to be a failure (its delay stays)."""
        ...

    def clear(self, key: str) -> None:
        """Forget the key."""
        ...

    def settle(self, give_back: Sequence[str], clear: Sequence[str]) -> None:
        """:meth:`give_back` each key of ``give_back`` and :meth:`clear` each of ``clear`` (keys distinct), in one
        round trip: how an attempt is settled once the directory answered (issue 13: a sign-in's statements)."""
        ...

    def get(self, key: str) -> Counter | None:
        """The key's counter as stored (tests, inspection)."""
        ...


@contextmanager
def _unavailable_as_error() -> Iterator[None]:
    """Database and Redis errors as ThrottleUnavailableError (a clear 503 upstream, never a 500)."""
    import redis

    try:
        yield
    except (SQLAlchemyError, redis.RedisError) as err:
        raise ThrottleUnavailableError(type(getattr(err, "orig", None) or err).__name__) from err


def _check_distinct(give_back: Sequence[str], clear: Sequence[str]) -> None:
    if set(give_back) & set(clear):
        raise ValueError("a key is either given back or cleared")


def take_each_in_turn(store: ThrottleStore, plan: Sequence[tuple[str, Budget]], now: float) -> Take:
    """:meth:`ThrottleStore.take_each` as one :meth:`~ThrottleStore.take` per budget (SQL: one statement each)."""
    taken: list[str] = []
    took = Take(True, 0)
    for key, budget in plan:
        took = store.take(key, budget, now)
        if not took.allowed:
            for counted in taken:  # no bind happens: only the delays this attempt caused remain
                store.give_back(counted)
            return took
        taken.append(key)
    return took


def _refusal(counter: Counter | None, budget: Budget, now: float) -> Take:
    if counter is None:  # forgotten between the refusal and this read: try again at once
        return Take(False, 0, 0.0)
    wait = counter.blocked_until - now
    if counter.attempts >= (budget.limit or UNLIMITED):
        wait = max(wait, counter.expires_at - now)
    return Take(False, counter.attempts, max(wait, 0.0))


NOT_BLOCKED = 0.0  # "blocked until" of a counter with no delay running


class DatabaseThrottleStore:
    """Budgets as rows of ``throttle_counter``; SQLite and PostgreSQL (both have ON CONFLICT and RETURNING)."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._table = table_of(ThrottleCounter)
        self._takes = 0

    def _blocked_until(self, attempts: ColumnElement[Any], budget: Budget, now: float) -> ColumnElement[Any]:
        """``now`` plus the delay for ``attempts``, as a CASE over the few values the doubling can take; 0 (never
        blocked) while there is no delay, so that a concurrent attempt stamped a moment earlier is not refused."""
        if budget.delay_after is None or budget.max_delay <= 0:
            return literal(NOT_BLOCKED)
        first = budget.delay_after
        doublings = max(0, math.ceil(math.log2(budget.max_delay))) if budget.max_delay >= 1 else 0
        whens: list[tuple[ColumnElement[bool], float]] = [(attempts < first, NOT_BLOCKED)]
        whens += [(attempts == first + i, now + budget.delay(first + i)) for i in range(doublings + 1)]
        return case(*whens, else_=now + budget.max_delay)

    def _upsert(self, key: str, budget: Budget, now: float, *, after: CTE | None = None) -> Any:
        """Take a place in ``key``'s budget: one ``INSERT … ON CONFLICT DO UPDATE … WHERE`` whose check is its
        ``WHERE`` (a refused attempt updates nothing and returns no row). With ``after`` (PostgreSQL), only when
        that earlier take of the same statement returned its row."""
        t = self._table
        limit = budget.limit if budget.limit is not None else UNLIMITED
        forgotten = t.c.expires_at <= now
        attempts = case((forgotten, 1), else_=t.c.attempts + 1)
        first_delay = budget.delay(1)
        blocked = now + first_delay if first_delay > 0 else NOT_BLOCKED
        values = {"key": key, "attempts": 1, "blocked_until": blocked, "expires_at": now + budget.window}
        changes = {
            "attempts": attempts,
            "blocked_until": self._blocked_until(attempts, budget, now),
            "expires_at": now + budget.window,
        }
        admits = or_(forgotten, and_(t.c.attempts < limit, t.c.blocked_until <= now))
        if self._db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return (
                sqlite_insert(t)
                .values(values)
                .on_conflict_do_update(index_elements=[t.c.key], set_=changes, where=admits)
                .returning(t.c.attempts)
            )
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        insert = postgresql_insert(t)
        if after is None:
            insert = insert.values(values)
        else:
            row = select(*(literal(v, type_=t.c[k].type) for k, v in values.items())).where(exists(select(after)))
            insert = insert.from_select(list(values), row)
        return insert.on_conflict_do_update(index_elements=[t.c.key], set_=changes, where=admits).returning(
            t.c.attempts
        )

    def take(self, key: str, budget: Budget, now: float) -> Take:
        statement: Executable = self._upsert(key, budget, now)
        # each write here is one atomic statement (the upsert's check is its WHERE; the occasional clean-up may run
        # on its own): on PostgreSQL no BEGIN and COMMIT round trips, twelve statements a sign-in (issue 13, item 5)
        with _unavailable_as_error(), self._db.one_write() as conn:
            counted = conn.execute(statement).scalar()
            self._sweep_now_and_then(conn, now)
        if counted is not None:
            return Take(True, int(counted))
        return _refusal(self.get(key), budget, now)

    def _sweep_now_and_then(self, conn: Any, now: float) -> None:
        self._takes += 1
        if self._takes % CLEAN_EVERY == 0:
            conn.execute(delete(self._table).where(self._table.c.expires_at < now))

    def take_each(self, plan: Sequence[tuple[str, Budget]], now: float) -> Take:
        """SQLite: one take after the other. PostgreSQL: every take in one statement, each a data-modifying ``WITH``
        part that runs only when the one before it returned its row, so the first refusal stops the rest as
        :func:`take_each_in_turn` does; the places taken before it are given back (a second statement, on refusal
        only)."""
        if self._db.is_sqlite or len(plan) < 2 or len({key for key, _budget in plan}) < len(plan):
            # (the parts of one statement see one snapshot: a key twice would not see its own first take)
            return take_each_in_turn(self, plan, now)
        parts: list[CTE] = []
        for i, (key, budget) in enumerate(plan):
            parts.append(self._upsert(key, budget, now, after=parts[-1] if parts else None).cte(f"take_{i}"))
        statement = select(*(select(part.c.attempts).scalar_subquery() for part in parts))
        with _unavailable_as_error(), self._db.one_write() as conn:
            counted = conn.execute(statement).one()
            self._sweep_now_and_then(conn, now)
        for i, (key, budget) in enumerate(plan):
            if counted[i] is None:  # refused here: no bind happens, only the delays this attempt caused remain
                if i:
                    self.settle([k for k, _budget in plan[:i]], [])
                return _refusal(self.get(key), budget, now)
        return Take(True, int(counted[-1]))

    def give_back(self, key: str) -> None:
        t = self._table
        with _unavailable_as_error(), self._db.one_write() as conn:
            conn.execute(update(t).where(t.c.key == key, t.c.attempts > 0).values(attempts=t.c.attempts - 1))

    def clear(self, key: str) -> None:
        with _unavailable_as_error(), self._db.one_write() as conn:
            conn.execute(delete(self._table).where(self._table.c.key == key))

    def settle(self, give_back: Sequence[str], clear: Sequence[str]) -> None:
        _check_distinct(give_back, clear)
        t = self._table
        give = update(t).where(t.c.key.in_(give_back), t.c.attempts > 0).values(attempts=t.c.attempts - 1)
        forget = delete(t).where(t.c.key.in_(clear))
        with _unavailable_as_error(), self._db.one_write() as conn:
            if give_back and clear and not self._db.is_sqlite:
                # one statement, atomic: the UPDATE runs as a data-modifying WITH whatever the DELETE reads
                conn.execute(forget.add_cte(give.returning(t.c.key).cte("given")))
                return
            if give_back:  # SQLite (no writes in a WITH): both in the one transaction
                conn.execute(give)
            if clear:
                conn.execute(forget)

    def get(self, key: str) -> Counter | None:
        t = self._table
        with self._db.reading() as s:
            row = s.execute(select(t.c.attempts, t.c.blocked_until, t.c.expires_at).where(t.c.key == key)).first()
        return None if row is None else Counter(int(row[0]), float(row[1]), float(row[2]))


# take(key, now, window, limit, delay_after (-1: none), max_delay) -> {allowed, attempts, wait}
_TAKE_FUNCTION = """
local function exact(x) return string.format('%.17g', x) end  -- tostring keeps 14 digits: it rounds times up
local function take(key, now, window, limit, delay_after, max_delay)
  local v = redis.call('HMGET', key, 'attempts', 'blocked', 'expires')
  local attempts, blocked, expires = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
  if expires <= now then attempts, blocked = 0, 0 end
  if attempts >= limit or blocked > now then
    local wait = blocked - now
    if attempts >= limit and expires - now > wait then wait = expires - now end
    return {0, attempts, exact(wait)}
  end
  attempts = attempts + 1
  local delay = 0
  if delay_after >= 0 and attempts >= delay_after then delay = math.min(2 ^ (attempts - delay_after), max_delay) end
  local blocked_at = 0  -- never blocked while there is no delay: a concurrent take stamped earlier stays admitted
  if delay > 0 then blocked_at = now + delay end
  redis.call('HSET', key, 'attempts', attempts, 'blocked', exact(blocked_at), 'expires', exact(now + window))
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  return {1, attempts, '0'}
end
"""
# KEYS[1]: the counter; ARGV: now, window, limit, delay_after, max_delay. Returns allowed, attempts, wait.
_TAKE = (
    _TAKE_FUNCTION
    + """
return take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
"""
)
# KEYS: the counters in order; ARGV: now, then window, limit, delay_after, max_delay of each. The first refusal gives
# back the places taken before it (their delays stay) and is returned; else the last take.
_TAKE_EACH = (
    _TAKE_FUNCTION
    + """
local now, result = tonumber(ARGV[1]), {1, 0, '0'}
for i = 1, #KEYS do
  local a = 2 + (i - 1) * 4
  result = take(KEYS[i], now, tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]))
  if result[1] == 0 then
    for j = 1, i - 1 do
      local attempts = tonumber(redis.call('HGET', KEYS[j], 'attempts') or '0') or 0
      if attempts > 0 then redis.call('HINCRBY', KEYS[j], 'attempts', -1) end
    end
    return result
  end
end
return result
"""
)

_GIVE_BACK = """
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') or 0
if attempts > 0 then redis.call('HINCRBY', KEYS[1], 'attempts', -1) end
return attempts
"""

# KEYS: the counters to give back one attempt (ARGV[1] of them), then the counters to forget.
_SETTLE = """
local n = tonumber(ARGV[1])
for i = 1, n do
  local attempts = tonumber(redis.call('HGET', KEYS[i], 'attempts') or '0') or 0
  if attempts > 0 then redis.call('HINCRBY', KEYS[i], 'attempts', -1) end
end
if #KEYS > n then redis.call('DEL', unpack(KEYS, n + 1)) end
return n
"""


def _script_args(budget: Budget) -> list[str | int]:
    """A budget as the scripts read it: window, limit, delay_after (-1: none), max_delay."""
    delay_after = -1 if budget.delay_after is None else budget.delay_after
    limit = budget.limit if budget.limit is not None else UNLIMITED
    return [repr(float(budget.window)), limit, delay_after, repr(float(budget.max_delay))]


class RedisThrottleStore:
    """Budgets as Redis hashes, taken by a Lua script (atomic on the server), expiring by themselves."""

    PREFIX = "antin:throttle:"

    def __init__(self, url: str) -> None:
        from antin.kernel.redis_client import redis_client  # redis-py loads only where Redis is configured

        self._redis = redis_client(url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self._redis.register_script(_TAKE)
        self._take_each = self._redis.register_script(_TAKE_EACH)
        self._settle = self._redis.register_script(_SETTLE)
        self._give_back = self._redis.register_script(_GIVE_BACK)

    def take(self, key: str, budget: Budget, now: float) -> Take:
        with _unavailable_as_error():
            allowed, attempts, wait = self._take(keys=[self.PREFIX + key], args=[repr(now), *_script_args(budget)])
        return Take(bool(allowed), int(attempts), max(float(wait), 0.0))

    def take_each(self, plan: Sequence[tuple[str, Budget]], now: float) -> Take:
        keys = [self.PREFIX + key for key, _budget in plan]
        args: list[str | int] = [repr(now)]
        for _key, budget in plan:
            args += _script_args(budget)
        with _unavailable_as_error():
            allowed, attempts, wait = self._take_each(keys=keys, args=args)
        return Take(bool(allowed), int(attempts), max(float(wait), 0.0))

    def give_back(self, key: str) -> None:
        with _unavailable_as_error():
            self._give_back(keys=[self.PREFIX + key])

    def clear(self, key: str) -> None:
        with _unavailable_as_error():
            self._redis.delete(self.PREFIX + key)

    def settle(self, give_back: Sequence[str], clear: Sequence[str]) -> None:
        _check_distinct(give_back, clear)
        if not give_back and not clear:
            return
        keys = [self.PREFIX + key for key in (*give_back, *clear)]
        with _unavailable_as_error():  # one script, one round trip (a pipeline of scripts asks SCRIPT EXISTS first)
            self._settle(keys=keys, args=[len(give_back)])

    def get(self, key: str) -> Counter | None:
        values = self._redis.hgetall(self.PREFIX + key)
        if not values:
            return None
        return Counter(int(values[b"attempts"]), float(values[b"blocked"]), float(values[b"expires"]))

    def close(self) -> None:
        self._redis.close()
