"""The public verification page opened from a document's QR code while PostgreSQL is away (issue 14): the
document's record is a courtesy, so the page is served without it, and the log gets one warning line naming the
outage, not a traceback per visitor. Real PostgreSQL, stopped."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from antin.app import create_app
from antin.kernel.database import Database
from antin.kernel.instance import Instance
from antin.settings import load_settings
from tests.postgres_standby import kill_host
from tests.servers import postgres_server

pytestmark = [pytest.mark.postgres]


def test_the_qr_page_is_served_and_the_outage_is_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(instance=Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path / "var")})))
    with postgres_server(tmp_path / "pg") as url:
        records = Database(url, pool_size=1)
        kill_host(url)

        def lookup_on_the_stopped_database(doc_id: str) -> None:
            with records.reading() as session:
                session.execute(text("select 1"))

        app.extensions["antin.verify"].lookup_document = lookup_on_the_stopped_database
        caplog.set_level(logging.WARNING, logger="antin.verify")
        page = app.test_client().get("/verify?id=VB-2026-001&d=" + "a" * 64)
        records.dispose()
    assert page.status_code == 200 and "VB-2026-001" in page.text and "Traceback" not in page.text
    logged = [r for r in caplog.records if r.name == "antin.verify"]
    assert [r.exc_info for r in logged] == [None]
    assert "VB-2026-001: the database is unavailable (OperationalError)" in logged[0].getMessage()
