"""The audit anchors in ``antin backup`` and ``antin restore``.

A backup takes an anchor of the audit log just before the database is copied (the copy holds it, and perhaps a
few entries more: a log may only grow past its anchor), keeps it as ``audit-anchor.json`` and the anchor folder's
files under ``audit-anchors/``, all named in the manifest with their digests.

A restore then checks that the restored log holds the backup's own anchor (signed by the instance's key: a backup
whose database was edited, its manifest rewritten to match, is refused), and compares the log with the newest
anchor of ``[audit] anchor_dir``: what the restore lost since the backup is said plainly (expected, not an error),
and a new **epoch** begins with an anchor of the restored log that records the loss, so that the next anchors
(``antin audit anchor``, the servers' timer) are not refused for a log shorter than the folder's newest anchor.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from antin.backup_files import BackupError, private_file, sha256_file
from antin.kernel.audit.anchor import (
    Anchor,
    AnchorError,
    anchor_file_name,
    latest_anchor_file,
    load_anchor,
    take_anchor,
    write_anchor,
)
from antin.kernel.audit.anchor_check import check_anchor, shortfall
from antin.kernel.audit.anchor_job import begin_epoch
from antin.kernel.audit.anchor_keys import AnchorKeyError, TrustedKeys, anchor_signer, instance_keys
from antin.kernel.audit.chain import as_utc
from antin.kernel.audit.models import AuditEntry

if TYPE_CHECKING:
    from antin.kernel.instance import Instance

__all__ = ["ANCHORS_DIR", "BACKUP_ANCHOR", "backup_anchor", "restore_anchors"]

BACKUP_ANCHOR = "audit-anchor.json"
ANCHORS_DIR = "audit-anchors"


def backup_anchor(instance: Instance, folder: Path) -> dict[str, Any]:
    """Copy the anchor folder's files, then anchor the log: to run before the database is copied."""
    copied = 0
    anchor_dir = instance.settings.audit.anchor_dir
    epoch = 0
    try:
        newest = latest_anchor_file(anchor_dir) if anchor_dir is not None else None
        if anchor_dir is not None:
            for path in sorted(anchor_dir.glob("anchor-*.json")):
                shutil.copyfile(path, private_file(folder / ANCHORS_DIR / path.name))
                copied += 1
        if newest is not None:
            epoch = load_anchor(newest, instance_keys(instance)).epoch
        anchor, signature = take_anchor(instance.database, anchor_signer(instance), instance.clock, epoch=epoch)
    except (AnchorKeyError, AnchorError) as err:
        raise BackupError(f"anchor: {err}") from None
    written = write_anchor(anchor, signature, private_file(folder / BACKUP_ANCHOR))
    return {
        "file": BACKUP_ANCHOR,
        "sha256": sha256_file(written),
        "seq": anchor.seq,
        "entries": anchor.entries,
        "anchored_at": anchor.anchored_at,
        "key_id": anchor.key_id,
        "anchor_dir_files": copied,
    }


def restore_anchors(
    instance: Instance, folder: Path, manifest: dict[str, Any], notes: list[str], warnings: list[str]
) -> dict[str, Any]:
    """Check the restored log against the backup's anchor, then against the anchor folder's newest: what the
    part reports; what the operator should know is added to ``notes`` (or ``warnings``). :class:`BackupError`
    when the backup's anchor is not held."""
    part, said, warned = _restore_anchors(instance, folder, manifest)
    notes.extend(said)
    warnings.extend(warned)
    return part


def _restore_anchors(
    instance: Instance, folder: Path, manifest: dict[str, Any]
) -> tuple[dict[str, Any], list[str], list[str]]:
    trusted = instance_keys(instance)  # the restored secret's old key, and the restored token's anchor key
    anchored = _backup_anchor_held(instance, folder, manifest.get("parts", {}).get("anchor"), trusted)
    report: dict[str, Any] = (
        {"checked": True, "backup_anchor": anchored.seq, "anchored_at": anchored.anchored_at}
        if anchored is not None
        else {"checked": False, "note": "the backup holds no audit anchor (made by an earlier version)"}
    )
    anchor_dir = instance.settings.audit.anchor_dir
    if anchor_dir is None:
        return report, [], []
    newest_file = latest_anchor_file(anchor_dir)
    if newest_file is None:
        if anchored is not None:
            report["anchor_dir"] = _start_folder(folder, anchor_dir, anchored)
        return report, [], []
    try:
        newest = load_anchor(newest_file, trusted)
    except (AnchorKeyError, AnchorError) as err:
        report["anchor_dir"] = f"not compared: {err}"
        return report, [], [f"the newest anchor of {anchor_dir} was not compared with the restored log: {err}"]
    found = shortfall(instance.database, newest)
    if not (found.missing or found.overwritten or found.moved):
        report["anchor_dir"] = f"holds {newest_file.name}: nothing lost since"
        return report, [], []
    kept_until = _newest_entry_time(instance)
    lost = found.missing
    said = (
        f"the last {lost} {'entry' if lost == 1 else 'entries'}, recorded after {kept_until} up to"
        f" {newest.recorded_at}, {'is' if lost == 1 else 'are'} not in this backup (the newest anchor,"
        f" {newest_file}, names entry #{newest.seq}; the restored log ends at #{found.newest})"
    )
    restore = {
        "restored_at": _iso(instance.clock()),
        "backup_created_at": manifest.get("created_at"),
        "backup_anchor": None if anchored is None else {"seq": anchored.seq, "anchored_at": anchored.anchored_at},
        "previous_anchor": {"file": newest_file.name, "seq": newest.seq, "anchored_at": newest.anchored_at},
        "lost_entries": lost,
        "lost_after": kept_until,
        "lost_up_to": newest.recorded_at,
    }
    try:
        started = begin_epoch(instance, anchor_dir, newest.epoch + 1, restore)
    except (AnchorKeyError, OSError) as err:
        raise BackupError(f"anchor: the restore's anchor could not be written to {anchor_dir}: {err}") from None
    report.update(lost_entries=lost, lost_after=kept_until, lost_up_to=newest.recorded_at, epoch=newest.epoch + 1)
    report["epoch_anchor"] = str(started)
    return report, [f"{said}; a new epoch of anchors begins with {started.name}"], []


def _backup_anchor_held(
    instance: Instance, folder: Path, part: dict[str, Any] | None, trusted: TrustedKeys
) -> Anchor | None:
    """The backup's own anchor, once its signature verifies and the restored log holds it (None: an older backup)."""
    if part is None:
        return None
    try:
        anchored = load_anchor(folder / part["file"], trusted)
        if anchored.key_id != part["key_id"]:
            raise AnchorError(folder / part["file"], "it is not the anchor the manifest names")
    except (AnchorKeyError, AnchorError) as err:
        raise BackupError(f"the backup's audit anchor is refused: {err}") from None
    brk = check_anchor(instance.database, anchored)
    if brk is not None:
        raise BackupError(
            f"the restored audit log does not hold the anchor this backup was taken with ({brk.reason}): its"
            " database was changed after the backup was made. Do not start the instance on this data folder"
        )
    return anchored


def _start_folder(folder: Path, anchor_dir: Path, own: Anchor) -> str:
    """An empty anchor folder (a new machine) starts from the backup's anchors and its own (all held)."""
    anchor_dir.mkdir(parents=True, exist_ok=True)
    carried = sorted((folder / ANCHORS_DIR).glob("anchor-*.json")) if (folder / ANCHORS_DIR).is_dir() else []
    for path in [*carried, folder / BACKUP_ANCHOR]:
        shutil.copyfile(path, anchor_dir / (path.name if path in carried else anchor_file_name(own)))
    return f"started with the backup's {len(carried) + 1} anchors"


def _newest_entry_time(instance: Instance) -> str | None:
    with instance.database.session() as session:
        newest = session.scalar(select(func.max(AuditEntry.occurred_at)))
    return None if newest is None else _iso(newest)


def _iso(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # as anchors write times
