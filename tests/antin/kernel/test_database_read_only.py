"""A write the database refuses as read-only (SQLSTATE 25006: what a standby answers when ``ANTIN_DATABASE_URL``
reaches it as if it were the primary, e.g. a ``host`` list without ``target_session_attrs=read-write`` while the
primary is down) is a clear 503 with Retry-After, not a 500 with a traceback (issue 14: PostgreSQL failover)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Response
from sqlalchemy import text

from antin.app import create_app
from antin.kernel.audit.events import AuditEvent
from antin.kernel.database import Database
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory
from tests.servers import postgres_server

pytestmark = [pytest.mark.postgres]


def test_a_write_refused_as_read_only_is_a_503(tmp_path: Path) -> None:
    with postgres_server(tmp_path / "pg") as url:
        database = Database(url, pool_size=1)
        upgrade(database)
        with database.engine.begin() as conn:  # every new session read-only, as on a hot standby
            conn.execute(text("alter database antin set default_transaction_read_only = on"))
        database.dispose()
        settings = load_settings(
            {"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "ERROR", "ANTIN_DATABASE_URL": url}
        )
        instance = Instance(settings)
        use_directory(instance, InMemoryDirectory())
        try:
            app = create_app(instance=instance)

            @app.get("/api/test-audited-action")
            def audited_action() -> Response:
                instance.audit.record(AuditEvent.SIGNING_DOCUMENT_SIGN, actor="an", details={"reference": "r"})
                return Response("done")

            @app.get("/api/test-write")
            def write() -> Response:
                with instance.database.session() as session:
                    session.execute(text("delete from audit_log where false"))
                return Response("done")

            for path in ("/api/test-audited-action", "/api/test-write"):
                answer = app.test_client().get(path)
                assert answer.status_code == 503 and answer.headers["Retry-After"] == "5", (path, answer.text)
                assert answer.mimetype == "application/problem+json" and "Traceback" not in answer.text
                assert answer.json is not None and "database" in answer.json["detail"]
        finally:
            instance.close()
