"""Statements on psycopg directly (antin.kernel.driver) against a real PostgreSQL: times in UTC and JSON as
SQLAlchemy writes them, the pooled connection handed back as SQLAlchemy expects it, SQLAlchemy's error types when
the server is away (the platform's 503), and the token endpoints' answers when it goes away mid-run."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from antin.kernel.database import Database
from antin.kernel.driver import json_param
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import live_provider
from tests.servers import _as_postgres_user, _postgres_bin_dir, postgres_server

pytestmark = [pytest.mark.postgres]


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
            conn.execute(text("INSERT INTO scratch VALUES (1)"))
            conn.rollback()
            assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
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
