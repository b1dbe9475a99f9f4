"""The audit table's indexes: only those a query reads (migration a4d17ix00012, up and down, on SQLite and
PostgreSQL), and the log still complete and verified after concurrent token statements without the entry_hash
index."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text, update

from antin.kernel.audit import AuditEvent, AuditLog
from antin.kernel.audit.carried import CarriedEntry, Written
from antin.kernel.audit.models import AuditEntry
from antin.kernel.database import Database
from antin.migrate import alembic_config, current_revision, upgrade
from tests.servers import empty_database, postgres_server

BEFORE = "f4un1tke0011"


def downgrade(database: Database, revision: str) -> None:
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def entry_hash_indexes(database: Database) -> list[str]:
    """The names of the indexes and unique constraints of audit_log that cover ``entry_hash`` (on PostgreSQL a
    unique constraint is listed as both)."""
    found = inspect(database.engine)
    names = [i["name"] for i in found.get_indexes("audit_log") if "entry_hash" in i["column_names"]]
    names += [c["name"] for c in found.get_unique_constraints("audit_log") if "entry_hash" in c["column_names"]]
    return sorted({str(name) for name in names})


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with empty_database(request.param, tmp_path) as db:
        yield db


def test_the_migration_drops_the_entry_hash_index_and_puts_it_back(database: Database) -> None:
    upgrade(database, BEFORE)
    before = AuditLog(database, "test-secret")
    for i in range(5):
        before.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor=f"user{i}", details={"n": i})
    assert entry_hash_indexes(database) == ["uq_audit_log_entry_hash"]

    upgrade(database, "a4d17ix00012")
    assert current_revision(database) == "a4d17ix00012"
    assert entry_hash_indexes(database) == []
    after = AuditLog(database, "test-secret")
    after.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="after the upgrade")
    result = after.verify()
    assert result.ok and result.entries_checked == 6

    downgrade(database, BEFORE)
    assert entry_hash_indexes(database) == ["uq_audit_log_entry_hash"]
    assert AuditLog(database, "test-secret").verify().ok
    upgrade(database)
    assert entry_hash_indexes(database) == []


def test_an_entry_given_another_entrys_hash_is_still_named(tmp_path: Path) -> None:
    """The unique index refused a copied hash outright; the chain names it without the index."""
    db = Database(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    upgrade(db)
    log = AuditLog(db, "test-secret")
    for i in range(4):
        log.record(AuditEvent.LOGIN_PASSWORD_FAILURE, actor=f"user{i}")
    with db.session() as s:
        first = s.execute(text("SELECT entry_hash FROM audit_log WHERE seq = 1")).scalar_one()
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(entry_hash=first))
    brk = log.verify().first_break
    assert brk is not None and brk.seq == 3 and "altered" in brk.reason
    db.dispose()


def test_concurrent_token_statements_leave_a_log_that_verifies_on_postgresql(tmp_path: Path) -> None:
    """Machine tokens' entries written by their own statement (``write_entry``, on spare writers) from 4 threads
    of two processes' logs at once, beside ordinary appends: every entry there, each chain whole, verify clean."""
    from idp.oidc.token_driver import write_entry

    with postgres_server(tmp_path / "pg") as url:
        db = Database(url)
        upgrade(db)
        assert entry_hash_indexes(db) == []
        driver = db.driver
        assert driver is not None
        logs = [AuditLog(db, "test-secret"), AuditLog(db, "test-secret")]
        errors: list[BaseException] = []

        def token_statements(log: AuditLog, name: str) -> None:
            def write(entry: CarriedEntry) -> tuple[None, Written]:
                return None, write_entry(driver, entry)

            try:
                for i in range(40):
                    log.record_in(
                        write, AuditEvent.OAUTH_TOKEN_ISSUE, actor=name, client_id=name, details={"jti": f"{name}.{i}"}
                    )
                    if i % 10 == 0:
                        log.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor=name)
            except BaseException as err:  # reported by the assertion below
                errors.append(err)

        threads = [threading.Thread(target=token_statements, args=(logs[i % 2], f"client{i}")) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        with db.session() as s:
            issued = s.execute(text("SELECT count(*) FROM audit_log WHERE event = 'oauth:token:issue'")).scalar_one()
            writers = s.execute(text("SELECT count(DISTINCT writer) FROM audit_log")).scalar_one()
        assert issued == 160 and writers >= 2
        result = AuditLog(db, "test-secret").verify()
        assert result.ok and result.entries_checked == 176
        with db.session() as s:
            # the 100th entry by position: concurrent writers may leave gaps in seq (a statement that lost its head)
            s.execute(
                text(
                    "UPDATE audit_log SET details = '{}'"
                    " WHERE seq = (SELECT seq FROM audit_log ORDER BY seq OFFSET 99 LIMIT 1)"
                )
            )
        brk = AuditLog(db, "test-secret").verify().first_break
        assert brk is not None and "altered" in brk.reason
        db.dispose()
