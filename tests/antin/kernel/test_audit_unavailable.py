"""An audit entry that cannot be written because the database went away mid-request (issue 14: PostgreSQL
killed while officials sign) is a clear 503 with Retry-After, as every other request that needs the database:
the action it records is not answered as done. Any other failure to append stays a 500."""

from __future__ import annotations

from pathlib import Path

from flask import Response

from antin.app import create_app
from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory
from tests.components import free_port


def test_an_audit_entry_lost_with_the_database_is_a_503(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "ANTIN_DATA_DIR": str(tmp_path),
            "ANTIN_LOG_LEVEL": "ERROR",
            "ANTIN_DATABASE_URL": f"postgresql+psycopg://antin@127.0.0.1:{free_port()}/antin?connect_timeout=2",
        }
    )
    instance = Instance(settings)
    use_directory(instance, InMemoryDirectory())
    try:
        app = create_app(instance=instance)

        @app.get("/api/test-audited-action")
        def audited_action() -> Response:
            instance.audit.record(AuditEvent.SIGNING_DOCUMENT_SIGN, actor="an", details={"reference": "r"})
            return Response("done")

        answer = app.test_client().get("/api/test-audited-action")
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
        assert answer.mimetype == "application/problem+json" and "Traceback" not in answer.text
        assert answer.json is not None and "database" in answer.json["detail"]
    finally:
        instance.close()
