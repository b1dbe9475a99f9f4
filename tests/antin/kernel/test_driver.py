"""Statements on psycopg directly (antin.kernel.driver) against a real PostgreSQL: times in UTC and JSON as
SQLAlchemy writes them, the pooled connection handed back as SQLAlchemy expects it, SQLAlchemy's error types when
the server is away (the platform's 503), and the token endpoints' answers when it goes away mid-run; the connection
each thread keeps: renewed after a restart, a disconnect another thread saw, recycling and a fork, closed by
dispose, given back when its thread ends."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool, QueuePool

from antin.kernel.database import PING_AFTER_IDLE_SECONDS, Database
from antin.kernel.driver import json_param
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import live_provider
from tests.servers import _as_postgres_user, _postgres_bin_dir, postgres_server

pytestmark = [pytest.mark.postgres]

T = TypeVar("T")


def _pg_ctl(folder: Path, url: str, action: str) -> None:
    """Stop (fast) or start again the server of ``postgres_server(folder)`` on its own port."""
    port = parse_qs(urlsplit(url).query)["port"][0]
    argv = [*_as_postgres_user(), str(_postgres_bin_dir() / "pg_ctl"), "-D", str(folder / "data"), "-w"]
    if action == "stop":
        argv += ["-m", "fast", "stop"]
    else:
        options = f"-p {port} -k {folder} -c listen_addresses='' -c fsync=off"
        argv += ["-o", options, "-l", str(folder / "log"), "start"]
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with postgres_server(tmp_path / "pg") as url:
        yield url, tmp_path / "pg"


def assert_rolls_back(conn: Connection) -> None:
    """A SQLAlchemy transaction on this connection still rolls back: it went back to the pool out of autocommit."""
    conn.execute(text("INSERT INTO scratch VALUES (1)"))
    conn.rollback()
    assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == 0


def test_a_driver_statement_reads_utc_and_json_and_hands_the_connection_back(server: tuple[str, Path]) -> None:
    url, _folder = server
    setup = create_engine(url, isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:  # a server whose sessions start in Vietnam's time, not UTC
        conn.execute(text("ALTER DATABASE antin SET timezone = 'Asia/Ho_Chi_Minh'"))
    setup.dispose()
    database = Database(url, pool_size=1)
    try:
        driver = database.driver
        assert driver is not None
        seen: list[str] = []
        driver.observers.append(seen.append)
        sql = "SELECT now() AS now, %(doc)s::json AS doc, %(none)s::json AS none"
        row = driver.first(sql, {"doc": json_param({"amr": ["pwd", "hwk"]}), "none": json_param(None)})
        assert row.now.utcoffset() == timedelta(0)
        assert row.doc == {"amr": ["pwd", "hwk"]} and row.none is None
        assert seen == [sql]  # what the benchmarks count
        # the one pooled connection went back out of autocommit: a SQLAlchemy transaction still rolls back
        with database.engine.connect() as conn:
            conn.execute(text("CREATE TABLE scratch (n integer)"))
            conn.commit()
            assert_rolls_back(conn)
    finally:
        database.dispose()


def test_a_server_away_is_sqlalchemys_operational_error_and_the_next_statement_reconnects(
    server: tuple[str, Path],
) -> None:
    url, folder = server
    database = Database(url, pool_size=1)
    try:
        driver = database.driver
        assert driver is not None
        assert driver.first("SELECT 1 AS one", {}).one == 1  # a pooled connection, used a moment ago
        _pg_ctl(folder, url, "stop")
        with pytest.raises(OperationalError):  # what the platform answers with a 503 and Retry-After
            driver.first("SELECT 1 AS one", {})
        _pg_ctl(folder, url, "start")
        # the broken connection was dropped from the pool, not handed out again
        assert driver.first("SELECT 1 AS one", {}).one == 1
    finally:
        database.dispose()


def test_token_endpoints_answer_503_while_the_database_is_away(server: tuple[str, Path], tmp_path: Path) -> None:
    from idp.oidc.clients import ClientSpec

    url, folder = server
    with live_provider(tmp_path / "op", make_directory(), database__url=url) as op:
        record, secret = op.provider.clients.add(
            ClientSpec(name="service", grant_types=("client_credentials",), scopes=("profile",), trusted=True)
        )
        auth = (record.client_id, secret or "")
        token = requests.post(op.issuer + "/token", data={"grant_type": "client_credentials"}, auth=auth, timeout=10)
        assert token.status_code == 200
        access_token = token.json()["access_token"]
        _pg_ctl(folder, url, "stop")
        try:
            for path, data in (
                ("/introspect", {"token": access_token}),
                ("/token", {"grant_type": "client_credentials"}),
            ):
                answer = requests.post(
                    op.issuer + path, data=data, auth=auth, headers={"Accept": "application/json"}, timeout=10
                )
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["Retry-After"] == "5"
                assert answer.headers["Content-Type"].startswith("application/problem+json")
        finally:
            _pg_ctl(folder, url, "start")
        introspected = requests.post(op.issuer + "/introspect", data={"token": access_token}, auth=auth, timeout=10)
        assert introspected.status_code == 200, introspected.text
        assert introspected.json()["active"] is True  # back with the database, on a fresh connection
        op.instance.database.dispose()


# One connection kept per thread (issue 13): what the pool did at each checkout, done again for a held connection.

BACKEND = "SELECT pg_backend_pid() AS pid"


def _client_backends(url: str) -> int:
    """Sessions open on the database besides the one that asks (pg_stat_activity)."""
    probe = create_engine(url, poolclass=NullPool)
    try:
        with probe.connect() as conn:
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return int(conn.execute(text(query)).scalar_one())
    finally:
        probe.dispose()


def _in_thread(pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
    return pool.submit(call).result(timeout=30)


def test_a_thread_keeps_its_connection_and_reconnects_after_a_restart(server: tuple[str, Path]) -> None:
    url, folder = server
    database = Database(url, pool_size=2)
    driver = database.driver
    assert driver is not None
    worker = ThreadPoolExecutor(1)
    try:
        first = _in_thread(worker, lambda: driver.first(BACKEND, {}).pid)
        assert _in_thread(worker, lambda: driver.first(BACKEND, {}).pid) == first  # the same session, kept
        assert driver.held == 1
        _pg_ctl(folder, url, "stop")
        _pg_ctl(folder, url, "start")
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.1)  # idle, as between two requests after a restart
        # the thread's connection died with the server: pinged, replaced, and the request succeeds
        assert _in_thread(worker, lambda: driver.first(BACKEND, {}).pid) != first
    finally:
        worker.shutdown()
        database.dispose()


def test_a_disconnect_seen_by_one_thread_renews_every_threads_connection(
    server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, folder = server
    # no ping after idle: the restart is seen only by a statement that fails, as under load
    monkeypatch.setattr("antin.kernel.database.PING_AFTER_IDLE_SECONDS", 3600.0)  # the pool's and the driver's
    database = Database(url, pool_size=2)
    driver = database.driver
    assert driver is not None
    one, other = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    try:
        _in_thread(one, lambda: driver.first(BACKEND, {}))
        _in_thread(other, lambda: driver.first(BACKEND, {}))
        assert driver.held == 2
        _pg_ctl(folder, url, "stop")
        _pg_ctl(folder, url, "start")
        with pytest.raises(OperationalError):  # the first request after the restart: a 503, as with the pool
            _in_thread(one, lambda: driver.first(BACKEND, {}))
        # the other thread's connection was opened before the disconnect: replaced, not failing a request too
        assert _in_thread(other, lambda: driver.first("SELECT 1 AS one", {}).one) == 1
        assert _in_thread(one, lambda: driver.first("SELECT 1 AS one", {}).one) == 1
    finally:
        one.shutdown()
        other.shutdown()
        database.dispose()


def test_a_connection_is_renewed_past_pool_recycle(server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    url, _folder = server
    database = Database(url, pool_size=1)
    driver = database.driver
    assert driver is not None
    try:
        monkeypatch.setattr(database.engine.pool, "_recycle", 0.2)  # what pool_recycle=1800 says, sooner
        first = driver.first(BACKEND, {}).pid
        assert driver.first(BACKEND, {}).pid == first
        time.sleep(0.3)  # older than the recycle time, idle for less than a ping's
        assert driver.first(BACKEND, {}).pid != first
    finally:
        database.dispose()


def test_a_forked_child_connects_afresh_and_leaves_the_parents_session_alone(server: tuple[str, Path]) -> None:
    url, _folder = server
    database = Database(url, pool_size=2)
    driver = database.driver
    assert driver is not None
    try:
        parents = driver.first(BACKEND, {}).pid  # held by this thread when the fork happens
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # the child: answer with its backend and leave at once
            code = 1
            try:
                os.write(write_end, str(driver.first(BACKEND, {}).pid).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        childs = int(os.read(read_end, 32) or b"0")
        os.close(read_end)
        assert os.waitpid(child, 0)[1] == 0
        assert childs not in (0, parents)  # its own session, not the parent's socket
        assert driver.first(BACKEND, {}).pid == parents  # the parent's session is still there, still its own
    finally:
        database.dispose()


def test_dispose_closes_the_connections_threads_keep(server: tuple[str, Path]) -> None:
    url, _folder = server
    database = Database(url, pool_size=3)
    driver = database.driver
    assert driver is not None
    threads = ThreadPoolExecutor(3)
    started, done = threading.Barrier(3), threading.Event()

    def keep() -> None:
        driver.first("SELECT 1 AS one", {})
        started.wait(10)
        done.wait(10)  # the thread lives on, its connection kept

    try:
        waiting = [threads.submit(keep) for _ in range(3)]
        deadline = time.monotonic() + 10
        while driver.held < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert driver.held == 3 and _client_backends(url) == 3
        driver.dispose()  # what Database.dispose() does first: closed, not handed back to the pool
        assert driver.held == 0
        assert _client_backends(url) == 0
    finally:
        done.set()
        for future in waiting:
            future.result(timeout=10)
        threads.shutdown()
        database.dispose()


def test_a_thread_that_ends_gives_its_connection_back(server: tuple[str, Path]) -> None:
    url, _folder = server
    database = Database(url, pool_size=2)
    driver = database.driver
    assert driver is not None
    try:
        for _round in range(5):  # threads come and go, as granian's or the tests' do
            barrier = threading.Barrier(4)

            def statement(barrier: threading.Barrier = barrier) -> None:
                barrier.wait(10)  # all four at once: two keep a connection, two check one out per statement
                driver.first("SELECT pg_sleep(0.05) AS slept", {})

            threads = [threading.Thread(target=statement) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert driver.held == 0  # every ended thread's connection went back
            assert isinstance(database.engine.pool, QueuePool) and database.engine.pool.checkedout() == 0
        assert _client_backends(url) <= 4  # reused round after round: no session left behind by an ended thread
        # and went back as SQLAlchemy expects a pooled connection, out of autocommit: its transactions roll back
        with database.engine.connect() as conn:
            conn.execute(text("CREATE TABLE scratch (n integer)"))
            conn.commit()
        with database.engine.connect() as one, database.engine.connect() as two:  # the pool's two connections
            for conn in (one, two):
                assert_rolls_back(conn)
    finally:
        database.dispose()


def test_a_connection_given_back_by_an_ended_thread_is_pinged_as_idle_since_its_last_statement(
    server: tuple[str, Path],
) -> None:
    url, folder = server
    database = Database(url, pool_size=1)
    driver = database.driver
    assert driver is not None
    try:
        worker = threading.Thread(target=lambda: driver.first("SELECT 1 AS one", {}))
        worker.start()  # takes the pool's one connection, then keeps it, idle
        worker.join(10)
        kept = ThreadPoolExecutor(1)
        _in_thread(kept, lambda: driver.first("SELECT 1 AS one", {}))
        _pg_ctl(folder, url, "stop")  # the server restarts while the connection sits in the thread
        _pg_ctl(folder, url, "start")
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.1)  # unused for longer than the pool trusts a connection
        kept.shutdown()  # the thread ends: its dead connection goes back to the pool, last used seconds ago
        assert driver.held == 0
        # the next SQLAlchemy request gets that connection: pinged as idle, replaced, and it succeeds
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        database.dispose()


def test_count_runs_a_prepared_statement_through_libpq_and_stays_on_the_rules(server: tuple[str, Path]) -> None:
    """Driver.count: the audit append's path (a number answered, text parameters, prepared once per connection),
    the same answers, errors and observers as Driver.first; a connection that a thread gave back and another took
    again still holds the statement prepared; a parameter of another type goes through psycopg as before."""
    url, _folder = server
    database = Database(url, pool_size=1)
    driver = database.driver
    assert driver is not None
    try:
        driver.execute("CREATE TABLE counted (n bigint PRIMARY KEY, at timestamptz, word varchar)", {})
        seen: list[str] = []
        driver.observers.append(seen.append)
        sql = (
            "WITH added AS (INSERT INTO counted VALUES (%(n)s::bigint, %(at)s::timestamptz, %(word)s::varchar)"
            " RETURNING n) SELECT count(*) AS added FROM added WHERE %(n)s > 0"
        )
        moment = datetime(2026, 12, 6, 4, 40, 1, 123456, tzinfo=UTC)

        def count(n: int, word: str | None = "đã ghi") -> int:
            return driver.count(sql, {"n": n, "at": moment, "word": word, "unused": object()})

        assert _in_new_thread(lambda: count(1)) == 1  # a thread that ends: its connection back to the pool
        assert _in_new_thread(lambda: count(2, None)) == 1  # the same connection: prepared there already
        assert seen == [sql, sql]
        row = driver.first("SELECT count(*) AS n, min(at) AS at, max(word) AS word FROM counted", {})
        assert (row.n, row.at, row.word) == (2, moment, "đã ghi")
        with pytest.raises(IntegrityError):  # SQLAlchemy's type, as Driver.first raises it
            count(1)
        assert count(-3) == 0  # the thread's connection is still usable after the refusal
        assert driver.count(sql, {"n": 4, "at": moment.replace(tzinfo=None), "word": "x"}) == 1  # psycopg's path
        prepared = driver.first("SELECT count(*) AS n FROM pg_prepared_statements WHERE name LIKE 'antin_count_%%'", {})
        assert prepared.n == 1
    finally:
        database.dispose()


def _in_new_thread(call: Callable[[], T]) -> T:
    out: list[T] = []
    thread = threading.Thread(target=lambda: out.append(call()))
    thread.start()
    thread.join(10)
    return out[0]
