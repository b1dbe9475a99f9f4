"""Entries held (``AuditLog.hold``) until the request's next append: written with it, in its statement, in their
order; what is still held when the block ends is written then, after an error too; outside a block, at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, select

from antin.kernel.audit import AuditEvent, AuditLog
from antin.kernel.audit.models import AuditEntry
from antin.kernel.database import Database
from antin.migrate import upgrade


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def audit(database: Database) -> AuditLog:
    log = AuditLog(database, "test-secret")
    log.record(AuditEvent.DIRECTORY_USER_CREATE, actor="admin")  # this writer registered before counting
    return log


def _events(database: Database) -> list[tuple[str, int]]:
    with database.reading() as s:
        return [(e.event, e.writer_seq) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def _commits(database: Database) -> list[None]:
    """One item per transaction committed (on SQLite an append is one transaction: its inserts and the head)."""
    seen: list[None] = []
    event.listen(database.engine, "commit", lambda _conn: seen.append(None))
    return seen


def test_a_held_entry_is_written_with_the_next_one_in_one_append(audit: AuditLog, database: Database) -> None:
    commits = _commits(database)
    with audit.holding():
        audit.hold(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="an", subject="an")
        assert _events(database)[1:] == []  # held
        audit.record(AuditEvent.SESSION_START, subject="an")
        assert len(commits) == 1
    assert _events(database)[1:] == [("login:password:success", 2), ("session:sso:start", 3)]
    assert len(commits) == 1 and audit.verify().ok


def test_what_is_still_held_is_written_when_the_block_ends(audit: AuditLog, database: Database) -> None:
    with audit.holding():
        audit.hold(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="an")
    assert _events(database)[1:] == [("login:password:success", 2)]
    with pytest.raises(RuntimeError), audit.holding():
        audit.hold(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="binh")
        raise RuntimeError("a later step failed")
    assert _events(database)[1:] == [("login:password:success", 2), ("login:password:success", 3)]
    assert audit.verify().ok


def test_outside_a_block_a_held_entry_is_written_at_once(audit: AuditLog, database: Database) -> None:
    audit.hold(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="an")
    assert _events(database)[1:] == [("login:password:success", 2)]
