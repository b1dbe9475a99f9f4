"""`antin backup` and `antin restore`, end to end: real slapd, SoftHSM2 and SQLite, through the command line.

An instance with an official (password, group, a failed sign-in in ppolicy's state), a signed PDF, an OIDC client
and a refresh token is backed up while its slapd runs, then restored into a fresh data folder. What an operator
would check afterwards is asserted: the official signs in with the same password, the old signature verifies
(our verifier and pyHanko's), the audit chain verifies, the refresh token issued before the backup works, and
the restored HSM key signs again. A tampered backup and a non-empty target are refused.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import create_engine, text

from antin.app import create_app
from antin.backup import masked_settings
from antin.backup_files import copy_softhsm_tokens
from antin.kernel.audit import AuditEvent
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import directory_service, managed_slapd
from directory.models import AuthStatus, NewPerson, UnitKind
from directory.slapd import ManagedSlapd
from idp.oidc.clients import ClientSpec
from idp.oidc.service import get_provider
from idp.oidc.tokens import GrantContext
from signing.samples import sample_pdf
from signing.service import SignRequest, signing_service
from signing.validation.service import policy_from_settings, verify_bytes
from tests.components import free_port, require_command
from tests.servers import postgres_server
from tests.signing.conftest import require_softhsm
from tests.signing.independent import ades_verdicts

UID = "annv"
PASSWORD = "Mật-khẩu-2025!"


@dataclass
class Backup:
    folder: Path
    env: dict[str, str]
    """The environment of the backed-up instance (its data folder, issuer, HSM label)."""
    signed_pdf: bytes
    entry_uuid: str
    client_id: str
    client_secret: str
    refresh_token: str
    report: dict[str, Any]
    database_file: str
    audit_entries_before: int
    """Entries of the audit chain when the backup started (more were appended while it ran)."""
    fresh_database: Callable[[], str | None]
    """A new empty database for a restore (PostgreSQL), or None (SQLite lives in the data folder)."""

    def target_env(self, data_dir: Path) -> dict[str, str]:
        """The environment of a fresh instance: the same settings, another data folder (and database)."""
        env = self.env | {"ANTIN_DATA_DIR": str(data_dir)}
        url = self.fresh_database()
        return env | {"ANTIN_DATABASE_URL": url} if url else env


def antin(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "antin", *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def instance_env(data_dir: Path, issuer: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    return clean | {
        "ANTIN_DATA_DIR": str(data_dir),
        "ANTIN_ISSUER": issuer,
        "ANTIN_ENV": "test",
        "ANTIN_LOG_LEVEL": "WARNING",
        "ANTIN_HSM_TOKEN_LABEL": "antin-backup",
        "ANTIN_HSM_SO_PIN": "so-pin-5678",
    }


def build_source(instance: Instance) -> tuple[bytes, str, str, str, str]:
    """An official with a group and a failed sign-in, a B-LT signature, and a refresh token of a client."""
    directory = directory_service(instance)
    directory.create_unit("HT", "Tỉnh ủy Hà Tĩnh", UnitKind.PROVINCIAL_COMMITTEE, None)
    person = directory.create_person(
        NewPerson(uid=UID, full_name="Nguyễn Văn An", unit_code="HT", password=PASSWORD, position="Chánh Văn phòng")
    )
    directory.create_group("ky-so-ht", "Người ký số Tỉnh ủy", is_role=True, unit_code="HT")
    directory.add_member("ky-so-ht", uid=UID)
    assert directory.authenticate(UID, "not-the-password").status is AuthStatus.INVALID_CREDENTIALS

    service = signing_service(instance)
    service.ensure_pki()
    service.issue_certificate(UID, actor="test")
    out = io.BytesIO()
    service.sign(io.BytesIO(sample_pdf()), out, SignRequest(signer_uid=UID, level="B-LT", reason="Ban hành"))

    provider = get_provider(instance)
    client, secret = provider.clients.add(
        ClientSpec(name="Công văn", redirect_uris=("https://congvan.example/cb",), client_id="cong-van")
    )
    assert secret is not None
    context = GrantContext(client=client, subject=person.entry_uuid, scope="openid profile")
    tokens, _grant = provider.tokens.issue(context, refresh=True)
    instance.audit.record(AuditEvent.INSTANCE_START, details={"mode": "test"})
    return out.getvalue(), person.entry_uuid, client.client_id, secret, str(tokens["refresh_token"])


def keep_auditing(instance: Instance, done: threading.Event) -> None:
    while not done.is_set():
        instance.audit.record(AuditEvent.LOGIN_PASSWORD_FAILURE, actor=UID, details={"during": "backup"})


@contextmanager
def database_server(kind: str, folder: Path) -> Iterator[tuple[dict[str, str], Callable[[], str | None]]]:
    """Settings of the source's database, and a maker of fresh databases for restores."""
    if kind == "sqlite":
        yield {}, lambda: None
        return
    require_command("pg_dump", hint="scripts/install-system-packages.sh test (package postgresql)")
    with postgres_server(folder) as url:
        names = itertools.count(1)

        def fresh() -> str:
            name = f"restored{next(names)}"
            engine = create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            engine.dispose()
            return url.replace("/antin?", f"/{name}?")

        yield {"ANTIN_DATABASE_URL": url}, fresh


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backup]:
    require_softhsm()
    require_command("slapcat", hint="scripts/install-system-packages.sh (package slapd)")
    root = tmp_path_factory.mktemp(f"backup-{request.param}")
    with database_server(request.param, root / "pg") as (database, fresh):
        env = instance_env(root / "source", f"http://localhost:{free_port()}") | database
        instance = Instance(load_settings(env), start_directory=True)
        try:
            upgrade(instance.database)
            signed, entry_uuid, client_id, secret, refresh = build_source(instance)
            # online: slapd runs, this process holds an HSM session and keeps appending to the audit chain (each
            # entry sealed to the previous one) while the backup is taken; the restored chain must still verify
            assert managed_slapd(instance) is not None and managed_slapd(instance).is_running()
            entries_before = instance.audit.verify().entries_checked
            done = threading.Event()
            writing = threading.Thread(target=keep_auditing, args=(instance, done))
            writing.start()
            try:
                result = antin(["backup", str(root / "backup"), "--json"], env)
            finally:
                done.set()
                writing.join(30)
            assert result.returncode == 0, result.stderr
            report = json.loads(result.stdout)
            yield Backup(
                root / "backup",
                env,
                signed,
                entry_uuid,
                client_id,
                secret,
                refresh,
                report,
                report["parts"]["database"]["file"],
                entries_before,
                fresh,
            )
        finally:
            signing_service(instance).close()
            instance.close()


def restore_into(data_dir: Path, backup: Backup, *extra: str) -> subprocess.CompletedProcess[str]:
    return antin(["restore", str(backup.folder), *extra], backup.target_env(data_dir))


def test_a_backup_is_private_and_lists_every_file_with_its_digest(backup: Backup) -> None:
    assert stat.S_IMODE(backup.folder.stat().st_mode) == 0o700
    manifest = json.loads((backup.folder / "manifest.json").read_text())
    assert manifest["parts"]["database"]["kind"] in ("sqlite", "postgresql")
    assert manifest["parts"]["directory"] == backup.report["parts"]["directory"]
    assert manifest["parts"]["directory"]["kind"] == "slapcat" and manifest["parts"]["hsm"]["tokens"] == 1
    assert len(manifest["settings_sha256"]) == 64 and manifest["version"]
    on_disk = {str(p.relative_to(backup.folder)) for p in backup.folder.rglob("*") if p.is_file()}
    assert on_disk - set(manifest["files"]) == {"manifest.json"}
    for name in (backup.database_file, "directory.ldif", "files/secrets/secret_key", "files/pki/root-ca.pem"):
        assert name in manifest["files"], name
        assert stat.S_IMODE((backup.folder / name).stat().st_mode) == 0o600, name
    ldif = (backup.folder / "directory.ldif").read_text()
    # the directory as slapd keeps it: password hashes, memberOf and ppolicy's state, not only what an export shows
    assert "userPassword:: " in ldif and "pwdFailureTime: " in ldif and "memberOf: cn=ky-so-ht" in ldif


def test_the_restored_instance_signs_in_verifies_and_keeps_its_tokens(backup: Backup, tmp_path: Path) -> None:
    data_dir = tmp_path / "restored"
    env = backup.target_env(data_dir)
    result = antin(["restore", str(backup.folder), "--json"], env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["parts"]["audit"]["ok"] is True and report["parts"]["directory"]["loaded"] is True
    assert report["parts"]["audit"]["entries_checked"] > backup.audit_entries_before  # some written during it
    assert report["parts"]["database"]["kind"] == backup.report["parts"]["database"]["kind"]
    # the same settings, but for the data folder and the database's name, which are this machine's
    moved_database = ["settings differ from the backup's: database.url"]
    assert report["warnings"] == ([] if backup.database_file == "database.sqlite3" else moved_database)

    restored = Instance(load_settings(env), start_directory=True)
    try:
        # ppolicy's state came back with the entries (slapadd runs no overlay; slapcat had it all)
        person = directory_service(restored).find_by_uid(UID)
        slapd = managed_slapd(restored)
        assert slapd is not None and person is not None
        conn = slapd.admin_connection()
        entry = conn.read(person.dn, ["pwdFailureTime"])
        conn.close()
        assert entry is not None and entry.get("pwdFailureTime")
        # the official signs in with the same password against the restored slapd, same entryUUID (OIDC sub)
        outcome = directory_service(restored).authenticate(UID, PASSWORD)
        assert outcome.status is AuthStatus.SUCCESS and outcome.person is not None
        assert outcome.person.entry_uuid == backup.entry_uuid
        assert "ky-so-ht" in outcome.person.groups

        # the signature made before the backup verifies with the restored CA, by us and by pyHanko
        policy = policy_from_settings(restored.settings)
        assert str(verify_bytes(backup.signed_pdf, policy).indication) == "TOTAL_PASSED"
        root = (data_dir / "pki" / "root-ca.pem").read_bytes()
        root_der = base64.b64decode(b"".join(root.strip().splitlines()[1:-1]))
        assert [v.status for v in ades_verdicts(backup.signed_pdf, [root_der])] == ["PASSED"]

        # and the restored HSM key signs again
        service = signing_service(restored)
        out = io.BytesIO()
        service.sign(io.BytesIO(sample_pdf()), out, SignRequest(signer_uid=UID, level="B-LT"))
        assert str(verify_bytes(out.getvalue(), policy).indication) == "TOTAL_PASSED"

        assert restored.audit.verify().ok

        # the refresh token issued before the backup is honoured: its grant rows came back with the database
        app = create_app(instance=restored)
        client = app.test_client()
        answer = client.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": backup.refresh_token},
            auth=(backup.client_id, backup.client_secret),
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
        access = jwt.decode(answer.get_json()["access_token"], keys)
        assert access.claims["sub"] == backup.entry_uuid and access.claims["client_id"] == backup.client_id
        # rotation holds too: the same refresh token a second time is refused
        again = client.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": backup.refresh_token},
            auth=(backup.client_id, backup.client_secret),
        )
        assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
        service.close()
    finally:
        restored.close()


def test_a_tampered_or_truncated_backup_is_refused_with_the_file_named(backup: Backup, tmp_path: Path) -> None:
    damages: list[tuple[str, Callable[[bytes], bytes]]] = [
        ("directory.ldif", lambda b: b.replace(b"uid: annv", b"uid: anna", 1)),  # another account, same size
        (backup.database_file, lambda b: b[: len(b) // 2]),
        (
            "files/secrets/secret_key",
            lambda b: (b"y" if b.startswith(b"x") else b"x") + b[1:],
        ),  # a random key may begin with x
    ]
    for name, damage in damages:
        copy = tmp_path / f"copy-{name.replace('/', '-')}"
        shutil.copytree(backup.folder, copy)
        target = copy / name
        damaged = damage(target.read_bytes())
        assert damaged != target.read_bytes()
        target.write_bytes(damaged)
        data_dir = tmp_path / f"target-{name.replace('/', '-')}"
        result = antin(["restore", str(copy)], backup.target_env(data_dir))
        assert result.returncode == 1, name
        assert name in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert not data_dir.exists(), f"{name}: something was written"

    copy = tmp_path / "copy-extra"
    shutil.copytree(backup.folder, copy)
    (copy / "files" / "secrets" / "planted").write_text("x")
    result = antin(["restore", str(copy)], backup.target_env(tmp_path / "t"))
    assert result.returncode == 1 and "files/secrets/planted" in result.stderr


def test_a_non_empty_target_is_refused(backup: Backup, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("kept")
    result = antin(["backup", str(busy)], backup.env)
    assert result.returncode == 1 and "not empty" in result.stderr
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]

    result = restore_into(busy, backup)
    assert result.returncode == 1 and "not empty" in result.stderr and "--force" in result.stderr
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]


def test_force_restores_over_an_earlier_restore(backup: Backup, tmp_path: Path) -> None:
    env = backup.target_env(tmp_path / "again")
    assert antin(["restore", str(backup.folder)], env).returncode == 0
    refused = antin(["restore", str(backup.folder)], env)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    forced = antin(["restore", str(backup.folder), "--force", "--json"], env)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["parts"]["audit"]["ok"] is True
    restored = Instance(load_settings(env), start_directory=True)
    try:
        assert directory_service(restored).authenticate(UID, PASSWORD).status is AuthStatus.SUCCESS
        assert restored.audit.verify().ok
    finally:
        restored.close()


def test_a_restore_with_a_wrong_hsm_pin_says_so_in_one_line(backup: Backup, tmp_path: Path) -> None:
    env = backup.target_env(tmp_path / "pin") | {"ANTIN_HSM_PIN": "wrong-pin-4321"}
    result = antin(["restore", str(backup.folder)], env)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: hsm: ") and "the PIN was refused" in line, result.stderr
    assert "wrong-pin-4321" not in result.stdout + result.stderr


def test_a_restore_with_other_settings_names_them(backup: Backup, tmp_path: Path) -> None:
    env = backup.target_env(tmp_path / "other") | {"ANTIN_SIGNING_DEFAULT_LEVEL": "B-T"}
    result = antin(["restore", str(backup.folder), "--json"], env | {"ANTIN_DIRECTORY_BIND_PASSWORD": "a-new-one"})
    assert result.returncode == 0, result.stderr
    [warning] = json.loads(result.stdout)["warnings"]
    assert "signing.default_level" in warning and "directory.bind_password" in warning
    assert "a-new-one" not in result.stdout + result.stderr


def test_an_outside_directory_is_exported_with_hashes_and_loads_into_slapd(tmp_path: Path) -> None:
    """Through the service account: every entry, password hashes and ppolicy state included, loadable by slapadd."""
    require_command("slapadd", hint="scripts/install-system-packages.sh (package slapd)")
    outside = ManagedSlapd(tmp_path / "outside", base_dn="dc=antin,dc=vn", service_password="service-pw-2025")
    outside.start()
    try:
        env = instance_env(tmp_path / "data", "http://localhost:5000") | {
            "ANTIN_DIRECTORY_MANAGED": "false",
            "ANTIN_DIRECTORY_URIS": outside.ldap_uri,
            "ANTIN_DIRECTORY_BIND_PASSWORD": "service-pw-2025",
        }
        instance = Instance(load_settings(env))
        try:
            upgrade(instance.database)
            directory_service(instance).create_unit("HT", "Tỉnh ủy Hà Tĩnh", UnitKind.PROVINCIAL_COMMITTEE, None)
            new = NewPerson(uid=UID, full_name="Nguyễn Văn An", unit_code="HT", password=PASSWORD)
            source_uuid = directory_service(instance).create_person(new).entry_uuid
            directory_service(instance).authenticate(UID, "not-the-password")
        finally:
            instance.close()
        result = antin(["backup", str(tmp_path / "backup"), "--json"], env)
        assert result.returncode == 0, result.stderr
        part = json.loads(result.stdout)["parts"]["directory"]
        assert part["kind"] == "ldap-export" and part["password_hashes"] is True
        hsm = json.loads(result.stdout)["parts"]["hsm"]
        # no signing yet, but the backup's audit anchor made the anchor key: the token holds it
        assert hsm["kind"] == "softhsm2" and hsm["tokens"] == 1

        # a restore leaves an outside directory alone and says so
        restored = antin(["restore", str(tmp_path / "backup"), "--json"], env | {"ANTIN_DATA_DIR": str(tmp_path / "r")})
        assert restored.returncode == 0, restored.stderr
        assert json.loads(restored.stdout)["parts"]["directory"]["loaded"] is False
    finally:
        outside.stop()

    # the export is what an operator loads into a new OpenLDAP: the official signs in there with the same password
    fresh = ManagedSlapd(tmp_path / "fresh", base_dn="dc=antin,dc=vn", service_password="service-pw-2025")
    fresh.slapadd(tmp_path / "backup" / "directory.ldif")
    fresh.start()
    try:
        env = env | {"ANTIN_DIRECTORY_URIS": fresh.ldap_uri, "ANTIN_DATA_DIR": str(tmp_path / "r")}
        instance = Instance(load_settings(env))
        try:
            person = directory_service(instance).find_by_uid(UID)
            assert person is not None
            conn = fresh.admin_connection()
            entry = conn.read(person.dn, ["pwdFailureTime"])  # the failed sign-in (a success would clear it)
            conn.close()
            assert entry is not None and entry.get("pwdFailureTime")
            outcome = directory_service(instance).authenticate(UID, PASSWORD)
            assert outcome.status is AuthStatus.SUCCESS and outcome.person is not None
            assert outcome.person.entry_uuid == source_uuid
        finally:
            instance.close()
    finally:
        fresh.stop()


def test_the_token_is_copied_only_while_softhsm_is_not_writing_it(backup: Backup, tmp_path: Path) -> None:
    """An object SoftHSM2 is rewriting (its exclusive fcntl lock, held here by another process) is waited for."""
    tokens = Path(backup.env["ANTIN_DATA_DIR"]) / "softhsm" / "tokens"
    [token_object] = tokens.glob("*/token.object")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(token_object)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"
    copying = threading.Thread(target=copy_softhsm_tokens, args=(tokens, tmp_path / "copy"))
    copying.start()
    copying.join(1.0)
    assert copying.is_alive(), "the token was copied while SoftHSM2 held its write lock"
    holder.stdin.write("done\n")
    holder.stdin.flush()
    copying.join(60)
    holder.wait(10)
    assert not copying.is_alive()
    copied = tmp_path / "copy" / token_object.parent.name / "token.object"
    assert copied.read_bytes() == token_object.read_bytes()


# What SoftHSM2 does while it rewrites an object file: an exclusive fcntl lock on the file itself.
HOLD_WRITE_LOCK = """
import fcntl, sys
with open(sys.argv[1], "r+b") as fh:
    fcntl.lockf(fh, fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_the_saved_settings_hold_no_secret() -> None:
    secrets = {
        "ANTIN_DATABASE_URL": "postgresql+psycopg://antin:db-secret-77@db.dang.vn/antin",
        "ANTIN_REDIS_URL": "redis://:redis-secret-88@cache.dang.vn:6379/0",
        "ANTIN_SERVER_METRICS_TOKEN": "metrics-secret-99-" + "m" * 32,
        "ANTIN_SECRET_KEY": "k-secret-" + "k" * 40,
        "ANTIN_DIRECTORY_BIND_PASSWORD": "ldap-secret-66",
        "ANTIN_HSM_PIN": "pin-secret-55",
        "ANTIN_MFA_ENCRYPTION_KEY": "mfa-secret-44-" + "e" * 32,
    }
    shown = json.dumps(masked_settings(load_settings(secrets)))
    for part in (
        "db-secret-77",
        "redis-secret-88",
        "metrics-secret-99",
        "k-secret-",
        "ldap-secret-66",
        "pin-secret",
        "mfa-secret",
    ):
        assert part not in shown, part
    assert "postgresql+psycopg://antin:********@db.dang.vn/antin" in shown
