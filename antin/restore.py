"""``antin restore DIR``: a backup written by ``antin backup`` onto a fresh data folder.

Every file is checked against the manifest before anything is written, so that a truncated or altered backup is
refused with the file named and the target left as it was. Then the instance's files (secrets first: the audit
chain's key derives from the secret key), the database, the directory (``slapadd`` into a fresh managed slapd)
and the SoftHSM2 token are put back, and the result is checked: the directory answers the service account, the
HSM token opens, the audit chain verifies and holds the backup's anchor; what the restore lost since the backup
(the anchor folder's newer anchors) is said, and a new epoch of anchors begins (backup_anchors.py).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from antin.backup import (
    FILES_DIR,
    FORMAT,
    LDIF_FILE,
    MANIFEST,
    PG_FILE,
    SETTINGS_FILE,
    SQLITE_FILE,
    TOKENS_DIR,
    Report,
    copy_sqlite,
    libpq_target,
    masked_settings,
    settings_differences,
    settings_digest,
    sqlite_path,
)
from antin.backup_anchors import restore_anchors
from antin.backup_files import BackupError, copy_tree, is_empty_folder, run_tool, sha256_file
from directory.instance import directory_service, managed_slapd
from directory.settings import DirectorySettings
from signing.settings import HsmSettings

if TYPE_CHECKING:
    from antin.kernel.instance import Instance

__all__ = ["restore", "verify_backup"]


def verify_backup(folder: Path) -> dict[str, Any]:
    """The manifest, once every file it names has its size and digest and no other file is there."""
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} holds no {MANIFEST}: not a backup, or one that did not finish") from None
    except (OSError, ValueError) as err:
        raise BackupError(f"{MANIFEST} cannot be read: {err}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST}: format {manifest.get('format')!r} is not one this version restores")
    listed: dict[str, dict[str, Any]] = manifest.get("files", {})
    root = folder.resolve()
    for name, expected in listed.items():
        path = (folder / name).resolve()
        if not path.is_relative_to(root):
            raise BackupError(f"{MANIFEST} names a file outside the backup: {name}")
        if not path.is_file():
            raise BackupError(f"{name} is missing from the backup")
        if path.stat().st_size != expected["size"]:
            raise BackupError(f"{name} has {path.stat().st_size} bytes, the manifest says {expected['size']}")
        if sha256_file(path) != expected["sha256"]:
            raise BackupError(f"{name} does not match its SHA-256 in the manifest: the file was altered")
    for path in folder.rglob("*"):
        name = str(path.relative_to(folder))
        if path.is_file() and name != MANIFEST and name not in listed:
            raise BackupError(f"{name} is not in the manifest: it was added to the backup")
    return manifest


def running_slapd(data_dir: Path) -> bool:
    from directory.slapd import ManagedSlapd

    # built by hand, not through the instance: that one would create the service password's secret file
    return ManagedSlapd(data_dir / "slapd", base_dn="", service_password="").is_running()


def check_target(instance: Instance, manifest: dict[str, Any], force: bool) -> None:
    """Refuse what would mix two instances, before anything is written."""
    data_dir = instance.data_dir
    if not force and not is_empty_folder(data_dir):
        raise BackupError(f"the data folder {data_dir} is not empty: restore onto a fresh one, or pass --force")
    if instance.settings.section(DirectorySettings).managed and running_slapd(data_dir):
        raise BackupError(f"a managed slapd may be running on {data_dir}: stop the instance first")
    kind = manifest["parts"]["database"]["kind"]
    here = "sqlite" if sqlite_path(instance.settings) is not None else "postgresql"
    if kind != here:
        raise BackupError(f"the backup holds a {kind} database and the settings name {here}: use the same kind")
    database = sqlite_path(instance.settings)
    if database is not None and not force and database.exists():
        raise BackupError(f"the database {database} exists: restore onto a fresh one, or pass --force")
    if here == "postgresql" and not force and postgres_tables(instance.settings.database_url):
        raise BackupError("the PostgreSQL database is not empty: restore into a new one, or pass --force")


def postgres_tables(url: str) -> list[str]:
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or type(err).__name__).splitlines()[0]
        raise BackupError(f"the PostgreSQL database cannot be reached: {reason}") from None
    finally:
        engine.dispose()


def restore_files(folder: Path, data_dir: Path, force: bool) -> list[str]:
    source = folder / FILES_DIR
    names = sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()) if source.is_dir() else []
    if force:
        for top in {name.split("/")[0] for name in names} - {"signing"}:
            target = data_dir / top
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    for name in names:
        copy_tree(source / name, data_dir / name)
    return names


def restore_database(instance: Instance, folder: Path, force: bool) -> dict[str, Any]:
    path = sqlite_path(instance.settings)
    if path is not None:
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        copy_sqlite(folder / SQLITE_FILE, path, from_backup=True)
        return {"kind": "sqlite", "file": str(path)}
    url, env = libpq_target(instance.settings)
    clean = ["--clean", "--if-exists"] if force else []
    run_tool(
        ["pg_restore", "--no-owner", "--exit-on-error", *clean, f"--dbname={url}", str(folder / PG_FILE)],
        "restore",
        env,
    )
    return {"kind": "postgresql"}


def restore_directory(instance: Instance, folder: Path, part: dict[str, Any]) -> dict[str, Any]:
    slapd = managed_slapd(instance)
    if slapd is None:
        return {"kind": part["kind"], "loaded": False, "note": f"load {LDIF_FILE} into your directory with its tools"}
    shutil.rmtree(slapd.layout.db, ignore_errors=True)
    for stale in (slapd.layout.portfile, slapd.folder / "ldaps-port"):
        stale.unlink(missing_ok=True)  # a fresh machine picks its own ports
    # slapadd writes the entries as they were, operational attributes included (entryUUID, memberOf, ppolicy
    # state): it bypasses the overlays, which is what a restore wants.
    slapd.slapadd(folder / LDIF_FILE)
    started = slapd.ensure_running()
    try:
        directory_service(instance).check()  # the service account binds with the restored secret
    finally:
        if started:
            slapd.stop()
    return {"kind": part["kind"], "loaded": True, "entries": part.get("entries")}


def restore_hsm(instance: Instance, folder: Path, part: dict[str, Any]) -> dict[str, Any]:
    if part["kind"] != "softhsm2" or not (folder / TOKENS_DIR).is_dir():
        return {"kind": part["kind"], "restored": False}
    if instance.settings.section(HsmSettings).module is not None:
        return {"kind": "softhsm2", "restored": False, "note": "the settings name another PKCS#11 module"}
    from signing.components import keystore_for
    from signing.hsm import ensure_softhsm_token

    softhsm = instance.data_dir / "softhsm"
    shutil.rmtree(softhsm, ignore_errors=True)
    copy_tree(folder / TOKENS_DIR, softhsm / "tokens")
    hsm = instance.settings.section(HsmSettings)
    # softhsm2.conf names the token folder by its absolute path: written afresh for this folder
    ensure_softhsm_token(softhsm, label=hsm.token_label, pin=hsm.pin, so_pin=hsm.so_pin)
    keystore = keystore_for(instance)
    try:
        keystore.check()  # the restored token opens with the configured PIN
    finally:
        keystore.close()
    return {"kind": "softhsm2", "restored": True, "tokens": part.get("tokens")}


@click.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Restore into a data folder (or database) that is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def restore(instance: Instance, folder: Path, force: bool, as_json: bool) -> None:
    """Restore a backup made by `antin backup` onto this instance's fresh data folder.

    Every file is checked against the manifest first; then the database, directory, HSM token and keys are
    restored and the audit chain is verified.
    """
    started = time.monotonic()
    manifest = verify_backup(folder)
    check_target(instance, manifest, force)
    report = Report(str(instance.data_dir.resolve()))
    report.parts["backup"] = {
        "created_at": manifest.get("created_at"),
        "version": manifest.get("version"),
        "files_checked": len(manifest["files"]),
        "seconds": round(time.monotonic() - started, 2),
    }
    old = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    new = masked_settings(instance.settings)
    if settings_digest(new) != manifest.get("settings_sha256"):
        report.warnings.append("settings differ from the backup's: " + ", ".join(settings_differences(old, new)))
    os.umask(0o077)
    instance.ensure_data_dir()
    report.run("files", lambda: {"restored": len(restore_files(folder, instance.data_dir, force))})
    report.run("database", lambda: restore_database(instance, folder, force))
    report.run("directory", lambda: restore_directory(instance, folder, manifest["parts"]["directory"]))
    report.run("hsm", lambda: restore_hsm(instance, folder, manifest["parts"]["hsm"]))
    if manifest["parts"]["hsm"]["kind"] == "pkcs11":
        report.warnings.append("the keys are in a network HSM: restore them with the HSM's own tools")
    audit_started = time.monotonic()
    result = instance.audit.verify()
    brk = result.first_break
    report.parts["audit"] = {"ok": result.ok, "entries_checked": result.entries_checked}
    if brk is not None:
        report.parts["audit"]["first_break"] = f"entry {brk.seq}: {brk.reason}"
    if result.ok:
        report.parts["anchor"] = restore_anchors(instance, folder, manifest, report.notes, report.warnings)
    report.parts["audit"]["seconds"] = round(time.monotonic() - audit_started, 2)
    report.parts["time"] = {"seconds": round(time.monotonic() - started, 2)}
    report.emit(as_json, "restored into")
    if not result.ok:
        raise BackupError(f"the restored audit log is BROKEN at entry {brk.seq if brk else '?'}")
