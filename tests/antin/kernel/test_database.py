"""The SQL schema: migrations and models never differ; SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from antin.kernel.audit import AuditEvent, AuditLog
from antin.kernel.database import PING_AFTER_IDLE_SECONDS, Database
from antin.migrate import current_revision, head_revision, is_up_to_date, upgrade
from antin.models import metadata
from tests.servers import postgres_server


def assert_models_match_migrations(db: Database) -> None:
    upgrade(db)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == [], f"models and migrations differ; run `antin db revision -m ...`: {diff}"


def test_models_and_migrations_do_not_differ_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
    assert not is_up_to_date(db)
    assert_models_match_migrations(db)
    assert current_revision(db) == head_revision(db)
    upgrade(db)  # a second run changes nothing
    assert set(metadata.tables) <= set(inspect(db.engine).get_table_names())
    db.dispose()


def _record(url: str) -> None:
    db = Database(url)
    log = AuditLog(db, "pg-secret")
    for _ in range(20):
        log.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="pg-worker")
    db.dispose()


def test_postgresql_production_mode(tmp_path: Path) -> None:
    with postgres_server(tmp_path / "pg") as url:
        db = Database(url)
        assert_models_match_migrations(db)
        db.check()
        ctx = multiprocessing.get_context("spawn")
        workers = [ctx.Process(target=_record, args=(url,)) for _ in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
            assert w.exitcode == 0
        result = AuditLog(db, "pg-secret").verify()
        assert result.ok and result.entries_checked == 60
        _a_pooled_connection_the_server_dropped_is_replaced(db)
        _reads_take_no_transaction_writes_do(db)
        db.dispose()


def _reads_take_no_transaction_writes_do(db: Database) -> None:
    """reading() saves the BEGIN and COMMIT round trips: each statement is its own transaction."""
    started_late = text("SELECT now() < statement_timestamp() - interval '40 milliseconds'")
    with db.reading() as session:
        session.execute(text("SELECT pg_sleep(0.05)"))
        assert session.execute(started_late).scalar_one() is False
    with db.session() as session:
        session.execute(text("SELECT pg_sleep(0.05)"))
        assert session.execute(started_late).scalar_one() is True


def _a_pooled_connection_the_server_dropped_is_replaced(db: Database) -> None:
    """A server restart or an idle timeout closes pooled connections: the next request must not fail."""
    with db.session() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = Database(db.url.render_as_string(hide_password=False))
    with admin.engine.connect() as conn:  # end the pooled connection, as a restart would
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()
    time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
    with db.session() as session:
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_an_unreachable_database_says_so_without_details(tmp_path: Path) -> None:
    from antin.kernel.database import DatabaseUnavailableError

    db = Database("postgresql+psycopg://antin:hunter2@127.0.0.1:1/antin?connect_timeout=2")
    try:
        db.check()
    except DatabaseUnavailableError as err:
        assert "hunter2" not in err.reason
        assert err.reason.startswith("database unreachable")
    else:
        raise AssertionError("an unreachable database passed the check")
