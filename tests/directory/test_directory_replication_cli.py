"""``antin directory serve --server-id N --provider URI``: two providers run by the command an operator uses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from directory.slapd import free_port
from tests.components import require_command

pytestmark = pytest.mark.slapd

SERVICE_PASSWORD = "replication-service-password-0123456789"


def antin_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    env["ANTIN_DATA_DIR"] = str(data_dir)
    env["ANTIN_DIRECTORY_PORT"] = str(port)
    env["ANTIN_DIRECTORY_BIND_PASSWORD"] = SERVICE_PASSWORD  # the same service account on every provider
    return env


def wait_for_line(log: Path, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(encoding="utf-8") if log.exists() else ""
        if text in content:
            return content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never printed; the output was:\n{content}")


def antin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "antin", "directory", *args], env=env, capture_output=True, text=True, check=False
    )


def test_two_providers_started_with_serve_replicate_and_print_their_status(tmp_path: Path) -> None:
    require_command("slapd")
    port_a, port_b, port_b_extra = free_port(), free_port(), free_port()
    uri_a = f"ldap://127.0.0.1:{port_a}"
    uri_b = f"ldap://127.0.0.2:{port_b_extra}"  # B's --listen address: A reaches B only there
    env_a, env_b = antin_env(tmp_path / "a", port_a), antin_env(tmp_path / "b", port_b)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    commands = {
        "1": ["--server-id", "1", "--provider", uri_b],
        "2": ["--server-id", "2", "--provider", uri_a, "--listen", f"{uri_b}/"],
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for env, log, server_id in ((env_a, log_a, "1"), (env_b, log_b, "2")):
            with open(log, "wb") as out:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "antin", "directory", "serve", *commands[server_id]],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            if server_id == "1":
                wait_for_line(log_a, f"replication: {uri_b} unreachable")  # A created the directory alone
        wait_for_line(log_a, f"replication: {uri_b} in sync")
        wait_for_line(log_b, f"replication: {uri_a} in sync")

        added = antin(env_a, "units", "add", "HN", "--name", "Thành ủy Hà Nội", "--kind", "provincial-committee")
        assert added.returncode == 0, added.stderr
        deadline = time.monotonic() + 10
        while True:
            listed = antin(env_b, "units", "list", "--json")
            assert listed.returncode == 0, listed.stderr
            if json.loads(listed.stdout) or time.monotonic() > deadline:
                break
        assert [unit["code"] for unit in json.loads(listed.stdout)] == ["HN"]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            proc.wait(timeout=20)
    for proc, log in zip(procs, (log_a, log_b), strict=True):
        output = log.read_text(encoding="utf-8")
        assert proc.returncode == 0, output
        assert "Traceback" not in output


def test_replication_needs_an_id_and_a_provider(tmp_path: Path) -> None:
    env = antin_env(tmp_path / "data", free_port())
    alone = antin(env, "serve", "--provider", "ldap://127.0.0.1:1")
    assert alone.returncode == 2 and "--server-id" in alone.stderr
    bad = antin(env, "serve", "--server-id", "0", "--provider", "http://example.vn")
    assert bad.returncode == 2
    assert "between 1 and 4095" in bad.stderr and "is not an ldap://" in bad.stderr
    assert "Traceback" not in alone.stderr + bad.stderr
