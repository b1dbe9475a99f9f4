"""Statements on the PostgreSQL driver directly (psycopg 3), for the few hot paths where SQLAlchemy's own work
per statement (compiling the cache key, the execution context, the result's processors: ~75–150 µs of CPU) costs
more than the statement itself (~30 µs).

The connection comes from the engine's pool (the same connections, the same liveness check after idle), is used
in autocommit (each statement atomic on its own, no BEGIN and COMMIT round trips) and goes back as SQLAlchemy left
it. Statements are prepared on the server at their first use on a connection. Failures are raised as SQLAlchemy's
exception types (``OperationalError`` when the database is away, ``IntegrityError``…), so the code and the error
handlers that catch those (a 503 with ``Retry-After``) need not know which path ran. The only importer of psycopg.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from psycopg.types.json import Json
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, StatementError
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


class Driver:
    """Run a hot path's statements on psycopg, over the pool of ``engine`` (a PostgreSQL engine)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # called with each statement's text before it runs: what the benchmarks count (SQLAlchemy's own
        # ``before_cursor_execute`` does not see these statements)
        self.observers: list[StatementObserver] = []
        self._compiled: dict[Executable, str] = {}

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection in autocommit for one or a few single-statement writes and reads."""
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

    def all(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        """Every row of one statement (columns by name)."""
        for observe in self.observers:
            observe(sql)
        with self.connection() as conn:
            try:
                with conn.cursor(row_factory=namedtuple_row) as cursor:
                    cursor.execute(sql, params, prepare=True)
                    return cursor.fetchall()
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
        with self.connection() as conn:
            return self.first_on(conn, sql, params)

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
        with self.connection() as conn:
            return self.execute_on(conn, sql, params)

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


def _translated(err: psycopg.Error, sql: str | None) -> StatementError:
    """SQLAlchemy's exception of the same kind (OperationalError, IntegrityError, …) around the driver's."""
    return DBAPIError.instance(sql, None, err, psycopg.Error)
