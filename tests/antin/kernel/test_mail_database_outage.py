"""The mailer's thread through a PostgreSQL outage (issue 14): composing a message reads the database (the
recipient) and ``on_done`` writes to it (the audit entry); a stopped server or a read-only one (a standby) is one
warning line naming the outage, never a traceback, and the thread goes on with the next message. Real PostgreSQL
and a real SMTP server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from antin.kernel.database import Database
from antin.kernel.mail import Mail, Mailer
from antin.kernel.settings import MailSettings
from tests.postgres_standby import kill_host
from tests.servers import postgres_server
from tests.smtp_server import smtp_server

pytestmark = [pytest.mark.postgres]


def test_composing_on_a_stopped_database_is_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="antin.kernel.mail")
    with postgres_server(tmp_path / "pg") as url, smtp_server(tmp_path) as server:
        database = Database(url, pool_size=1)
        kill_host(url)

        def recipient_from_the_database() -> Mail:
            with database.reading() as session:
                to = str(session.execute(text("select 'an.nguyen@antin.vn'")).scalar())
            return Mail(to, "Ấn Tín", "Xin chào")

        mailer = Mailer(MailSettings(**server.settings()))
        mailer.submit(recipient_from_the_database)
        mailer.submit(lambda: Mail("binh.tran@antin.vn", "Ấn Tín", "Xin chào"))  # the next one is still sent
        server.received.wait_for(1)
        assert mailer.wait_until_sent()
        mailer.close()
        database.dispose()
    records = [r for r in caplog.records if r.name == "antin.kernel.mail"]
    assert [r.exc_info for r in records] == [None]
    assert "could not be composed: the database is unavailable" in records[0].getMessage()
    assert [m["To"] for m in server.received.messages] == ["binh.tran@antin.vn"]


def test_recording_on_a_read_only_database_is_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="antin.kernel.mail")
    with postgres_server(tmp_path / "pg") as url, smtp_server(tmp_path) as server:
        database = Database(url, pool_size=1)
        with database.engine.begin() as conn:  # every new session read-only, as on a hot standby
            conn.execute(text("create table sent (address text)"))
            conn.execute(text("alter database antin set default_transaction_read_only = on"))
        database.dispose()

        def record_sent(mail: Mail, _error: str | None) -> None:
            with database.session() as session:
                session.execute(text("insert into sent values (:to)"), {"to": mail.to})

        mailer = Mailer(MailSettings(**server.settings()))
        mailer.submit(lambda: Mail("an.nguyen@antin.vn", "Ấn Tín", "Xin chào"), on_done=record_sent)
        server.received.wait_for(1)
        assert mailer.wait_until_sent()
        mailer.close()
        database.dispose()
    records = [r for r in caplog.records if r.name == "antin.kernel.mail"]
    assert [r.exc_info for r in records] == [None]
    assert "after a message was handled: the database is unavailable" in records[0].getMessage()
