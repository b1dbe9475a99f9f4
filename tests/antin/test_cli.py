"""The `antin` command as an operator uses it: help, settings, database and audit subcommands."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ANTIN = [sys.executable, "-m", "antin"]


def run(args: list[str], env: dict[str, str], *, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [*ANTIN, *args]
    return subprocess.run(command, check=False, env=env, input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    return clean | {"ANTIN_DATA_DIR": str(tmp_path / "data"), "ANTIN_LOG_LEVEL": "WARNING"}


def test_help_lists_the_subcommands(env: dict[str, str]) -> None:
    result = run(["--help"], env)
    assert result.returncode == 0
    for command in ("demo", "serve", "config", "db", "audit"):
        assert f"  {command} " in result.stdout


def test_a_bad_setting_stops_with_its_name_and_no_traceback(env: dict[str, str]) -> None:
    result = run(["config", "show"], env | {"ANTIN_SERVER_PORT": "abc"})
    assert result.returncode == 1
    assert "ANTIN_SERVER_PORT: must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_development_defaults(env: dict[str, str]) -> None:
    result = run(["config", "show"], env | {"ANTIN_ENV": "production"})
    assert result.returncode == 1
    assert "ANTIN_SECRET_KEY" in result.stderr and "ANTIN_HSM_PIN" in result.stderr
    result = run(["demo"], env | {"ANTIN_ENV": "production", **PRODUCTION_OK})
    assert result.returncode == 1 and "antin serve" in result.stderr


PRODUCTION_OK = {
    "ANTIN_ISSUER": "https://sso.dang.vn",
    "ANTIN_SECRET_KEY": "k" * 40,
    "ANTIN_DIRECTORY_MANAGED": "false",
    "ANTIN_DIRECTORY_URIS": "ldaps://ldap.dang.vn",
    "ANTIN_DIRECTORY_BIND_PASSWORD": "service-password",
    "ANTIN_HSM_PIN": "vault-pin",
    "ANTIN_MFA_ENCRYPTION_KEY": "m" * 40,
}


def test_config_show_masks_secrets(env: dict[str, str]) -> None:
    token = "metrics-" + "t" * 40
    secrets = {
        "ANTIN_DIRECTORY_BIND_PASSWORD": "s3cret-value",
        "ANTIN_SERVER_METRICS_TOKEN": token,
        "ANTIN_MFA_ENCRYPTION_KEY": "mfa-key-" + "e" * 32,
    }
    result = run(["config", "show", "--json"], env | secrets)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["directory"]["bind_password"] == "********"
    assert shown["server"]["metrics_token"] == "********"
    assert shown["mfa"]["encryption_key"] == "********" and "mfa-key-" not in result.stdout
    assert "s3cret-value" not in result.stdout and token not in result.stdout
    assert shown["core"]["data_dir"] == env["ANTIN_DATA_DIR"]


def test_db_upgrade_then_audit_verify_detects_tampering(env: dict[str, str]) -> None:
    status = run(["db", "status", "--json"], env)
    assert status.returncode == 1 and json.loads(status.stdout)["up_to_date"] is False
    assert run(["db", "upgrade"], env).returncode == 0
    assert json.loads(run(["db", "status", "--json"], env).stdout)["up_to_date"] is True
    verify = run(["audit", "verify", "--json"], env)
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"] is True

    # append a few events through the library, as the platform does, then tamper with the file
    code = (
        "from antin.cli import build_instance\nfrom antin.kernel.audit import AuditEvent\ni = build_instance()\n"
        "[i.audit.record(AuditEvent.LOGIN_PASSWORD_FAILURE, actor='nguyenvanan') for _ in range(4)]\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    listed = run(["audit", "list", "--json", "--limit", "2"], env)
    assert [json.loads(line)["seq"] for line in listed.stdout.splitlines()] == [4, 3]

    with sqlite3.connect(Path(env["ANTIN_DATA_DIR"]) / "antin.sqlite3") as conn:
        conn.execute("UPDATE audit_log SET actor = 'someone' WHERE seq = 2")
    broken = run(["audit", "verify"], env)
    assert broken.returncode == 1
    assert "BROKEN at entry 2" in broken.stderr


def test_help_names_every_command_without_loading_them(env: dict[str, str]) -> None:
    """`antin --help` lists each package's command from a table, and the table says what the command says."""
    import click

    from antin.cli import SHORT_HELP, SUBCOMMANDS, cli

    assert set(SHORT_HELP) == set(SUBCOMMANDS)
    ctx = click.Context(cli)
    for name, summary in SHORT_HELP.items():
        command = cli.get_command(ctx, name)
        assert command is not None and (command.help or "").startswith(summary), name
    probe = "import sys\nfrom antin.__main__ import main\nsys.argv = ['antin', '--help']\n"
    probe += "try:\n    main()\nexcept SystemExit:\n    pass\n"
    probe += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('idp', 'signing', 'directory', 'sqlalchemy')))"
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]", "antin --help imported the kernel or a feature"


def test_verify_loads_no_database_web_or_directory_code(env: dict[str, str]) -> None:
    """`antin verify FILE` needs the PDF reader and the validator only: its start-up (almost all of its time on a
    small file) does not pay for SQLAlchemy, Flask, the provider's models, LDAP or the HTML templates."""
    pdf = Path(__file__).parents[1] / "fuzz" / "corpus" / "pdf" / "seed-b-b.pdf"
    probe = "import sys\nfrom antin.__main__ import main\nsys.argv = ['antin', 'verify', sys.argv[1]]\n"
    probe += "try:\n    main()\nexcept SystemExit as stop:\n    print('exit', stop.code)\n"
    probe += "heavy = ('sqlalchemy', 'flask', 'jinja2', 'ldap', 'alembic', 'authlib', 'admin')\n"
    probe += "settings = ('admin', 'admin.settings')  # every command reads every feature's settings: dataclasses\n"
    probe += "print(sorted(m for m in sys.modules if (m.split('.')[0] in heavy and m not in settings)"
    probe += " or m.startswith('idp.oidc.models')))"
    result = subprocess.run(
        [sys.executable, "-c", probe, str(pdf)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    *report, status, loaded = result.stdout.strip().splitlines()
    assert any("Verdict" in line for line in report) and status == "exit 1", result.stdout  # a real report, read
    assert loaded == "[]", f"antin verify imported {loaded}"
