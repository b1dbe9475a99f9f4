"""`antin demo`, `antin serve` (as shipped, under granian, and under gunicorn) and `antin directory serve`, once
serving, stop on SIGTERM (a service manager) and on SIGINT sent to their whole process group (Ctrl-C in a terminal):
exit 0, no traceback, and nothing of theirs left running (slapd, the server's workers). How fast they stop is
measured by scripts/stop_soak.py, not asserted here."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.components import free_port, require_command

COMMANDS = ("demo", "serve", "serve-gunicorn", "directory-serve")


def arguments(command: str, port: int) -> list[str]:
    if command == "demo":
        return ["demo", "--port", str(port)]
    if command == "serve":
        return ["serve", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    if command == "serve-gunicorn":
        return ["serve", "--server", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    return ["directory", "serve"]


def serving(command: str, data: Path, port: int) -> bool:
    if command == "directory-serve":
        return (data / "slapd" / "ldapi").exists() and (data / "slapd" / "slapd.pid").exists()
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def processes_left(data: Path, group: int) -> list[str]:
    """Live processes of the command's process group, or whose environment names its data folder (slapd runs in a
    session of its own, so the group alone would miss it)."""
    marker = f"ANTIN_DATA_DIR={data}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z" and (int(fields[2]) == group or marker in environ):
            found.append(f"{entry.name}: {cmdline.strip()[:100]}")
    return found


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("to_group", [False, True], ids=["SIGTERM-to-process", "SIGINT-to-group"])
def test_a_serving_command_stops_cleanly_and_leaves_nothing(tmp_path: Path, command: str, to_group: bool) -> None:
    require_command("slapd")
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    env |= {"ANTIN_DATA_DIR": str(data), "ANTIN_LOG_LEVEL": "WARNING"}
    if command.startswith("serve"):
        subprocess.run([sys.executable, "-m", "antin", "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "antin", *arguments(command, port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a shell gives a command
    )
    try:
        deadline = time.monotonic() + 120
        while not serving(command, data, port):
            assert proc.poll() is None, f"antin {command} exited early: {proc.communicate()[1]}"
            assert time.monotonic() < deadline, f"antin {command} did not start serving"
            time.sleep(0.05)
        assert processes_left(data, proc.pid), "the check for what is left sees nothing even while it serves"
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        left = processes_left(data, proc.pid)
        for line in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert left == [], f"still running after antin {command} stopped: {left}"
