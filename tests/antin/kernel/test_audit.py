"""The hash-chained audit log: appends, tamper detection, and concurrent appends from several processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, text, update

from antin.kernel.audit import AuditEvent, AuditLog
from antin.kernel.audit.chain import head_key, legacy_seal
from antin.kernel.audit.models import AuditEntry, AuditHead
from antin.kernel.database import Database
from antin.migrate import upgrade
from tests.servers import postgres_server


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


# Each process writes a chain of its own, anchored by a sealed register of writers (issue 13, item 6).


def _log(database: Database) -> AuditLog:
    return AuditLog(database, "test-secret")


def _interleave(database: Database, rounds: int = 3) -> tuple[AuditLog, AuditLog]:
    """Two writers (as two worker processes would be) appending in turn: entries 1, 2, … alternate."""
    first, second = _log(database), _log(database)
    for i in range(rounds):
        first.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="first", details={"n": i})
        second.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="second", details={"n": i})
    return first, second


def _writer_of(database: Database, seq: int) -> int:
    with database.session() as s:
        return int(s.execute(text("SELECT writer FROM audit_log WHERE seq = :s"), {"s": seq}).scalar_one())


def test_two_writers_append_in_turn_and_the_log_verifies(database: Database) -> None:
    first, _second = _interleave(database)
    assert [r.actor for r in first.entries()] == ["second", "first"] * 3  # one numbering, in commit order
    assert _writer_of(database, 1) != _writer_of(database, 2)
    result = _log(database).verify()
    assert result.ok and result.entries_checked == 6


def test_an_entry_deleted_from_the_middle_of_one_writers_chain_is_named(database: Database) -> None:
    first, _second = _interleave(database)
    with database.session() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 3))  # the first writer's second entry
    brk = first.verify().first_break
    assert brk is not None and brk.seq == 2 and "missing" in brk.reason  # missing after its entry 1
    assert f"writer {_writer_of(database, 1)}" in brk.reason


def test_entries_renumbered_out_of_their_order_are_detected(audit: AuditLog, database: Database) -> None:
    fill(audit, 4)
    with database.session() as s:  # swap the numbers of entries 2 and 3, leaving every hash as it was
        for old, new in ((2, 100), (3, 2), (100, 3)):
            s.execute(update(AuditEntry).where(AuditEntry.seq == old).values(seq=new))
    brk = audit.verify().first_break
    assert brk is not None and brk.seq == 2 and "out of order" in brk.reason


def test_entries_swapped_within_a_chain_are_detected(audit: AuditLog, database: Database) -> None:
    fill(audit, 4)
    with database.session() as s:  # swap the places of entries 2 and 3 in their writer's chain
        for seq, place in ((2, 100), (3, 2), (2, 3)):
            s.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(writer_seq=place))
    brk = audit.verify().first_break
    assert brk is not None and brk.seq == 3 and "chain broken" in brk.reason


def test_a_whole_writer_removed_is_detected(database: Database) -> None:
    first, _second = _interleave(database)
    removed = _writer_of(database, 2)
    with database.session() as s:
        s.execute(text("DELETE FROM audit_log WHERE writer = :w"), {"w": removed})
        s.execute(text("DELETE FROM audit_head WHERE id = :w"), {"w": removed})
    brk = first.verify().first_break
    assert brk is not None and f"writer {removed} was removed" in brk.reason


def test_removing_the_register_of_writers_is_detected(database: Database) -> None:
    first, _second = _interleave(database)
    with database.session() as s:
        s.execute(text("DELETE FROM audit_head WHERE id = 0"))
    brk = first.verify().first_break
    assert brk is not None and "register of writers is missing" in brk.reason


def test_a_writer_that_died_before_writing_leaves_a_log_that_verifies(database: Database) -> None:
    _interleave(database)
    crashed = _log(database)
    crashed._current_writer()  # registered at start-up, then the process died before its first append
    fill(_log(database), 2)
    result = _log(database).verify()
    assert result.ok and result.entries_checked == 8


def test_a_crash_inside_an_append_leaves_nothing_half_written(
    audit: AuditLog, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(audit, 2)
    other = _log(database)
    other.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="other")

    def die(*_args: object) -> None:
        raise KeyboardInterrupt  # the process is killed between its insert and its head's seal

    import antin.kernel.audit.service as service

    monkeypatch.setattr(service, "writer_seal", die)
    with pytest.raises(KeyboardInterrupt):
        audit.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="lost")
    monkeypatch.undo()
    other.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="other")
    result = audit.verify()
    assert result.ok and result.entries_checked == 4


def test_a_commit_whose_answer_was_lost_is_not_written_twice(audit: AuditLog) -> None:
    fill(audit, 3)
    writer = audit._writer
    assert writer is not None
    writer.seq -= 1  # as if the last commit succeeded but its answer never came back
    seq = audit.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="after")
    result = audit.verify()
    assert seq == 4 and result.ok and result.entries_checked == 4


def _record_once(log: AuditLog) -> None:
    log.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="child")


def test_a_forked_worker_writes_its_own_chain(audit: AuditLog, database: Database) -> None:
    fill(audit, 2)  # the parent (gunicorn's master with --preload) registered a writer before the fork
    child = multiprocessing.get_context("fork").Process(target=_record_once, args=(audit,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    fill(audit, 1)
    assert _writer_of(database, 3) != _writer_of(database, 1) == _writer_of(database, 4)
    result = audit.verify()
    assert result.ok and result.entries_checked == 4


def test_a_log_from_before_writers_still_verifies_and_keeps_growing(audit: AuditLog, database: Database) -> None:
    fill(audit, 3)
    with database.session() as s:  # what a log written before there were writers looks like after the upgrade
        s.execute(text("DELETE FROM audit_head WHERE id = 0"))
        s.execute(
            update(AuditHead).where(AuditHead.id == 1).values(seal=legacy_seal(head_key("test-secret"), 3, _hash(s)))
        )
    assert audit.verify().ok
    fill(_log(database), 2)  # a new process: writer 2, writer 1 closed and sealed as a writer
    result = audit.verify()
    assert result.ok and result.entries_checked == 5
    with database.session() as s:  # cut off everything since the upgrade: writer 1's new seal gives it away
        s.execute(text("DELETE FROM audit_log WHERE writer = 2"))
        s.execute(text("DELETE FROM audit_head WHERE id IN (0, 2)"))
    brk = audit.verify().first_break
    assert brk is not None and "seal" in brk.reason


def _hash(s: Any) -> str:
    return str(s.execute(text("SELECT entry_hash FROM audit_head WHERE id = 1")).scalar_one())


def test_writers_on_postgresql_keep_one_complete_log(tmp_path: Path) -> None:
    import threading

    with postgres_server(tmp_path / "pg") as url:
        db = Database(url)
        upgrade(db)
        first, second = _interleave(db)
        seqs: list[int] = []

        def worker() -> None:
            for _ in range(20):
                seqs.append(first.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="thread"))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(seqs) == list(range(7, 87))
        writer = first._writer
        assert writer is not None
        writer.seq -= 1  # a lost answer: the one-statement append moves nothing and reads the head again
        assert first.record(AuditEvent.LOGIN_PASSWORD_SUCCESS, actor="after") == 87
        result = second.verify()
        assert result.ok and result.entries_checked == 87
        with db.session() as s:
            s.execute(delete(AuditEntry).where(AuditEntry.seq == 40))
        brk = second.verify().first_break
        assert brk is not None and "missing" in brk.reason
        db.dispose()


def test_the_upgrade_makes_an_old_single_chain_writer_1(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from antin.kernel.audit.chain import GENESIS, entry_hash

    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(db, "9c4e2a7d1b60")  # the last revision with one chain and one head
    prev = GENESIS
    with db.session() as s:
        for seq in (1, 2, 3):
            old = AuditEntry(
                writer_seq=seq, occurred_at=datetime(2026, 1, seq, tzinfo=UTC), event="instance:start", details="{}"
            )
            old.prev_hash = prev
            prev = entry_hash(old)
            values = {"seq": seq, "at": old.occurred_at, "prev": old.prev_hash, "hash": prev}
            s.execute(
                text(
                    "INSERT INTO audit_log (seq, occurred_at, event, details, prev_hash, entry_hash)"
                    " VALUES (:seq, :at, 'instance:start', '{}', :prev, :hash)"
                ),
                values,
            )
        seal = legacy_seal(head_key("test-secret"), 3, prev)
        s.execute(text("INSERT INTO audit_head VALUES (1, 3, :h, :s)"), {"h": prev, "s": seal})
    upgrade(db)
    log = _log(db)
    assert log.verify().ok
    assert log.record(AuditEvent.INSTANCE_START) == 4
    result = log.verify()
    assert result.ok and result.entries_checked == 4
    db.dispose()
