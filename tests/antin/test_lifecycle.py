"""Long-running commands stop on SIGINT or SIGTERM at any moment of their start, exit 0 and leave nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from antin.lifecycle import is_serving
from directory.slapd import ManagedSlapd
from tests.components import require_command


@pytest.mark.parametrize(
    ("args", "serving"),
    [
        (["demo"], True),
        (["demo", "--port", "5001"], True),
        (["serve", "--workers", "2"], True),
        (["directory", "serve"], True),
        (["directory", "users", "list"], False),
        (["verify", "demo"], False),
        (["--help"], False),
        ([], False),
    ],
)
def test_which_commands_run_until_stopped(args: list[str], serving: bool) -> None:
    assert is_serving(args) is serving


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_directory_serve_stopped_while_slapd_starts_leaves_no_slapd(tmp_path: Path, sig: signal.Signals) -> None:
    """The signal comes the moment slapd's socket appears, before the command has finished starting it."""
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
        deadline = time.monotonic() + 30
        while not slapd.layout.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert slapd.layout.socket.exists(), "slapd never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        if slapd.is_running():
            slapd.stop()
            pytest.fail("slapd was left running")
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_demo_stopped_during_its_first_start_stops_everything_and_starts_again(tmp_path: Path) -> None:
    """SIGTERM while the first start brings slapd up: exit 0, no slapd left; the next start finishes the job."""
    from tests.antin.test_demo import start_demo, wait_ready
    from tests.components import free_port

    require_command("slapd")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    env |= {"ANTIN_DATA_DIR": str(tmp_path / "demo"), "ANTIN_LOG_LEVEL": "WARNING"}
    slapd = ManagedSlapd(tmp_path / "demo" / "slapd", base_dn="dc=antin,dc=vn", service_password="unused")
    port = free_port()
    proc = start_demo(env, port)
    try:
        deadline = time.monotonic() + 60
        while not slapd.layout.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert slapd.layout.socket.exists(), "the demo never started slapd"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    assert not slapd.is_running(), "slapd was left running"
    proc = start_demo(env, port)
    try:
        wait_ready(f"http://localhost:{port}", proc)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    accounts = json.loads((tmp_path / "demo" / "demo-accounts.json").read_text(encoding="utf-8"))
    assert accounts, "the second start did not seed the demo accounts"
    assert not slapd.is_running()
