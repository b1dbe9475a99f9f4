"""Changes made with `antin directory …` land in the audit log, naming the operator."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.components import require_command


def antin(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "antin", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_directory_changes_are_audited(tmp_path: Path) -> None:
    require_command("slapd")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")} | {
        "ANTIN_DATA_DIR": str(tmp_path / "data"),
        "ANTIN_LOG_LEVEL": "WARNING",
    }
    unit = antin(
        [
            "directory",
            "units",
            "add",
            "T-01",
            "--name",
            "Tỉnh ủy Thử nghiệm",
            "--kind",
            "provincial-committee",
            "--json",
        ],
        env,
    )
    assert unit.returncode == 0, unit.stderr
    added = antin(
        [
            "directory",
            "users",
            "add",
            "--uid",
            "tranthibinh",
            "--name",
            "Trần Thị Bình",
            "--unit",
            "T-01",
            "--password-stdin",
            "--json",
        ],
        env,
        stdin="Mat-khau-2025!\n",
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["uid"] == "tranthibinh"

    events = [json.loads(line) for line in antin(["audit", "list", "--json"], env).stdout.splitlines()]
    created = next(e for e in events if e["event"] == "directory:user:create")
    assert created["subject"] == "tranthibinh" and created["actor"] == f"cli:{getpass.getuser()}"
    assert "Mat-khau" not in json.dumps(events)
    assert any(e["event"] == "directory:unit:create" for e in events)
    assert antin(["audit", "verify"], env).returncode == 0


def test_disabling_an_official_revokes_their_signing_certificates(tmp_path: Path) -> None:
    require_command("slapd")
    require_command("softhsm2-util")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")} | {
        "ANTIN_DATA_DIR": str(tmp_path / "data"),
        "ANTIN_LOG_LEVEL": "WARNING",
    }
    assert (
        antin(
            ["directory", "units", "add", "T-02", "--name", "Đảng ủy xã Thử", "--kind", "commune-committee"], env
        ).returncode
        == 0
    )
    added = antin(
        [
            "directory",
            "users",
            "add",
            "--uid",
            "lethicuc",
            "--name",
            "Lê Thị Cúc",
            "--unit",
            "T-02",
            "--password-stdin",
        ],
        env,
        stdin="Mat-khau-2025!\n",
    )
    assert added.returncode == 0, added.stderr
    issued = antin(["pki", "issue", "--uid", "lethicuc", "--json"], env)
    assert issued.returncode == 0, issued.stderr
    assert len(json.loads(antin(["pki", "list", "--uid", "lethicuc", "--valid", "--json"], env).stdout)) == 1

    disabled = antin(["directory", "users", "disable", "lethicuc"], env)
    assert disabled.returncode == 0, disabled.stderr
    assert "revoked 1 signing certificate" in disabled.stderr
    assert json.loads(antin(["pki", "list", "--uid", "lethicuc", "--valid", "--json"], env).stdout) == []
    events = [json.loads(line)["event"] for line in antin(["audit", "list", "--json"], env).stdout.splitlines()]
    assert "pki:certificate:revoke" in events and "directory:user:disable" in events
