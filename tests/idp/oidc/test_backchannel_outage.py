"""The back-channel logout drainer through a PostgreSQL outage (issue 14: a failover logged a traceback from every
worker's drainer, each round): a stopped server, a read-only one (a standby) and one that dies between sending a
logout token and recording it each give one warning line that names the outage, never a traceback; the delivery
is still due afterwards. Real PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from antin.kernel.database import Database
from antin.migrate import upgrade
from idp.oidc.keys import SigningKeys
from idp.oidc.logout import BackchannelLogout
from idp.oidc.models import BackchannelDelivery
from tests.postgres_standby import kill_host, start_postgres
from tests.servers import postgres_server

pytestmark = [pytest.mark.postgres]

LOGGER = "idp.oidc.logout"


def drain_once_and_collect(drainer: BackchannelLogout, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Start the background drainer, wait for what it logs about its first round, stop it. Only its own threads'
    records: apps of earlier tests in this process (some on unmigrated SQLite) may run drainers of their own."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    earlier = {thread.ident for thread in threading.enumerate()}

    def its_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == LOGGER and r.thread not in earlier]

    drainer.kick()
    deadline = time.monotonic() + 20
    while not its_records():
        assert time.monotonic() < deadline, "the drainer said nothing"
        time.sleep(0.05)
    drainer.close()
    return its_records()


@pytest.mark.parametrize("outage", ["stopped", "read-only", "stopped during a delivery"])
def test_an_outage_is_one_line_not_a_traceback(tmp_path: Path, caplog: pytest.LogCaptureFixture, outage: str) -> None:
    with postgres_server(tmp_path / "pg") as url:
        database = Database(url, pool_size=2)
        upgrade(database)
        with database.session() as session:  # due now
            session.add(BackchannelDelivery(client_id="rp", uri="http://127.0.0.1:9/logout", logout_token="t"))
        keys = SigningKeys(database, "k" * 32, retire_after_seconds=3600)
        drainer = BackchannelLogout(database, keys, issuer="http://localhost:5000")
        if outage == "stopped":
            kill_host(url)
        elif outage == "read-only":  # every new session read-only, as on a hot standby: the claim's UPDATE fails
            with database.engine.begin() as conn:
                conn.execute(text("alter database antin set default_transaction_read_only = on"))
            database.dispose()
        else:

            def post_then_the_database_dies(_uri: str, _token: str) -> int:
                kill_host(url)
                return 200

            drainer.post = post_then_the_database_dies
        records = drain_once_and_collect(drainer, caplog)
        assert [r for r in records if r.exc_info is not None] == []
        assert records[0].levelno == logging.WARNING and "database is unavailable" in records[0].getMessage()
        if outage != "stopped during a delivery":
            return
        start_postgres(url)  # the delivery was not recorded as done: tried again once its claim runs out
        with database.reading() as session:
            assert session.scalars(select(BackchannelDelivery.delivered_at)).one() is None
        database.dispose()
