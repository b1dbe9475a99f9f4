"""`antin backup` and `antin restore` with the audit anchors, through the command line (real slapd, SoftHSM2,
SQLite and PostgreSQL).

The operator's story: the instance anchors its log into a folder on another disk; a backup is taken; the log goes
on and is anchored again; the database is lost and the backup restored. The restore must say what was lost since
the backup (7 entries), the next anchor must not be refused for the now shorter log, and a verify must still catch
what an anchor from before the restore names. A backup whose database was edited after it was made (its manifest
rewritten to match) is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from antin.backup_files import sha256_file
from antin.kernel.audit import AuditEvent
from antin.kernel.audit.chain import head_key, writer_seal
from antin.kernel.audit.models import AuditEntry, AuditHead
from antin.kernel.database import Database
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import directory_service
from tests.antin.test_backup import antin, database_server, instance_env
from tests.components import free_port, require_command
from tests.signing.conftest import require_softhsm

RECORD = (
    "import sys\nfrom antin.cli import build_instance\nfrom antin.kernel.audit import AuditEvent\n"
    "i = build_instance()\n"
    "[i.audit.record(AuditEvent.SIGNING_DOCUMENT_SIGN, actor='nguyenvanan') for _ in range(int(sys.argv[1]))]\n"
)


def record(env: dict[str, str], count: int) -> None:
    subprocess.run([sys.executable, "-c", RECORD, str(count)], env=env, check=True, timeout=60)


@dataclass
class Story:
    folder: Path
    env: dict[str, str]
    anchors: Path
    """The anchor folder as it was when the database was lost (each restore works on its own copy)."""
    before_restore: str
    """The name of the folder's newest anchor then: 7 entries after the backup's."""
    fresh_database: Callable[[], str | None]

    def target_env(self, data_dir: Path, **changes: str) -> dict[str, str]:
        env = self.env | {"ANTIN_DATA_DIR": str(data_dir)} | changes
        url = self.fresh_database()
        return env | {"ANTIN_DATABASE_URL": url} if url else env

    def anchors_copy(self, where: Path) -> Path:
        shutil.copytree(self.anchors, where)
        return where


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def story(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    require_softhsm()
    require_command("slapcat", hint="scripts/install-system-packages.sh (package slapd)")
    root = tmp_path_factory.mktemp(f"anchored-{request.param}")
    with database_server(request.param, root / "pg") as (database, fresh):
        anchors = root / "anchors"
        env = instance_env(root / "source", f"http://localhost:{free_port()}") | database
        env["ANTIN_AUDIT_ANCHOR_DIR"] = str(anchors)
        source = Instance(load_settings(env), start_directory=True)
        try:
            upgrade(source.database)
            directory_service(source).check()  # the managed slapd runs and has its database
            for i in range(10):
                source.audit.record(AuditEvent.SIGNING_DOCUMENT_SIGN, actor="annv", details={"n": i})
            assert antin(["audit", "anchor"], env).returncode == 0
            record(env, 5)
            backed_up = antin(["backup", str(root / "backup"), "--json"], env)
            assert backed_up.returncode == 0, backed_up.stderr
            record(env, 7)  # after the backup: what a restore of it loses
            assert antin(["audit", "anchor"], env).returncode == 0
            newest = sorted(anchors.iterdir())[-1]
            yield Story(root / "backup", env, anchors, newest.name, fresh)
        finally:
            source.close()


def test_the_backup_keeps_its_anchor_and_the_folders_in_the_manifest(story: Story) -> None:
    manifest = json.loads((story.folder / "manifest.json").read_text())
    part = manifest["parts"]["anchor"]
    assert (part["seq"], part["entries"], part["anchor_dir_files"]) == (15, 15, 1)
    digest = sha256_file(story.folder / part["file"])
    assert manifest["files"]["audit-anchor.json"]["sha256"] == part["sha256"] == digest
    (carried,) = (story.folder / "audit-anchors").iterdir()
    assert carried.name in {p.name for p in story.anchors.iterdir()}
    assert f"audit-anchors/{carried.name}" in manifest["files"]
    document = json.loads((story.folder / "audit-anchor.json").read_text())
    assert document["format"] == "antin-audit-anchor/2" and document["key_id"] == part["key_id"]


def test_a_restore_says_what_it_lost_and_anchoring_goes_on(story: Story, tmp_path: Path) -> None:
    anchors = story.anchors_copy(tmp_path / "anchors")
    before_restore = anchors / story.before_restore
    env = story.target_env(tmp_path / "restored", ANTIN_AUDIT_ANCHOR_DIR=str(anchors))
    restored = antin(["restore", str(story.folder), "--json"], env)
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert report["parts"]["audit"]["ok"] is True
    part = report["parts"]["anchor"]
    assert (part["checked"], part["backup_anchor"], part["lost_entries"], part["epoch"]) == (True, 15, 7, 1)
    [note] = report["notes"]
    assert note.startswith(f"the last 7 entries, recorded after {part['lost_after']} up to {part['lost_up_to']}")
    assert f"are not in this backup (the newest anchor, {before_restore}, names entry #22" in note
    assert part["lost_after"] < part["lost_up_to"]
    epoch_anchor = json.loads(Path(part["epoch_anchor"]).read_text())
    assert (epoch_anchor["epoch"], epoch_anchor["seq"], epoch_anchor["restore"]["lost_entries"]) == (1, 15, 7)

    verified = antin(["audit", "verify"], env)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("audit log intact: 15 entries checked; holds anchor #15 of ")
    assert "; epoch 1 began with a restore at " in verified.stdout and "that lost 7 entries" in verified.stdout
    as_json = json.loads(antin(["audit", "verify", "--json"], env).stdout)
    assert as_json["ok"] is True and as_json["anchor"]["epoch"] == 1
    assert as_json["anchor"]["restore"]["previous_anchor"]["file"] == story.before_restore
    # an anchor from before the restore still names the loss when asked
    older = antin(["audit", "verify", "--anchor", str(before_restore)], env)
    assert older.returncode == 1 and "the last 7 entries up to #22 recorded at" in older.stderr

    record(env, 3)  # the restored instance goes on: its anchors are not refused for the shorter log
    anchored = antin(["audit", "anchor"], env)
    assert anchored.returncode == 0, anchored.stderr
    assert "anchored entry #18 (18 entries)" in anchored.stdout
    assert json.loads(sorted(anchors.iterdir())[-1].read_text())["epoch"] == 1
    again = antin(["audit", "verify"], env)
    assert again.returncode == 0 and again.stdout.startswith("audit log intact: 18 entries checked; holds anchor #18")


def test_a_new_machine_starts_its_anchor_folder_from_the_backup(story: Story, tmp_path: Path) -> None:
    anchors = tmp_path / "new-anchors"
    env = story.target_env(tmp_path / "restored", ANTIN_AUDIT_ANCHOR_DIR=str(anchors))
    restored = antin(["restore", str(story.folder), "--json"], env)
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert report["parts"]["anchor"]["anchor_dir"] == "started with the backup's 2 anchors" and report["notes"] == []
    assert len(list(anchors.iterdir())) == 2
    assert antin(["audit", "anchor"], env).returncode == 0
    assert antin(["audit", "verify"], env).returncode == 0


def sqlite_backup_edited(story: Story, copy: Path, edit: Callable[[Path], None]) -> None:
    """A copy of the backup with a file edited and the manifest rewritten to match (what a forger would do)."""
    shutil.copytree(story.folder, copy)
    manifest: dict[str, Any] = json.loads((copy / "manifest.json").read_text())
    for name in manifest["files"]:
        if name in ("database.sqlite3", "audit-anchor.json"):
            edit(copy / name)
            manifest["files"][name] = {"sha256": sha256_file(copy / name), "size": (copy / name).stat().st_size}
    (copy / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("story", ["sqlite"], indirect=True)  # the forged database is made on the SQLite backup
def test_a_backup_whose_log_does_not_hold_its_own_anchor_is_refused(story: Story, tmp_path: Path) -> None:
    secret = (story.folder / "files" / "secrets" / "secret_key").read_text().strip()

    def cut_tail(path: Path) -> None:
        # the last 3 entries taken out and the head sealed again with the backup's own secret: a valid chain
        if path.name != "database.sqlite3":
            return
        db = Database(f"sqlite:///{path}")
        with db.session() as session:
            session.execute(delete(AuditEntry).where(AuditEntry.seq > 12))
            last = session.scalars(select(AuditEntry).where(AuditEntry.seq == 12)).one()
            seal = writer_seal(head_key(secret), last.writer, last.writer_seq, last.entry_hash)
            values = {"seq": last.writer_seq, "entry_hash": last.entry_hash, "seal": seal}
            session.execute(update(AuditHead).where(AuditHead.id == last.writer).values(**values))
        db.dispose()

    sqlite_backup_edited(story, tmp_path / "forged", cut_tail)
    refused = antin(["restore", str(tmp_path / "forged")], story.target_env(tmp_path / "t1"))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    said = "the restored audit log does not hold the anchor this backup was taken with (the last 3 entries up to #15"
    assert said in refused.stderr, refused.stderr
    assert "database was changed after the backup was made" in refused.stderr, refused.stderr

    def edit_anchor(path: Path) -> None:
        if path.name == "audit-anchor.json":
            document = json.loads(path.read_text())
            path.write_text(json.dumps(document | {"seq": 12}))

    sqlite_backup_edited(story, tmp_path / "anchor-edited", edit_anchor)
    refused = antin(["restore", str(tmp_path / "anchor-edited")], story.target_env(tmp_path / "t2"))
    assert refused.returncode == 1 and "the backup's audit anchor is refused" in refused.stderr
    assert "its signature does not verify" in refused.stderr


@pytest.mark.parametrize("story", ["sqlite"], indirect=True)  # the older backup is made from the SQLite one
def test_a_backup_of_an_earlier_version_without_an_anchor_still_begins_an_epoch(story: Story, tmp_path: Path) -> None:
    old = tmp_path / "old-backup"
    shutil.copytree(story.folder, old)
    manifest: dict[str, Any] = json.loads((old / "manifest.json").read_text())
    del manifest["parts"]["anchor"]
    for name in [n for n in manifest["files"] if n.startswith("audit-anchor")]:
        del manifest["files"][name]
        (old / name).unlink()
    (old / "audit-anchors").rmdir()
    (old / "manifest.json").write_text(json.dumps(manifest))
    anchors = story.anchors_copy(tmp_path / "anchors")
    env = story.target_env(tmp_path / "restored", ANTIN_AUDIT_ANCHOR_DIR=str(anchors))
    restored = antin(["restore", str(old), "--json"], env)
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    part = report["parts"]["anchor"]
    assert (part["checked"], part["lost_entries"], part["epoch"]) == (False, 7, 1)
    assert "earlier version" in part["note"] and "the last 7 entries" in report["notes"][0]
    assert antin(["audit", "anchor"], env).returncode == 0
