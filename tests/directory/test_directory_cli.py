"""``antin directory …`` end to end against a real slapd, through the root command."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from antin.cli import cli
from directory.models import AuthStatus, UnitKind
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from tests.directory.conftest import BASE_DN, PASSWORD, SERVICE_PASSWORD

pytestmark = pytest.mark.slapd


@pytest.fixture
def run(slapd: ManagedSlapd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.setenv("ANTIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANTIN_DIRECTORY_MANAGED", "false")
    monkeypatch.setenv("ANTIN_DIRECTORY_URIS", slapd.ldap_uri)
    monkeypatch.setenv("ANTIN_DIRECTORY_BASE_DN", BASE_DN)
    monkeypatch.setenv("ANTIN_DIRECTORY_BIND_PASSWORD", SERVICE_PASSWORD)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, ["directory", *args], input=input, catch_exceptions=False)

    return invoke


def test_users_add_show_and_units_list(
    run: Callable[..., Result], directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("cli")
    added = run(
        "users", "add", "--uid", uid, "--name", "Nguyễn Thị Minh Khai", "--unit", f"{unit}-X1",
        "--password-stdin", "--mail", f"{uid}@x.vn", "--employee-number", unique("N"),
        "--position", "Văn thư", "--phone", "+84 24 1234 5678", "--party-card", "01234567", "--json",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    data = json.loads(added.output)
    assert data["name"] == "Nguyễn Thị Minh Khai" and data["unit"] == f"{unit}-X1"
    assert directory.authenticate(uid, PASSWORD).status is AuthStatus.SUCCESS
    shown = run("users", "show", data["entry_uuid"], "--json")
    assert json.loads(shown.output)["uid"] == uid
    units = json.loads(run("units", "list", "--json").output)
    mine = {u["code"]: u for u in units if u["code"].startswith(unit)}
    assert mine[f"{unit}-X1"] == {**mine[f"{unit}-X1"], "parent": unit, "kind": "commune-committee"}
    assert mine[unit]["name"] == "Tỉnh ủy Thử nghiệm" and mine[unit]["parent"] is None


def test_errors_are_one_line_and_exit_1(run: Callable[..., Result], unit: str) -> None:
    missing = run("users", "show", "no-such-person")
    assert missing.exit_code == 1 and missing.output.strip() == "Error: no official 'no-such-person'"
    bad = run("users", "add", "--uid", "*)(uid=*", "--name", "X Y", "--unit", unit)
    assert bad.exit_code == 1 and "uid" in bad.output and "Traceback" not in bad.output
    usage = run("users", "add", "--uid", "x")
    assert usage.exit_code == 2


def test_user_lifecycle_commands(
    run: Callable[..., Result], directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("life")
    assert (
        run(
            "users", "add", "--uid", uid, "--name", "Lê Lợi", "--unit", unit, "--password-stdin", input=PASSWORD
        ).exit_code
        == 0
    )
    assert run("users", "move", uid, "--unit", f"{unit}-X1").exit_code == 0
    assert directory.get_person(uid).unit is not None
    assert run("users", "disable", uid).exit_code == 0
    assert directory.authenticate(uid, PASSWORD).status is AuthStatus.DISABLED
    assert run("users", "enable", uid).exit_code == 0
    reset = run("users", "reset-password", uid, "--json")
    generated = json.loads(reset.output)["generated_password"]
    assert directory.authenticate(uid, generated).status is AuthStatus.MUST_CHANGE
    changed = run("users", "passwd", uid, "--password-stdin", input=f"{generated}\nMat-khau-moi-2025!\n")
    assert changed.exit_code == 0, changed.output
    assert directory.authenticate(uid, "Mat-khau-moi-2025!").ok
    for _ in range(5):
        directory.authenticate(uid, "Sai-mat-khau-9")
    assert directory.authenticate(uid, "Mat-khau-moi-2025!").status is AuthStatus.LOCKED
    assert run("users", "unlock", uid).exit_code == 0
    assert directory.authenticate(uid, "Mat-khau-moi-2025!").ok
    listed = json.loads(run("users", "list", "--unit", unit, "--json").output)
    assert uid in [p["uid"] for p in listed]


def test_groups_commands(
    run: Callable[..., Result],
    directory: LdapDirectory,
    unit: str,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from antin.kernel.audit.events import AuditEvent
    from directory.cli import listeners

    heard: list[tuple[str, str]] = []
    monkeypatch.setattr(
        listeners, "change_listeners", [lambda ctx, event, subject, details: heard.append((event, subject))]
    )
    uid, inner, outer = unique("grp"), unique("ky-so-"), unique("ky-so-all-")
    run("users", "add", "--uid", uid, "--name", "Trần Hưng Đạo", "--unit", unit)
    assert run("groups", "add", inner, "--role", "--unit", unit).exit_code == 0
    assert run("groups", "add", outer, "--role").exit_code == 0
    assert run("groups", "add-member", inner, uid).exit_code == 0
    assert run("groups", "add-member", outer, "--group", inner).exit_code == 0
    shown = json.loads(run("groups", "show", outer, "--json").output)
    assert shown["officials"] == [uid] and shown["is_role"] is True
    assert run("groups", "remove-member", inner, uid).exit_code == 0
    assert directory.group_members(outer) == []
    assert run("groups", "delete", outer).exit_code == 0
    assert [event for event, _ in heard] == [
        "directory:user:create",
        "directory:group:create",
        "directory:group:create",
        "directory:group:member-add",
        "directory:group:member-add",
        "directory:group:member-remove",
        "directory:group:delete",
    ]
    assert all(AuditEvent(event) for event, _ in heard)  # every name is an audit event the root can record


def test_import_csv_with_rejections_dry_run_then_apply(
    run: Callable[..., Result], directory: LdapDirectory, unit: str, unique: Callable[[str], str], tmp_path: Path
) -> None:
    good1, good2, taken = unique("imp"), unique("imp"), unique("imp")
    run("users", "add", "--uid", taken, "--name", "Đã Có", "--unit", unit, "--mail", f"{taken}@x.vn")
    csv_path = tmp_path / "people.csv"
    csv_path.write_text(
        "uid,name,unit,mail,employee_number,position,phone,party_card,status,password\n"
        f"{good1},Phan Bội Châu,{unit},,,Chuyên viên,,,active,{PASSWORD}\n"
        f"{good2},Phan Châu Trinh,{unit}-X1,,,,,,suspended,\n"
        f"bad uid,Ai Đó,{unit},,,,,,active,\n"
        f"{unique('imp')},Không Đơn Vị,NO-SUCH-UNIT,,,,,,active,\n"
        f"{unique('imp')},Trùng Thư,{unit},{taken}@x.vn,,,,,active,\n"
        f"{unique('imp')},Mật Khẩu Yếu,{unit},,,,,,active,abc\n",
        encoding="utf-8",
    )
    blocked = run("import", str(csv_path), "--json")
    assert blocked.exit_code == 1
    report = json.loads(blocked.stdout)
    assert [r["line"] for r in report["rejected"]] == [4, 5, 6, 7]
    assert report["applied"] == 0 and directory.find_by_uid(good1) is None  # nothing half-imported
    dry = run("import", str(csv_path), "--dry-run", "--skip-invalid", "--json")
    assert json.loads(dry.stdout)["create"] == 2 and directory.find_by_uid(good1) is None
    applied = run("import", str(csv_path), "--skip-invalid", "--json")
    result = json.loads(applied.stdout)
    assert result["applied"] == 2 and result["status"] == "applied"
    assert directory.authenticate(good1, PASSWORD).ok
    assert directory.get_person(good2).status.value == "suspended"
    again = json.loads(run("import", str(csv_path), "--skip-invalid", "--json").stdout)
    assert again["unchanged"] == 2 and again["applied"] == 0


def test_export_import_round_trip_keeps_vietnamese(
    run: Callable[..., Result], slapd: ManagedSlapd, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    from tests.directory.conftest import config_for, start_slapd

    source = LdapDirectory(config_for(slapd))
    code = unique("RT").upper()
    source.create_unit(code, "Thành ủy Huế", UnitKind.MUNICIPAL_COMMITTEE)
    source.create_unit(f"{code}-P1", "Đảng ủy phường Phú Xuân", UnitKind.WARD_COMMITTEE, code)
    uid = unique("rt")
    run("users", "add", "--uid", uid, "--name", "Hồ Xuân Hương", "--unit", f"{code}-P1", "--position", "Bí thư")
    role = unique("van-thu-")
    source.create_group(role, "Văn thư Huế", is_role=True, unit_code=code)
    source.add_member(role, uid=uid)
    ldif_path = tmp_path / "export.ldif"
    assert run("export", "-o", str(ldif_path)).exit_code == 0
    csv_out = run("export", "--format", "csv", "--unit", code)
    assert f"{uid},Hồ Xuân Hương,{code}-P1" in csv_out.output
    # into a second, empty directory
    target_slapd = start_slapd(tmp_path / "target")
    try:
        target = LdapDirectory(config_for(target_slapd))
        from directory.transfer import apply_plan, plan_import, read_rows

        rows, rejected = read_rows(ldif_path.read_text(encoding="utf-8"), "ldif")
        plan = plan_import(target, rows, rejected)
        assert plan.rejections == []
        result = apply_plan(plan)
        assert result.failed is None
        person = target.get_person(uid)
        assert person.full_name == "Hồ Xuân Hương" and person.position == "Bí thư"
        assert [u.name for u in person.unit_path] == ["Đảng ủy phường Phú Xuân", "Thành ủy Huế"]
        assert role in person.groups
        target.close()
    finally:
        target_slapd.stop()
    source.close()


def test_serve_runs_until_interrupted_and_stops_slapd(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.components import require_command

    require_command("slapd")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    env["ANTIN_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen(
        [sys.executable, "-m", "antin", "directory", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    slapd = ManagedSlapd(tmp_path / "data" / "slapd", base_dn="dc=antin,dc=vn", service_password="unused")
    try:
        deadline = time.monotonic() + 20
        while not slapd.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slapd.is_running()
        # while it serves, another command of the same instance uses it (and does not stop it)
        units = subprocess.run(
            [sys.executable, "-m", "antin", "directory", "units", "list", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert units.returncode == 0 and json.loads(units.stdout) == []
        assert slapd.is_running()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not slapd.is_running()
