"""The SQL database: SQLAlchemy 2 engine, sessions and the declarative base every model uses.

SQLite in the data folder by default (WAL, foreign keys on), any SQLAlchemy URL otherwise (PostgreSQL in
production). Models live in each domain package's ``models.py`` and subclass :class:`Base`; Alembic
migrations in ``migrations/`` follow them.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, Table, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError, InterfaceError, InternalError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SqlPoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from antin.kernel.driver import Driver

__all__ = [
    "DATABASE_UNAVAILABLE",
    "Base",
    "Database",
    "DatabaseUnavailableError",
    "UtcDateTime",
    "database_outage",
    "log_failure",
    "outage_reason",
    "utcnow",
    "written_on_a_standby",
]

# the database cannot be reached: restarting, failing over, its pool exhausted
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, SqlPoolTimeout)
READ_ONLY_SQLSTATE = "25006"  # a write on a standby (or a read-only session): SQLAlchemy's InternalError


def written_on_a_standby(err: BaseException | None) -> bool:
    """A write refused because the server is a standby: ``ANTIN_DATABASE_URL`` reached one that is not (yet) the
    primary, as when its ``host`` list lacks ``target_session_attrs=read-write`` and the primary is down."""
    return isinstance(err, InternalError) and getattr(err.orig, "sqlstate", None) == READ_ONLY_SQLSTATE


def database_outage(err: BaseException | None) -> bool:
    """The database away or taking no writes (a restart, a failover): an outage to wait out and say in one line,
    not a defect worth a traceback. Looks through ``raise … from`` wrappers (an audit write that failed)."""
    seen = 0
    while err is not None and seen < 5:
        if isinstance(err, OperationalError) and "no such table" in str(err.orig):
            return False  # SQLite's word for a database not migrated yet (PostgreSQL's is a ProgrammingError)
        if isinstance(err, DATABASE_UNAVAILABLE) or written_on_a_standby(err):
            return True
        err, seen = err.__cause__, seen + 1
    return False


def outage_reason(err: BaseException) -> str:
    """The driver's name for what happened (``OperationalError``, ``AdminShutdown``, ``ReadOnlySqlTransaction``…):
    enough for one log line; the full message repeats the URL and the driver's story, a traceback says nothing more."""
    while err.__cause__ is not None and not isinstance(err, SQLAlchemyError):
        err = err.__cause__
    return type(getattr(err, "orig", None) or err).__name__


def log_failure(logger: logging.Logger, err: BaseException, message: str, *args: object) -> None:
    """For code that catches every error itself (a background thread, a courtesy lookup): a traceback for a
    defect; one warning line for a database outage, which a failover brings to every worker at once."""
    if database_outage(err):
        logger.warning(message + ": the database is unavailable (%s)", *args, outage_reason(err))
    else:
        logger.error(message, *args, exc_info=err)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC that comes back timezone-aware from SQLite (which drops the offset) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use antin.kernel.database.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DatabaseUnavailableError(Exception):
    """The database cannot be reached or answered with an error; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, for statements built once and run on hot paths."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def utcnow() -> datetime:
    return datetime.now(UTC)


class Database:
    """One engine and its session factory for one instance."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 5) -> None:
        self.url = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_size=pool_size, pool_recycle=1800)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            if self.url.database not in (None, "", ":memory:"):
                with self.engine.connect() as conn:  # WAL is a property of the file: set it once
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        else:
            _ping_after_idle(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = sessionmaker(self._autocommit_engine)
        self._local_lock = threading.Lock()  # an in-memory SQLite database has one process: a thread lock is enough
        # the token endpoint's hot statements skip SQLAlchemy on PostgreSQL (antin.kernel.driver); None elsewhere
        self.driver: Driver | None = None
        if self.url.get_driver_name() == "psycopg":
            from antin.kernel.driver import Driver, in_utc

            self.driver = Driver(self.engine, ping_after_idle=PING_AFTER_IDLE_SECONDS, last_used_key=LAST_USED)
            event.listen(self.engine, "connect", in_utc)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed when the block ends, rolled back on an exception."""
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for one read on a hot path: no transaction of its own, so no BEGIN and COMMIT round trips.

        Each statement sees what is committed when it runs; use :meth:`session` to read several rows
        consistently or to write.
        """
        with self._read_sessions() as session:
            yield session

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A Core connection without a transaction, for a hot path's single statement (a read, or one atomic
        write): no BEGIN and COMMIT round trips and no ORM session around it."""
        with self._autocommit_engine.connect() as connection:
            yield connection

    @contextmanager
    def one_write(self) -> Iterator[Connection]:
        """A Core connection for writes that are each one atomic statement (an insert, a conditional update):
        on PostgreSQL without a transaction around them, so no BEGIN and COMMIT round trips; SQLite keeps its
        transaction (one statement or several, committed together)."""
        with self.transaction() if self.is_sqlite else self.autocommit() as connection:
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core connection in a transaction, for hot paths that need no ORM session."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock ``name`` while the block runs, against every process of every instance using this database.

        For get-or-create work that is not one SQL statement (an official's first certificate: a key made in the
        HSM, a certificate signed, a row stored): the waiter reads again once it holds the lock and finds what the
        winner made. PostgreSQL: a transaction-level advisory lock keyed by ``name`` (released when its
        connection ends, so a killed process leaves no lock behind). SQLite: one lock file beside the database
        (every name shares it: SQLite serves one host and its writes are serialised anyway).
        """
        if not self.is_sqlite:
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            with self.engine.begin() as connection:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
                yield
            return
        if self.url.database in (None, "", ":memory:"):
            with self._local_lock:
                yield
            return
        # flock belongs to the open file, so a separate open per holder excludes threads as well as processes
        with open(f"{self.url.database}.lock", "a+b") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def check(self) -> None:
        """Raise :class:`DatabaseUnavailableError` unless a trivial query succeeds."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as err:
            reason = type(getattr(err, "orig", None) or err).__name__
            raise DatabaseUnavailableError(f"database unreachable ({reason})") from err

    def dispose(self) -> None:
        """Close every connection: the pool's and those the driver's threads keep (``antin.kernel.driver``)."""
        if self.driver is not None:
            self.driver.dispose()
        self.engine.dispose()


PING_AFTER_IDLE_SECONDS = 1.0
LAST_USED = "last_used"  # a pooled connection's info key: when a thread that kept it last ran a statement on it


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle for a while.

    A connection used a moment ago is alive; one that waited may have been closed by a server restart or a
    firewall. SQLAlchemy's ``pool_pre_ping`` would cost a round trip on every checkout, that is on every
    transaction of every request.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        # a connection a thread kept (antin.kernel.driver) says when it was last used: idle since then, not now
        record.info["idle_since"] = record.info.pop(LAST_USED, None) or time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as err:
            raise DisconnectionError("the pooled connection is gone") from err  # the pool opens a new one


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
