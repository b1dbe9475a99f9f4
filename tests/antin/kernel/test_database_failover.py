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

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from antin.kernel.database import Database
from antin.migrate import upgrade
from idp.oidc.interaction import AuthenticationResult
from idp.oidc.sessions import SessionService
from tests.postgres_standby import postgres_with_standby
from tests.servers import _as_postgres_user, _postgres_bin_dir

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def primary_and_standby(tmp_path: Path) -> Iterator[tuple[str, str, Path, Path]]:
    """(multi-host URL, the primary's URL, the primary's data folder, the standby's data folder)."""
    with postgres_with_standby(tmp_path) as servers:
        yield servers.url, servers.primary_url, servers.primary_data, servers.standby_data


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
