"""Statements on the PostgreSQL driver directly (psycopg 3), for the few hot paths where SQLAlchemy's own work
per statement (compiling the cache key, the execution context, the result's processors: ~75–150 µs of CPU) costs
more than the statement itself (~30 µs).

Each thread keeps one connection of the engine's pool checked out, in autocommit (each statement atomic on its
own, no BEGIN and COMMIT round trips), and one cursor on it, so a statement costs neither a checkout, nor the
autocommit switch on and off, nor a new cursor's set-up (:class:`_Held`); a statement answering one number runs
through libpq itself (:meth:`Driver.count`: the audit entry of every client_credentials grant).
What the pool does at a checkout is done again where a kept connection needs it: pinged when it
sat idle past the pool's own threshold (after a restart or a failover the next request reconnects instead of
failing), replaced past ``pool_recycle`` or once the pool was invalidated (a disconnect seen by any thread) or
disposed; given back to the pool, out of autocommit, when its thread ends; closed by :meth:`Driver.dispose`;
let go of, never closed, in a forked child (the parent's socket). At most ``pool_size`` threads keep one: the others
check a connection out per statement. Statements are prepared on the server at their first use on a connection.
Failures are raised as SQLAlchemy's exception types (``OperationalError`` when the database is away,
``IntegrityError``…), so the code and the error handlers that catch those (a 503 with ``Retry-After``) need not
know which path ran. The only importer of psycopg.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.generators import execute as pq_execute
from psycopg.pq import ExecStatus
from psycopg.rows import namedtuple_row
from psycopg.types.json import Json
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.pool import Pool
from sqlalchemy.sql.expression import Executable

__all__ = ["Driver", "in_utc", "json_param"]

StatementObserver = Callable[[str], None]


def in_utc(dbapi_conn: Any, _record: Any) -> None:
    """A new connection's session runs in UTC, so times read on the driver's path come back as SQLAlchemy's
    ``UtcDateTime`` returns them (a ``SET`` when the connection opens rather than a startup ``options`` parameter,
    which connection poolers such as PgBouncer refuse)."""
    dbapi_conn.execute("SET TIME ZONE 'UTC'")
    dbapi_conn.commit()


def json_param(value: Any) -> Json:
    """A value for a ``json`` column (psycopg would otherwise send a list as an array)."""
    return Json(value)


class _Held:
    """One thread's connection, checked out of the pool and kept in autocommit between statements."""

    __slots__ = (
        "__weakref__",
        "conn",
        "cursor",
        "engine",
        "forgotten",
        "holders",
        "holders_lock",
        "last_used_key",
        "lock",
        "pool",
        "pooled",
        "prepared",
        "stale_at",
        "started",
        "used_at",
    )

    def __init__(self, driver: Driver, pooled: Any, pool: Pool) -> None:
        # the engine and the driver's register, not the driver: a cycle would leave this to the garbage collector,
        # whose __del__ may run in any thread at any moment (the pool's lock held)
        self.engine = driver._engine
        self.holders, self.holders_lock = driver._holders, driver._holders_lock
        self.last_used_key = driver.last_used_key
        self.pooled = pooled
        self.conn: psycopg.Connection[Any] = pooled.driver_connection
        # one cursor for the thread's statements: a new one per statement cost its setup and the adapters' look-up
        self.cursor: psycopg.Cursor[Any] | None = None
        self.prepared: set[bytes] = set()  # the statements Driver.count prepared on this connection
        self.pool = pool
        record = pooled._connection_record
        self.started: float = record.starttime  # what the pool's invalidation and recycling compare
        recycle = pool._recycle
        self.stale_at = self.started + recycle if recycle >= 0 else float("inf")
        self.used_at = time.monotonic()
        self.lock = threading.RLock()  # held while a statement runs, so dispose() never closes it under one
        self.forgotten = False

    def give_back(self, *, close: bool) -> None:
        """To the pool out of autocommit (what SQLAlchemy expects of a pooled connection), or closed."""
        if self.forgotten:
            return
        self.forgotten = True
        with self.holders_lock:
            self.holders.discard(self)
        try:
            if not self.pooled.is_valid:
                pass  # invalidated already (the pool's disconnect handling): closed, its record renewed
            elif close or self.conn.broken or self.conn.closed or self.pool is not self.engine.pool or self.stale:
                self.pooled.invalidate()
            else:
                self.conn.autocommit = False
                self.pooled.info[self.last_used_key] = self.used_at  # so the pool pings it if it sat idle here
            self.pooled.close()
        except Exception:  # a connection that cannot be given back is dropped
            with contextlib.suppress(Exception):
                self.pooled.invalidate()

    @property
    def stale(self) -> bool:
        """Past ``pool_recycle``, or marked by :meth:`Driver.dispose` while in a statement."""
        return time.time() >= self.stale_at

    def __del__(self) -> None:
        # the thread ended (its locals are cleared) or the driver replaced it: back to the pool, not leaked
        self.give_back(close=False)


class Driver:
    """Run a hot path's statements on psycopg, over the pool of ``engine`` (a PostgreSQL engine)."""

    def __init__(self, engine: Engine, *, ping_after_idle: float, last_used_key: str) -> None:
        """``ping_after_idle``: the pool's threshold for testing a connection before use; ``last_used_key``: the key
        of a pooled connection's ``info`` under which a kept connection given back says when it was last used (the
        pool's checkin then counts its idle time from there)."""
        self._engine = engine
        self.ping_after_idle = ping_after_idle
        self.last_used_key = last_used_key
        # called with each statement's text before it runs: what the benchmarks count (SQLAlchemy's own
        # ``before_cursor_execute`` does not see these statements)
        self.observers: list[StatementObserver] = []
        self._compiled: dict[Executable, str] = {}
        self._numbered: dict[str, _Numbered] = {}
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._holders_lock = threading.RLock()
        # threads that may keep a connection: the pool's size, so the rest of the pool's room (its overflow)
        # stays for SQLAlchemy's sessions and the threads beyond it
        self.most_held: int = getattr(engine.pool, "size", lambda: 0)()
        _DRIVERS.add(self)

    @property
    def held(self) -> int:
        """Connections kept by threads now."""
        return len(self._holders)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in autocommit for one or a few single-statement writes and reads: this thread's own."""
        held = self._holder()
        if held is None:
            with self._checked_out() as conn:
                yield conn
            return
        with held.lock:
            try:
                yield held.conn
            finally:
                self._after_statement(held)

    def _after_statement(self, held: _Held) -> None:
        """A held connection after a statement: its use marked; given up when the server or the network broke it."""
        held.used_at = time.monotonic()
        if held.conn.broken or held.conn.closed:
            self._local.held = None
            self._lost(held.pooled)
            held.give_back(close=True)

    def _holder(self) -> _Held | None:
        """This thread's connection, checked again as the pool would at a checkout; None past ``most_held``."""
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None:
            pool = self._engine.pool
            if (
                held.pool is pool
                and not held.forgotten
                and pool._invalidate_time <= held.started
                and time.monotonic() - held.used_at < self.ping_after_idle
                and time.time() < held.stale_at
            ):
                return held
            return self._renewed(held)
        if len(self._holders) >= self.most_held:
            return None
        return self._take()

    def _renewed(self, held: _Held) -> _Held | None:
        """A held connection that sat idle is pinged (kept if alive); one recycled, invalidated, of a disposed pool
        or dead is closed, and a fresh one checked out."""
        pool = self._engine.pool
        self._local.held = None
        if (
            held.pool is pool
            and not held.forgotten
            and pool._invalidate_time <= held.started
            and time.time() < held.stale_at
        ) and self._alive(held):
            held.used_at = time.monotonic()
            self._local.held = held
            return held
        held.give_back(close=True)
        return self._take()

    def _alive(self, held: _Held) -> bool:
        """The pool's own test of an idle connection (a round trip), on a held one."""
        try:
            with held.lock:
                return bool(self._engine.dialect.do_ping(held.conn))  # type: ignore[arg-type]
        except Exception:  # gone (a restart, a failover): replaced as the pool would
            return False

    def _take(self) -> _Held:
        try:
            pooled = self._engine.raw_connection()  # the pool's own checks: ping after idle, recycle, invalidation
        except psycopg.Error as err:
            raise _translated(err, None) from err
        try:
            pooled.driver_connection.autocommit = True  # type: ignore[union-attr]
        except psycopg.Error as err:
            self._lost(pooled)
            pooled.close()
            raise _translated(err, None) from err
        held = _Held(self, pooled, self._engine.pool)
        with self._holders_lock:
            self._holders.add(held)
        self._local.held = held
        return held

    @contextmanager
    def _checked_out(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of the pool for this use only (a thread beyond ``most_held``)."""
        try:
            pooled = self._engine.raw_connection()
        except psycopg.Error as err:
            raise _translated(err, None) from err
        conn: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
        try:
            conn.autocommit = True
            yield conn
        finally:
            if conn.broken or conn.closed:
                self._lost(pooled)
            else:
                try:
                    conn.autocommit = False  # what SQLAlchemy expects of a pooled connection
                except psycopg.Error:
                    self._lost(pooled)
            pooled.close()

    def dispose(self) -> None:
        """Close every thread's connection (one in a statement now is closed by its thread when it ends)."""
        with self._holders_lock:
            holders = list(self._holders)  # held here, so dropping the threads' locals gives none back to the pool
        self._local = threading.local()
        for held in holders:
            if held.lock.acquire(blocking=False):
                try:
                    held.give_back(close=True)
                finally:
                    held.lock.release()
            else:
                held.stale_at = 0.0  # closed when its thread lets go of it

    def _forget_after_fork(self) -> list[Any]:
        """In a forked child: the parent's connections are the parent's; let go of without a word to the server."""
        holders = list(self._holders)
        for held in holders:
            held.forgotten = True
        self._holders = weakref.WeakSet()
        self._holders_lock = threading.RLock()
        self._local = threading.local()
        return [held.pooled for held in holders]

    def all(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        """Every row of one statement (columns by name)."""
        return self._run(sql, params, _ALL)  # type: ignore[no-any-return]

    def _run(self, sql: str, params: Mapping[str, Any], what: int) -> Any:
        """One statement on this thread's connection and cursor (:meth:`connection`'s rules, without its generator:
        this is every hot statement's path); its rows (``_ALL``), first row (``_FIRST``) or row count."""
        held = self._holder()
        if held is None:
            with self._checked_out() as conn, conn.cursor(row_factory=namedtuple_row) as once:
                return self._on(once, sql, params, what)
        with held.lock:
            try:
                cursor = held.cursor
                if cursor is None:
                    cursor = held.cursor = held.conn.cursor(row_factory=namedtuple_row)
                return self._on(cursor, sql, params, what)
            finally:
                self._after_statement(held)

    def _on(self, cursor: psycopg.Cursor[Any], sql: str, params: Mapping[str, Any], what: int) -> Any:
        for observe in self.observers:
            observe(sql)
        try:
            cursor.execute(sql, params, prepare=True)
            if what == _FIRST:
                return cursor.fetchone()
            if what == _ALL:
                return cursor.fetchall()
            return cursor.rowcount
        except psycopg.Error as err:
            raise _translated(err, sql) from err

    def sql_of(self, statement: Executable) -> str:
        """The text of a Core statement built once, for :meth:`first` and :meth:`all`: only for statements whose
        parameters need no conversion on the way (strings, numbers, aware datetimes; no JSON)."""
        sql = self._compiled.get(statement)
        if sql is None:
            sql = self._compiled[statement] = str(statement.compile(dialect=self._engine.dialect))  # type: ignore[attr-defined]
        return sql

    def _lost(self, pooled: Any) -> None:
        """The server went away (restart, failover): as SQLAlchemy does on a disconnect, this connection is dropped
        and every one opened before it is replaced at its next checkout, rather than each failing one request."""
        self._engine.pool._invalidate(pooled)

    def first(self, sql: str, params: Mapping[str, Any]) -> Any:
        """The first row of one statement (columns by name), or None."""
        return self._run(sql, params, _FIRST)

    def first_on(self, conn: psycopg.Connection[Any], sql: str, params: Mapping[str, Any]) -> Any:
        """:meth:`first` on a connection of :meth:`connection`."""
        for observe in self.observers:
            observe(sql)
        try:
            with conn.cursor(row_factory=namedtuple_row) as cursor:
                cursor.execute(sql, params, prepare=True)
                row: Any = cursor.fetchone()
                return row
        except psycopg.Error as err:
            raise _translated(err, sql) from err

    def execute(self, sql: str, params: Mapping[str, Any]) -> int:
        """One statement that returns no rows (an insert, update or delete); the number of rows it touched."""
        return self._run(sql, params, _COUNT)  # type: ignore[no-any-return]

    def count(self, sql: str, params: Mapping[str, Any]) -> int:
        """The integer a one-row, one-column statement answers (``… SELECT count(*) …``): prepared on the thread's
        connection and run through libpq with its parameters as text, without psycopg's cursor (its Python per
        statement, ~13 µs of ~20). Only for a statement whose every parameter is cast in its text (``%(x)s::type``)
        and is a string, an integer, an aware datetime or None; anything else goes through :meth:`first`."""
        held = self._holder()
        numbered = self._numbered.get(sql) or self._number(sql)
        values = _as_text(params, numbered.names) if held is not None and numbered.text else None
        if held is None or values is None:
            row = self.first(sql, params)
            return int(row[0])
        for observe in self.observers:
            observe(sql)
        with held.lock:
            try:
                conn = held.conn
                with conn.lock:
                    pgconn = conn.pgconn
                    if numbered.name not in held.prepared:
                        pgconn.send_prepare(numbered.name, numbered.text)
                        # already there when an earlier holder of this pooled connection prepared it: the same text
                        with contextlib.suppress(pg_errors.DuplicatePreparedStatement):
                            _checked(conn.wait(pq_execute(pgconn)), ExecStatus.COMMAND_OK)
                        held.prepared.add(numbered.name)
                    pgconn.send_query_prepared(numbered.name, values)
                    result = _checked(conn.wait(pq_execute(pgconn)), ExecStatus.TUPLES_OK)
                value = result.get_value(0, 0)
                return int(value) if value is not None else 0
            except psycopg.Error as err:
                raise _translated(err, sql) from err
            finally:
                self._after_statement(held)

    def _number(self, sql: str) -> _Numbered:
        """``sql`` with libpq's ``$n`` for psycopg's ``%(name)s`` (empty text when it holds another ``%``)."""
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        text = _PLACEHOLDER.sub(number, sql)
        # named by its text's digest: the same name is the same statement on any connection, in any thread or holder
        name = "antin_count_" + hashlib.sha256(text.encode()).hexdigest()[:24]
        numbered = _Numbered(name.encode(), b"" if "%" in text else text.encode())
        numbered.names.extend(names)
        self._numbered[sql] = numbered
        return numbered

    def execute_on(self, conn: psycopg.Connection[Any], sql: str, params: Mapping[str, Any]) -> int:
        """:meth:`execute` on a connection of :meth:`connection`."""
        for observe in self.observers:
            observe(sql)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params, prepare=True)
                return cursor.rowcount
        except psycopg.Error as err:
            raise _translated(err, sql) from err


_FIRST, _ALL, _COUNT = 1, 2, 3  # what Driver._run returns of a statement
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class _Numbered:
    """A statement as :meth:`Driver.count` prepares it: its name on the connection, its text, its parameters."""

    __slots__ = ("name", "names", "text")

    def __init__(self, name: bytes, text: bytes) -> None:
        self.name, self.text = name, text
        self.names: list[str] = []


def _as_text(params: Mapping[str, Any], names: list[str]) -> list[bytes | None] | None:
    """The parameters in PostgreSQL's text form, or None when one is of a type left to psycopg's adapters."""
    values: list[bytes | None] = []
    for name in names:
        value = params[name]
        kind = type(value)
        if kind is str:
            values.append(value.encode())
        elif kind is int:
            values.append(b"%d" % value)
        elif value is None:
            values.append(None)
        elif kind is datetime and value.tzinfo is not None:
            values.append(value.isoformat().encode())
        else:
            return None
    return values


def _checked(results: list[Any], expected: ExecStatus) -> Any:
    """The last result of a statement, raised as psycopg's error when the server refused it."""
    for result in results:
        if result.status == ExecStatus.FATAL_ERROR:
            raise pg_errors.error_from_result(result)
    last = results[-1] if results else None
    if last is None or last.status != expected:
        raise psycopg.InternalError(f"unexpected answer to a prepared statement: {last and last.status}")
    return last


_DRIVERS: weakref.WeakSet[Driver] = weakref.WeakSet()
# a forked child's references to its parent's connections, kept so that no cleanup ever closes them: closing one
# (SQLAlchemy handing it back to a full pool) would end the parent's session on the server
_INHERITED: list[Any] = []


def _forget_connections_in_child() -> None:
    """After a fork, in the child: every driver forgets the parent's held connections and its engine starts a pool
    of its own (SQLAlchemy's ``dispose(close=False)``, meant for this), so the child connects afresh."""
    for driver in list(_DRIVERS):
        _INHERITED.extend(driver._forget_after_fork())
        driver._engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_connections_in_child)


def _translated(err: psycopg.Error, sql: str | None) -> StatementError:
    """SQLAlchemy's exception of the same kind (OperationalError, IntegrityError, …) around the driver's."""
    return DBAPIError.instance(sql, None, err, psycopg.Error)
