"""Start and stop `antin demo` and `antin directory serve` many times, under CPU load, and report how they stopped.

Each run starts the command on a fresh data folder, sends SIGINT or SIGTERM (alternately) at a random moment
of its start-up (from its entry point on: before it, the interpreter itself is starting) or once it serves, and
then checks what an operator would: it exited within the limit, with code 0, with no traceback, and no process of
its own (slapd included) is left. Not part of `make test`: it takes minutes.

    .venv/bin/python -m scripts.stop_soak --runs 50            # both commands, 50 runs each, 2 busy loops
    .venv/bin/python -m scripts.stop_soak --command demo --runs 5 --no-load
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

LIMIT_SECONDS = 5.0
COMMANDS = {"demo": ["demo"], "directory-serve": ["directory", "serve"]}


@dataclass
class Run:
    command: str
    signal: str
    moment: str  # "start-up" (a random moment before it serves) or "serving"
    exit_code: int | None
    stop_seconds: float
    leftovers: list[str]
    traceback: bool
    last_words: str  # the end of what it wrote on stderr, when the run failed

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.stop_seconds <= LIMIT_SECONDS and not self.leftovers and not self.traceback


def _busy() -> None:
    while True:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serving(command: str, data: Path, port: int) -> bool:
    if command == "demo":
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/healthz", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False
    return (data / "slapd" / "ldapi").exists() and (data / "slapd" / "slapd.pid").exists()


def _wait_until_it_takes_stop_signals(pid: int) -> None:
    """Until the command's entry point has run (SIGTERM caught): before, the interpreter itself is starting."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        caught = next((int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:")), 0)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.002)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and str(os.getpid()) != entry.name:
            found.append(f"{entry.name}: {cmdline.strip()[:120]}")
    return found


def one_run(command: str, sig: signal.Signals, *, at_startup: bool) -> Run:
    with tempfile.TemporaryDirectory(prefix="antin-stop-") as folder:
        data = Path(folder) / "data"
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
        env |= {"ANTIN_DATA_DIR": str(data), "ANTIN_LOG_LEVEL": "WARNING"}
        args = [sys.executable, "-m", "antin", *COMMANDS[command]]
        if command == "demo":
            args += ["--port", str(port)]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if at_startup:
            _wait_until_it_takes_stop_signals(proc.pid)
            time.sleep(random.uniform(0, 3.0 if command == "demo" else 1.0))
        else:
            deadline = time.monotonic() + 60
            while not _serving(command, data, port) and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
        started = time.monotonic()
        proc.send_signal(sig)
        try:
            _out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
        stopped = time.monotonic() - started
        leftovers = _processes_mentioning(str(data))
        for line in leftovers:  # leave the machine clean for the next run
            pid = int(line.split(":", 1)[0])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return Run(
            command,
            sig.name,
            "start-up" if at_startup else "serving",
            proc.returncode,
            round(stopped, 3),
            leftovers,
            "Traceback" in err,
            "" if proc.returncode == 0 and "Traceback" not in err else " | ".join(err.strip().splitlines()[-3:]),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per command (default 50)")
    parser.add_argument("--command", choices=sorted(COMMANDS), action="append", help="only this command")
    parser.add_argument("--no-load", action="store_true", help="do not keep every core busy meanwhile")
    parser.add_argument("--json", type=Path, help="write every run to this file")
    options = parser.parse_args()
    load = (
        []
        if options.no_load
        else [multiprocessing.Process(target=_busy, daemon=True) for _ in range(os.cpu_count() or 2)]
    )
    for process in load:
        process.start()
    runs: list[Run] = []
    try:
        for command in options.command or sorted(COMMANDS):
            for i in range(options.runs):
                sig = (signal.SIGINT, signal.SIGTERM)[i % 2]
                run = one_run(command, sig, at_startup=(i // 2) % 2 == 1)
                runs.append(run)
                mark = "ok" if run.ok else "FAILED"
                print(
                    f"{command:<16} {run.signal:<8} {run.moment:<9} exit={run.exit_code} "
                    f"{run.stop_seconds:6.2f} s {mark} {' '.join(run.leftovers)} {run.last_words}",
                    flush=True,
                )
    finally:
        for process in load:
            process.terminate()
    print()
    for command in options.command or sorted(COMMANDS):
        mine = [r for r in runs if r.command == command]
        times = sorted(r.stop_seconds for r in mine)
        failed = sum(not r.ok for r in mine)
        print(
            f"{command}: {len(mine)} runs, {failed} failed; stop time median {statistics.median(times):.2f} s, "
            f"max {times[-1]:.2f} s"
        )
    if options.json:
        options.json.write_text(json.dumps([asdict(r) for r in runs], indent=2), encoding="utf-8")
    sys.exit(1 if any(not r.ok for r in runs) else 0)


if __name__ == "__main__":
    main()
