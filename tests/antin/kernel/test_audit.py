"""The hash-chained audit log: appends, tamper detection, and concurrent appends from several processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update

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
    return AuditLog(database, "test-secret")


def fill(audit: AuditLog, n: int) -> None:
    for i in range(n):
        audit.record(AuditEvent.LOGIN_PASSWORD_FAILURE, actor=f"user{i}", ip="10.0.0.1", details={"n": i})


def test_an_untouched_log_verifies(audit: AuditLog) -> None:
    assert audit.verify().ok
    fill(audit, 10)
    result = audit.verify()
    assert result.ok and result.entries_checked == 10


def test_entries_read_back_newest_first_with_their_details(audit: AuditLog) -> None:
    fill(audit, 3)
    audit.record(AuditEvent.DIRECTORY_USER_CREATE, actor="admin", subject="nguyenvanan", details={"unit": "TW-VP"})
    newest = next(audit.entries())
    assert (newest.seq, newest.event, newest.actor, newest.subject) == (
        4,
        "directory:user:create",
        "admin",
        "nguyenvanan",
    )
    assert newest.details == {"unit": "TW-VP"}
    assert [r.seq for r in audit.entries(event="login:password:failure")] == [3, 2, 1]


def test_secrets_are_never_stored(audit: AuditLog, database: Database) -> None:
    audit.record(
        AuditEvent.PASSWORD_CHANGE, actor="an", details={"new_password": "Hunter2!", "nested": {"client_secret": "s"}}
    )
    with database.session() as s:
        stored = s.execute(text("SELECT details FROM audit_log")).scalar_one()
    assert "Hunter2" not in stored and '"s"' not in stored
    assert "[redacted]" in stored


def test_an_edited_entry_is_named(audit: AuditLog, database: Database) -> None:
    fill(audit, 6)
    with database.session() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(actor="someone-else"))
    result = audit.verify()
    assert not result.ok and result.first_break is not None
    assert result.first_break.seq == 4 and "altered" in result.first_break.reason


def test_a_deleted_entry_is_named(audit: AuditLog, database: Database) -> None:
    fill(audit, 6)
    with database.session() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 3))
    brk = audit.verify().first_break
    assert brk is not None and brk.seq == 3 and "missing" in brk.reason


def test_cutting_off_the_newest_entries_is_detected(audit: AuditLog, database: Database) -> None:
    fill(audit, 6)
    with database.session() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq >= 5))
    brk = audit.verify().first_break
    assert brk is not None and brk.seq == 5 and "cut off" in brk.reason


def test_a_rewritten_chain_without_the_key_is_detected(audit: AuditLog, database: Database) -> None:
    fill(audit, 4)
    forger = AuditLog(database, "not-the-instance-secret")
    forger.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="intruder")
    brk = audit.verify().first_break
    assert brk is not None and brk.seq == 5 and "seal" in brk.reason


def _append_many(url: str, n: int) -> None:
    db = Database(url)
    log = AuditLog(db, "test-secret")
    for _ in range(n):
        log.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="worker")
    db.dispose()


def test_concurrent_appends_from_several_processes_keep_one_chain(database: Database, audit: AuditLog) -> None:
    url = database.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(url, 25)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    result = audit.verify()
    assert result.ok and result.entries_checked == 75


def test_concurrent_appends_from_many_threads_share_one_log(audit: AuditLog) -> None:
    import threading

    seqs: list[int] = []

    def worker() -> None:
        for _ in range(25):
            seqs.append(audit.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="thread"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(seqs) == list(range(1, 201))  # every caller got its own, committed number
    result = audit.verify()
    assert result.ok and result.entries_checked == 200


def test_a_failed_write_is_reported_to_the_caller(audit: AuditLog, database: Database) -> None:
    database.engine.dispose()
    with database.session() as s:
        s.execute(text("DROP TABLE audit_log"))
    with pytest.raises(RuntimeError, match="could not append to the audit log"):
        audit.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="x")
