"""PostgreSQL primary with a streaming replica (issue 14, item 10): with a multi-host ``ANTIN_DATABASE_URL``
(``host=primary,standby`` and ``target_session_attrs=read-write``) the platform finds whichever server takes
writes; after the primary dies and the standby is promoted, the next transactions reach the new primary and the
officials' sessions written before are there. Real servers: a primary, a standby made by ``pg_basebackup -R``."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from antin.kernel.database import Database
from antin.migrate import upgrade
from idp.oidc.interaction import AuthenticationResult
from idp.oidc.sessions import SessionService
from tests.components import free_port
from tests.servers import _as_postgres_user, _postgres_bin_dir, postgres_server

pytestmark = [pytest.mark.postgres]

BACKUP = ("-R", "-X", "stream")  # write the standby's primary_conninfo; stream the WAL made during the copy


def _socket_and_port(url: str) -> tuple[str, int]:
    query = parse_qs(urlsplit(url).query)
    return query["host"][0], int(query["port"][0])


@pytest.fixture
def primary_and_standby(tmp_path: Path) -> Iterator[tuple[str, str, Path, Path]]:
    """(multi-host URL, the primary's URL, the primary's data folder, the standby's data folder)."""
    with postgres_server(tmp_path / "primary") as primary_url:
        primary_socket, primary_port = _socket_and_port(primary_url)
        bin_dir, user = _postgres_bin_dir(), _as_postgres_user()
        folder = tmp_path / "standby"
        folder.mkdir()
        subprocess.run(["chown", "postgres:postgres", str(folder)], check=False)
        data = folder / "data"
        backup = [*user, str(bin_dir / "pg_basebackup"), "-h", primary_socket, "-p", str(primary_port)]
        backup += ["-U", "antin", "-D", str(data), *BACKUP]
        for attempt in range(3):  # failed once in a full run on a busy machine, its reason unseen: now it is shown
            done = subprocess.run(backup, capture_output=True, text=True, check=False)
            if done.returncode == 0:
                break
            assert attempt < 2, f"pg_basebackup failed three times: {done.stderr}"
            subprocess.run([*user, "rm", "-rf", str(data)], check=False)
            time.sleep(1)
        port = free_port()
        options = f"-p {port} -k {folder} -c listen_addresses='' -c fsync=off"
        subprocess.run(
            [*user, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        try:
            both = (
                f"postgresql+psycopg://antin@/antin?host={primary_socket},{folder}&port={primary_port},{port}"
                "&target_session_attrs=read-write"
            )
            yield both, primary_url, Path(primary_socket) / "data", data
        finally:
            subprocess.run(
                [*user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                check=False,
                capture_output=True,
            )


def test_the_platform_follows_a_promoted_standby(primary_and_standby: tuple[str, str, Path, Path]) -> None:
    url, primary_url, primary_data, standby_data = primary_and_standby
    bin_dir, user = _postgres_bin_dir(), _as_postgres_user()
    database = Database(url, pool_size=2)
    upgrade(database)
    sessions = SessionService(database, idle_minutes=30, absolute_hours=10)
    result = AuthenticationResult("sub-an", datetime.now(UTC), "urn:antin:acr:password", ("pwd",), "an.nguyen")
    cookie, before = sessions.start(result)
    with database.engine.connect() as conn:  # the primary answered, not the standby (read-only)
        assert conn.execute(text("select pg_is_in_recovery()")).scalar() is False
    primary = Database(primary_url, pool_size=1)
    deadline = time.monotonic() + 20
    while True:  # the standby has replayed everything (asynchronous replication: wait for it, as an operator would)
        with primary.engine.connect() as conn:
            lag = conn.execute(
                text("select count(*) from pg_stat_replication where replay_lsn < pg_current_wal_lsn()")
            ).scalar()
            streaming = conn.execute(text("select count(*) from pg_stat_replication")).scalar()
        if streaming == 1 and lag == 0:
            break
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.1)
    primary.dispose()

    # the primary dies; the operator (or Patroni, repmgr…) promotes the standby
    subprocess.run(
        [*user, str(bin_dir / "pg_ctl"), "-D", str(primary_data), "-m", "immediate", "-w", "stop"], check=True
    )
    subprocess.run(
        [*user, str(bin_dir / "pg_ctl"), "-D", str(standby_data), "-w", "promote"], check=True, capture_output=True
    )
    started, failures = time.monotonic(), 0
    while True:
        try:
            still = sessions.current(cookie)
            _, after = sessions.start(result)
            break
        except OperationalError:  # a request in this moment gets the platform's 503 (tests/antin/kernel)
            failures += 1
            assert time.monotonic() - started < 20, "the platform did not reach the promoted standby"
            time.sleep(0.1)
    recovered = time.monotonic() - started
    assert still is not None and still.sid == before.sid  # the official's session survived the failover
    assert sessions.alive(after.sid)
    with database.engine.connect() as conn:
        assert conn.execute(text("select pg_is_in_recovery()")).scalar() is False
    print(f"PostgreSQL failover: writes again {recovered:.2f} s after the promotion began, {failures} failed tries")
    database.dispose()
