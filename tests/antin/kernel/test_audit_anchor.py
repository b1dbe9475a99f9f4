"""Signed anchors of the audit log's head: a log that lost its newest entries with the database no longer verifies.

A lagging replica promoted after a failover (or a restore from an older backup) holds a shorter log whose heads
are sealed as correctly as ever: the tests make that state by cutting the tail and resealing the head with the
instance secret, exactly what the database would hold, then show the chain alone passes and the anchor does not.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import delete, select, update

from antin.kernel.audit import AuditEvent, AuditLog
from antin.kernel.audit.anchor import AnchorError, latest_anchor_file, load_anchor, take_anchor, write_anchor
from antin.kernel.audit.anchor_check import check_anchor
from antin.kernel.audit.anchor_keys import TrustedKeys, legacy_public_key
from antin.kernel.audit.chain import head_key, writer_seal
from antin.kernel.audit.models import AuditEntry, AuditHead
from antin.kernel.database import Database
from antin.migrate import upgrade
from tests.servers import postgres_server

SECRET = "test-secret"


class SoftwareSigner:
    """A P-256 key in memory: these tests are of the anchors, not of the HSM (tests/signing/test_anchor_key.py)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    def public_key(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)

    def sign(self, payload: bytes) -> bytes:
        return self.key.sign(payload, ec.ECDSA(hashes.SHA256()))


SIGNER = SoftwareSigner()
TRUSTED = TrustedKeys(keys=[SIGNER.public_key()], legacy=legacy_public_key(SECRET))


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    upgrade(db)
    yield db
    db.dispose()


def fill(audit: AuditLog, n: int) -> None:
    for i in range(n):
        audit.record(AuditEvent.SIGNING_DOCUMENT_SIGN, actor=f"official{i}", details={"n": i})


def anchor_to(database: Database, folder: Path, signer: SoftwareSigner = SIGNER) -> Path:
    anchor, signature = take_anchor(database, signer, lambda: datetime.now(UTC))
    return write_anchor(anchor, signature, folder)


def lose_tail_after(database: Database, seq: int) -> None:
    """The log as a replica that had received entries up to ``seq`` holds it: shorter, and sealed."""
    with database.session() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq > seq))
        last = session.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).one()
        seal = writer_seal(head_key(SECRET), last.writer, last.writer_seq, last.entry_hash)
        session.execute(
            update(AuditHead)
            .where(AuditHead.id == last.writer)
            .values(seq=last.writer_seq, entry_hash=last.entry_hash, seal=seal)
        )


def test_a_lost_tail_passes_the_chain_but_not_the_anchor(database: Database, tmp_path: Path) -> None:
    fill(AuditLog(database, SECRET), 20)
    path = anchor_to(database, tmp_path)
    lose_tail_after(database, 11)

    assert AuditLog(database, SECRET).verify().ok  # the chain alone cannot see it: why anchors exist
    brk = check_anchor(database, load_anchor(path, TRUSTED))
    assert brk is not None and brk.seq == 12
    assert "the last 9 entries up to #20 recorded at" in brk.reason and "ends at #11" in brk.reason


def test_a_log_that_grew_after_the_anchor_holds_it(database: Database, tmp_path: Path) -> None:
    audit = AuditLog(database, SECRET)
    fill(audit, 5)
    path = anchor_to(database, tmp_path)
    fill(audit, 7)
    fill(AuditLog(database, SECRET), 3)  # a second writer (another worker) appears after the anchor
    assert audit.verify().ok
    assert check_anchor(database, load_anchor(path, TRUSTED)) is None


def test_an_empty_log_anchors_and_then_grows(database: Database, tmp_path: Path) -> None:
    path = anchor_to(database, tmp_path)
    fill(AuditLog(database, SECRET), 2)
    assert check_anchor(database, load_anchor(path, TRUSTED)) is None


def test_an_anchored_entry_replaced_is_named(database: Database, tmp_path: Path) -> None:
    fill(AuditLog(database, SECRET), 6)
    path = anchor_to(database, tmp_path)
    with database.session() as session:  # rewritten with a consistent hash: only the anchor can tell
        session.execute(update(AuditEntry).where(AuditEntry.seq == 6).values(entry_hash="f" * 64))
    brk = check_anchor(database, load_anchor(path, TRUSTED))
    assert brk is not None and brk.seq == 6 and brk.reason.startswith("was altered after it was anchored")


def test_a_failover_then_new_entries_is_still_a_loss(database: Database, tmp_path: Path) -> None:
    fill(AuditLog(database, SECRET), 20)
    path = anchor_to(database, tmp_path)
    lose_tail_after(database, 11)
    fill(AuditLog(database, SECRET), 15)  # the promoted database goes on: the log is longer than the anchor again
    brk = check_anchor(database, load_anchor(path, TRUSTED))
    assert brk is not None and "the last 9 entries up to #20" in brk.reason  # a new writer: writer 1 still short


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda doc: doc | {"seq": doc["seq"] - 3}, "signature does not verify"),
        (lambda doc: doc | {"signature": "A" * 86}, "signature does not verify"),
        (lambda doc: doc | {"writers": "none"}, "is not an audit anchor"),
        (lambda doc: {"format": "something else"}, "is not an audit anchor"),
    ],
)
def test_an_altered_anchor_is_refused(database: Database, tmp_path: Path, edit: object, reason: str) -> None:
    fill(AuditLog(database, SECRET), 4)
    path = anchor_to(database, tmp_path)
    assert callable(edit)
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    with pytest.raises(AnchorError, match=reason):
        load_anchor(path, TRUSTED)


def test_an_anchor_of_another_instance_is_refused(database: Database, tmp_path: Path) -> None:
    path = anchor_to(database, tmp_path, signer=SoftwareSigner())
    with pytest.raises(AnchorError, match="not a trusted one"):
        load_anchor(path, TRUSTED)
    path.write_text("{not json")
    with pytest.raises(AnchorError, match="cannot be read"):
        load_anchor(path, TRUSTED)


def test_the_newest_anchor_of_a_folder_is_the_latest_written(database: Database, tmp_path: Path) -> None:
    audit = AuditLog(database, SECRET)
    assert latest_anchor_file(tmp_path) is None
    fill(audit, 2)
    anchor_to(database, tmp_path)
    fill(audit, 2)
    anchor, signature = take_anchor(database, SIGNER, lambda: datetime.now(UTC) + timedelta(minutes=5))
    newest = write_anchor(anchor, signature, tmp_path)
    assert latest_anchor_file(tmp_path) == newest and load_anchor(newest, TRUSTED).seq == 4


def test_on_postgresql_a_lost_tail_is_named(tmp_path: Path) -> None:
    with postgres_server(tmp_path / "pg") as url:
        db = Database(url)
        upgrade(db)
        fill(AuditLog(db, SECRET), 20)
        fill(AuditLog(db, SECRET), 5)  # two writers, as two workers write
        path = anchor_to(db, tmp_path)
        assert check_anchor(db, load_anchor(path, TRUSTED)) is None
        lose_tail_after(db, 16)  # writer 1 lost its last 4 entries, writer 2 all its 5
        brk = check_anchor(db, load_anchor(path, TRUSTED))
        assert brk is not None and "the last 9 entries up to #25" in brk.reason
        db.dispose()


def test_a_server_process_anchors_into_the_folder_and_stops_at_a_loss(tmp_path: Path) -> None:
    import os

    from antin.kernel.audit.anchor_job import AnchorGapError, AnchorJob
    from antin.kernel.audit.anchor_keys import provide_anchor_signer
    from antin.kernel.instance import Instance
    from antin.settings import load_settings

    folder = tmp_path / "anchors"
    environ = {
        "ANTIN_DATA_DIR": str(tmp_path / "data"),
        "ANTIN_SECRET_KEY": SECRET,
        "ANTIN_AUDIT_ANCHOR_DIR": str(folder),
        "ANTIN_AUDIT_ANCHOR_EVERY_MINUTES": "5",
    }
    instance = Instance(load_settings(environ))
    provide_anchor_signer(instance, lambda _instance: SIGNER)
    upgrade(instance.database)
    fill(instance.audit, 20)
    job = AnchorJob(instance)
    first = job.run_once()
    assert first is not None and load_anchor(first, TRUSTED).seq == 20
    assert job.run_once() is None  # another process's anchor of a moment ago is enough
    os.utime(first, (0, 0))  # as if written long ago
    lose_tail_after(instance.database, 11)
    with pytest.raises(AnchorGapError, match="the last 9 entries up to #20"):
        job.run_once()
    assert list(folder.iterdir()) == [first]
    job.start()
    assert job._thread is not None and job._thread.is_alive()
    job.close()
    instance.database.dispose()


def test_anchor_every_minutes_is_checked() -> None:
    from antin.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="ANTIN_AUDIT_ANCHOR_EVERY_MINUTES"):
        load_settings({"ANTIN_AUDIT_ANCHOR_EVERY_MINUTES": "-1"})


def test_an_anchor_signed_with_the_old_derived_key_still_verifies(database: Database, tmp_path: Path) -> None:
    """``antin-audit-anchor/1`` files written before the key moved into the HSM: checked with the secret's key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from antin.kernel.audit.anchor import LEGACY_FORMAT, Anchor, anchor_document
    from antin.kernel.audit.anchor_keys import legacy_key_id

    fill(AuditLog(database, SECRET), 5)
    current, _ = take_anchor(database, SIGNER, lambda: datetime.now(UTC))
    seed = hashlib.sha256(b"antin audit anchor\0" + SECRET.encode()).digest()  # as the previous version derived it
    key = Ed25519PrivateKey.from_private_bytes(seed)
    old = Anchor(
        current.seq,
        current.entry_hash,
        current.recorded_at,
        current.anchored_at,
        current.entries,
        current.writers,
        legacy_key_id(key.public_key()),
        format=LEGACY_FORMAT,
    )
    signature = base64.urlsafe_b64encode(key.sign(old.signed_payload())).decode().rstrip("=")
    document = anchor_document(old, signature)
    assert set(document) == {"format", "seq", "entry_hash", "recorded_at", "anchored_at", "entries", "writers"} | {
        "key_id",
        "signature",
    }
    path = tmp_path / "anchor-old.json"
    path.write_text(json.dumps(document))
    assert load_anchor(path, TRUSTED).seq == 5 and check_anchor(database, load_anchor(path, TRUSTED)) is None
    with pytest.raises(AnchorError, match="another key"):
        load_anchor(path, TrustedKeys(keys=[SIGNER.public_key()], legacy=legacy_public_key("another secret")))
    path.write_text(json.dumps(document | {"seq": 4}))
    with pytest.raises(AnchorError, match="signature does not verify"):
        load_anchor(path, TRUSTED)
