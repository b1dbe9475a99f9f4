"""Long-running commands stop on SIGINT or SIGTERM at any moment of their start, exit 0 and leave nothing behind."""

from __future__ import annotations

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
