"""``antin directory import FILE --offline``: a first load of many officials by slapadd, against the managed slapd.

The plan, its per-row report and the audit entry are the online import's; what slapadd skips (the server's
overlays and password hashing) is why only new officials without passwords go this way, and the rest is
refused before anything is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from antin.cli import cli
from directory.cli.listeners import change_listeners
from tests.components import require_command

pytestmark = pytest.mark.slapd

HEADER = "uid,name,unit,mail,employee_number,position,phone,party_card,status\n"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """``antin directory …`` on an instance of its own, with the managed slapd (stopped between commands)."""
    require_command("slapadd")
    for name in [n for n in os.environ if n.startswith("ANTIN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANTIN_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["directory", *args], catch_exceptions=False)

    yield invoke


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    heard: list[tuple[str, str, dict[str, Any]]] = []

    def listener(ctx: click.Context, event: str, subject: str, details: dict[str, Any]) -> None:
        heard.append((event, subject, details))

    monkeypatch.setattr("directory.cli.listeners.change_listeners", [*change_listeners, listener])
    return heard


def officials_csv(path: Path, rows: int, *, unit: str = "HN", start: int = 0) -> Path:
    lines = [
        f"tai{i:05d},Nguyễn Văn Tải {i},{unit},tai{i:05d}@hanoi.example,NV-{i:05d},Chuyên viên,,,"
        f"{'suspended' if i % 10 == 9 else 'active'}"
        for i in range(start, start + rows)
    ]
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_new_officials_load_offline_with_the_online_report_and_audit_and_the_directory_stays_whole(
    run: Callable[..., Result], tmp_path: Path, announced: list[tuple[str, str, dict[str, Any]]]
) -> None:
    assert run("units", "add", "HN", "--name", "Thành ủy Hà Nội", "--kind", "municipal-committee").exit_code == 0
    csv_path = officials_csv(tmp_path / "first.csv", 200)
    loaded = run("import", str(csv_path), "--offline", "--json")
    assert loaded.exit_code == 0, loaded.output
    report = json.loads(loaded.stdout)
    assert report["create"] == 200 and report["applied"] == 200 and report["status"] == "applied"
    assert [e for e in announced if e[0] == "directory:entries:import"] == [
        ("directory:entries:import", "first.csv", {"applied": 200, "offline": True})
    ]
    shown = json.loads(run("users", "show", "tai00042", "--json").stdout)
    assert shown["name"] == "Nguyễn Văn Tải 42" and shown["unit"] == "HN" and shown["entry_uuid"]
    assert shown["mail"] == "tai00042@hanoi.example" and shown["status"] == "active"
    assert json.loads(run("users", "show", "tai00009", "--json").stdout)["status"] == "suspended"
    # The server's checks hold for what comes next: the unique overlay saw the loaded entries' index keys.
    taken = run(
        "users", "add", "--uid", "khac", "--name", "Người Khác", "--unit", "HN", "--mail", "tai00001@hanoi.example"
    )
    assert taken.exit_code == 1 and "tai00001@hanoi.example" in taken.output
    again = json.loads(run("import", str(csv_path), "--offline", "--json").stdout)
    assert again["unchanged"] == 200 and again["applied"] == 0
    online = run("import", str(officials_csv(tmp_path / "more.csv", 5, start=200)), "--json")
    assert json.loads(online.stdout)["applied"] == 5
    listed = json.loads(run("users", "list", "--json").stdout)
    assert len({p["uid"] for p in listed}) == 205


def test_what_slapadd_would_get_wrong_is_refused_before_anything_is_written(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    assert run("units", "add", "HN", "--name", "Thành ủy Hà Nội", "--kind", "municipal-committee").exit_code == 0
    with_password = tmp_path / "passwords.csv"
    with_password.write_text(
        HEADER.rstrip("\n") + ",password\n" + "matkhau,Lê Văn Mật,HN,,,,,,active,Mat-khau-dai-2025!\n", encoding="utf-8"
    )
    refused = run("import", str(with_password), "--offline")
    assert refused.exit_code == 1 and "line 2: a password" in refused.output and "unhashed" in refused.output
    assert json.loads(run("users", "list", "--json").stdout) == []
    assert run("import", str(officials_csv(tmp_path / "first.csv", 3)), "--offline").exit_code == 0
    more = run("import", str(officials_csv(tmp_path / "more.csv", 3, start=3)), "--offline", "--dry-run")
    assert more.exit_code == 1 and "already holds officials" in more.output and "import online" in more.output
    renamed = (tmp_path / "first.csv").read_text(encoding="utf-8").replace("Tải 1,", "Tải Một,")
    (tmp_path / "renamed.csv").write_text(renamed, encoding="utf-8")
    assert "already holds officials" in run("import", str(tmp_path / "renamed.csv"), "--offline").output
    listed = json.loads(run("users", "list", "--json").stdout)
    assert sorted(p["uid"] for p in listed) == ["tai00000", "tai00001", "tai00002"]
    assert json.loads(run("users", "show", "tai00001", "--json").stdout)["name"] == "Nguyễn Văn Tải 1"


def test_a_load_that_fails_puts_the_directory_back_and_reports_nothing_applied(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("units", "add", "HN", "--name", "Thành ủy Hà Nội", "--kind", "municipal-committee").exit_code == 0
    from directory.transfer import offline

    write_ldif = offline.write_ldif

    def broken_ldif(entries: Any) -> str:  # slapadd's schema check refuses the last entry, after the others
        dn = entries[-1][0].replace("uid=", "uid=z", 1)
        return write_ldif(entries) + f"dn: {dn}\nobjectClass: inetOrgPerson\nnoSuchAttribute: x\n\n"

    monkeypatch.setattr(offline, "write_ldif", broken_ldif)
    failed = run("import", str(officials_csv(tmp_path / "first.csv", 50)), "--offline", "--json")
    assert failed.exit_code == 1
    report = json.loads(failed.stdout)
    assert report["applied"] == 0 and report["not_applied"] == list(range(2, 52))
    assert "put back as it was before the load" in report["status"]
    assert json.loads(run("users", "list", "--json").stdout) == []
    assert [u["code"] for u in json.loads(run("units", "list", "--json").stdout)] == ["HN"]
    monkeypatch.setattr(offline, "write_ldif", write_ldif)
    loaded = run("import", str(officials_csv(tmp_path / "first.csv", 50)), "--offline", "--json")
    assert json.loads(loaded.stdout)["applied"] == 50
