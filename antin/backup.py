"""``antin backup DIR`` and ``antin restore DIR``: one instance's state in a folder, and back.

A backup holds what cannot be rebuilt from the code and the settings: the SQL database, the directory, the HSM
token, the instance's files (generated secrets, CA and TSA certificates, appearance images), the effective
settings with their secrets masked, and a signed anchor of the audit log taken just before the database was
copied, with the anchor folder's files (backup_anchors.py). Both servers stay online: SQLite is copied with its
online backup API and PostgreSQL with ``pg_dump`` (each a consistent snapshot), the managed slapd's MDB database
is read by ``slapcat`` while slapd runs (MDB serves readers beside the writer). ``manifest.json``, written last,
names every file with its SHA-256 and size: a restore checks them all before it writes anything.

The database and the directory are each consistent in themselves; taken one after the other, a change made
between the two (an official created in the directory after the database was copied) is in one and not the other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import click

from antin.backup_anchors import backup_anchor
from antin.backup_files import (
    BackupError,
    copy_softhsm_tokens,
    copy_tree,
    is_empty_folder,
    private_file,
    run_tool,
    sha256_file,
    tighten,
)
from directory.instance import directory_service, managed_slapd
from directory.settings import DirectorySettings
from signing.settings import HsmSettings

if TYPE_CHECKING:
    from antin.kernel.instance import Instance
    from antin.kernel.settings import Settings

__all__ = ["Report", "backup", "masked_settings", "settings_digest"]

FORMAT = 1
MANIFEST = "manifest.json"
SETTINGS_FILE = "settings.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
LDIF_FILE = "directory.ldif"
TOKENS_DIR = "softhsm-tokens"
FILES_DIR = "files"
# Folders and files of the data folder copied as they are (the rest is rebuilt: slapd.conf, ports, locks, metrics).
INSTANCE_FILES = ("secrets", "pki", "signing/images", "demo-accounts.json", "demo-client.json", "demo-totp.json")
# Paths of this machine: a restore onto another folder is not a change of settings.
MACHINE_SETTINGS = (("core", "data_dir"), ("core", "config"))


@dataclass
class Report:
    """What a backup or restore did, printed as lines or as JSON."""

    folder: str
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the operator should know that is not wrong

    def run(self, name: str, step: Callable[[], dict[str, Any]]) -> None:
        """Run one part and keep what it reports, with the seconds it took; its failure is one line naming it."""
        from directory.errors import DirectoryError
        from signing.errors import SigningError

        started = time.monotonic()
        try:
            part = step()
        except (DirectoryError, SigningError, sqlite3.Error, OSError) as err:
            raise BackupError(f"{name}: {err}") from None
        part["seconds"] = round(time.monotonic() - started, 2)
        self.parts[name] = part

    def emit(self, as_json: bool, title: str) -> None:
        if as_json:
            click.echo(json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2))
            return
        click.echo(f"{title}: {self.folder}")
        for name, part in self.parts.items():
            click.echo(f"  {name:<10} " + ", ".join(f"{k}={v}" for k, v in part.items()))
        for note in self.notes:
            click.echo(f"note: {note}")
        for warning in self.warnings:
            click.echo(f"warning: {warning}", err=True)


# -- settings ------------------------------------------------------------------------------------------------


def masked_settings(settings: Settings) -> dict[str, dict[str, Any]]:
    from antin.cli import settings_as_dict

    shown = settings_as_dict(settings)
    for section, key in MACHINE_SETTINGS:
        shown[section].pop(key, None)
    for values in shown.values():
        for key, value in values.items():
            if key.endswith("_token") and value:  # metrics_token: `antin config show` masks by other words
                values[key] = "********"
            elif isinstance(value, str) and "://" in value:
                values[key] = without_password(value)
    return shown


def without_password(url: str) -> str:
    """A URL with the password in its user part masked (a database or Redis URL may carry one)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:********@{host}"))


def settings_digest(shown: dict[str, dict[str, Any]]) -> str:
    """SHA-256 of the effective settings (secrets masked, machine paths left out), in a canonical form."""
    return hashlib.sha256(json.dumps(shown, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def settings_differences(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[str]:
    keys = {(s, k) for part in (old, new) for s in part for k in part[s]}
    return sorted(f"{s}.{k}" for s, k in keys if old.get(s, {}).get(k) != new.get(s, {}).get(k))


# -- the SQL database ----------------------------------------------------------------------------------------


def sqlite_path(settings: Settings) -> Path | None:
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def libpq_target(settings: Settings) -> tuple[str, dict[str, str]]:
    """The database URL for pg_dump/pg_restore, its password passed in the environment (not on a command line)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def copy_sqlite(source: Path, target: Path, *, from_backup: bool = False) -> None:
    """SQLite's online backup: a consistent copy while other processes keep writing.

    The copy is one self-contained file (no WAL beside it); a backup's file is opened immutable, so that reading
    it leaves nothing in the backup folder.
    """
    src = sqlite3.connect(f"file:{source}?mode=ro" + ("&immutable=1" if from_backup else ""), uri=True)
    dst = sqlite3.connect(private_file(target))
    try:
        src.backup(dst)
        if not from_backup:
            dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def backup_database(settings: Settings, folder: Path) -> dict[str, Any]:
    path = sqlite_path(settings)
    if path is not None:
        if not path.exists():
            raise BackupError(f"the database {path} does not exist")
        copy_sqlite(path, folder / SQLITE_FILE)
        return {"kind": "sqlite", "file": SQLITE_FILE}
    url, env = libpq_target(settings)
    run_tool(["pg_dump", "--format=custom", "--no-owner", f"--file={private_file(folder / PG_FILE)}", url], "dump", env)
    return {"kind": "postgresql", "file": PG_FILE}


# -- the directory ---------------------------------------------------------------------------------------------


def backup_directory(instance: Instance, folder: Path) -> dict[str, Any]:
    target = private_file(folder / LDIF_FILE)
    slapd = managed_slapd(instance)
    if slapd is not None:
        if not (slapd.layout.db / "data.mdb").exists():
            raise BackupError(f"the managed directory has no database yet ({slapd.layout.db})")
        slapd.write_config()  # the same file slapd runs with: slapcat reads the suffix and the database from it
        run_tool(
            ["slapcat", "-f", str(slapd.layout.conf), "-o", "ldif-wrap=no", "-l", str(target)], "read the directory"
        )
        return {"kind": "slapcat", "file": LDIF_FILE, "entries": count_ldif_entries(target), "password_hashes": True}
    text, entries, hashes = export_outside_directory(instance)
    target.write_text(text, encoding="utf-8")
    return {"kind": "ldap-export", "file": LDIF_FILE, "entries": entries, "password_hashes": hashes}


def export_outside_directory(instance: Instance) -> tuple[str, int, bool]:
    """Every entry under the base DN with its operational attributes, through the service account.

    The password hashes come along when the service account may read ``userPassword`` (Ấn Tín's ACLs give it
    ``manage``); a directory that hides them yields entries without passwords, and the report says so.
    """
    from directory.ldap_client import Entry, LdapConnection, write_ldif

    directory = directory_service(instance)
    base = instance.settings.section(DirectorySettings).base_dn

    def read_all(conn: LdapConnection) -> list[Entry]:
        out: list[Entry] = []
        cookie = b""
        while True:
            page, cookie = conn.search_page(base, "sub", "(objectClass=*)", ["*", "+"], 500, cookie)
            out.extend(page)
            if not cookie:
                return out

    entries = sorted(directory.pool.run(read_all), key=lambda e: e.dn.count(","))  # parents before children
    hashes = any(e.get("userPassword") for e in entries)
    return write_ldif([(e.dn, {k: list(v) for k, v in e.attrs.items()}) for e in entries]), len(entries), hashes


def count_ldif_entries(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.startswith(b"dn:"))


# -- the HSM token -------------------------------------------------------------------------------------------


def backup_hsm(instance: Instance, folder: Path) -> dict[str, Any]:
    hsm = instance.settings.section(HsmSettings)
    if hsm.module is not None:
        return {"kind": "pkcs11", "module": str(hsm.module), "note": "back the keys up with the HSM's own tools"}
    tokens = instance.data_dir / "softhsm" / "tokens"
    if not tokens.is_dir() or not any(tokens.iterdir()):
        return {"kind": "softhsm2", "tokens": 0}
    count = copy_softhsm_tokens(tokens, folder / TOKENS_DIR)
    return {"kind": "softhsm2", "tokens": count, "label": hsm.token_label}


# -- the commands ------------------------------------------------------------------------------------------


def backup_files(data_dir: Path, folder: Path) -> dict[str, Any]:
    copied = []
    for name in INSTANCE_FILES:
        source = data_dir / name
        if source.exists():
            copy_tree(source, folder / FILES_DIR / name)
            copied.append(name)
    return {"copied": " ".join(copied) or "none"}


def build_info() -> dict[str, str | None]:
    try:
        version: str | None = metadata.version("antin")
    except metadata.PackageNotFoundError:
        version = None
    commit = None
    source = Path(__file__).resolve().parent.parent
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=5
        )
        commit = found.stdout.strip() or None if found.returncode == 0 else None
    return {"version": version, "commit": commit}


def write_manifest(folder: Path, header: dict[str, Any]) -> dict[str, Any]:
    files = {
        str(p.relative_to(folder)): {"sha256": sha256_file(p), "size": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {**header, "files": files}
    partial = private_file(folder / (MANIFEST + ".partial"))
    partial.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    partial.rename(folder / MANIFEST)  # last, and whole: a folder without it is an unfinished backup
    return manifest


@click.command("backup")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def backup(instance: Instance, folder: Path, as_json: bool) -> None:
    """Back up this instance into FOLDER (new or empty): database, directory, HSM token, keys, settings.

    The database and the directory stay online. Restore with `antin restore FOLDER`.
    """
    if not is_empty_folder(folder):
        raise BackupError(f"{folder} is not empty: back up into a new folder")
    started = time.monotonic()
    os.umask(0o077)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    report = Report(str(folder.resolve()))
    # the anchor first: the database copied after it holds every entry it names (and perhaps a few more)
    report.run("anchor", lambda: backup_anchor(instance, folder))
    report.run("database", lambda: backup_database(instance.settings, folder))
    report.run("directory", lambda: backup_directory(instance, folder))
    report.run("hsm", lambda: backup_hsm(instance, folder))
    report.run("files", lambda: backup_files(instance.data_dir, folder))
    shown = masked_settings(instance.settings)
    (private_file(folder / SETTINGS_FILE)).write_text(json.dumps(shown, indent=2, ensure_ascii=False), encoding="utf-8")
    tighten(folder)
    manifest = write_manifest(
        folder,
        {
            "format": FORMAT,
            **build_info(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "settings_sha256": settings_digest(shown),
            "parts": report.parts,
        },
    )
    total = sum(f["size"] for f in manifest["files"].values())
    report.parts["manifest"] = {"files": len(manifest["files"]), "bytes": total}
    report.parts["time"] = {"seconds": round(time.monotonic() - started, 2)}
    report.emit(as_json, "backup written")
