"""Start and stop `antin demo`, `antin serve` (granian, the default, and gunicorn as serve-gunicorn) and `antin
directory serve` many times, under CPU load, and report how they stopped.

Each run starts the command on a fresh data folder, in a process group of its own (as a shell starts it), and sends
SIGINT or SIGTERM at a random moment of its start-up (from its entry point on: before it, the interpreter itself is
starting) or once it serves, to the command alone (a service manager) or to its whole process group (Ctrl-C in a
terminal). It then checks what an operator would: it exited within the limit, with code 0, with no traceback, and no
process of its own is left (slapd and the server's workers included: any process of its group, or whose environment
names its data folder). Not part of `make test`: it takes minutes.

    .venv/bin/python -m scripts.stop_soak --runs 50            # each command, 50 runs each, a busy loop per core
    .venv/bin/python -m scripts.stop_soak --command demo --runs 5 --no-load
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import shutil
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
COMMANDS = ("demo", "directory-serve", "serve", "serve-gunicorn")
# How long each takes to serve on a quiet 2-core machine: the first guess of the window a start-up stop lands in
# (each run that reaches serving then refines it).
FIRST_GUESS_READY_SECONDS = {"demo": 3.0, "directory-serve": 1.0, "serve": 3.0, "serve-gunicorn": 3.0}


@dataclass
class Run:
    command: str
    signal: str
    target: str  # "process" (kill PID, as a service manager does) or "group" (kill -PGID, as Ctrl-C does)
    moment: str  # "start-up" (a random moment before it serves) or "serving"
    exit_code: int | None
    stop_seconds: float
    leftovers: list[str]
    traceback: bool
    last_words: str  # the end of what it wrote on stderr, when the run failed
    stderr: str = ""  # all of it, when the run failed (written with --json)

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


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _serving(command: str, data: Path, port: int) -> bool:
    if command == "directory-serve":
        return (data / "slapd" / "ldapi").exists() and (data / "slapd" / "slapd.pid").exists()
    return _answers(port)


def _arguments(command: str, port: int) -> list[str]:
    if command == "demo":
        return ["demo", "--port", str(port)]
    if command == "serve":
        return ["serve", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    if command == "serve-gunicorn":
        return ["serve", "--server", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    return ["directory", "serve"]


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


def processes_left(data: Path, group: int) -> list[str]:
    """Processes of the command's group, or whose environment names its data folder (slapd has a session of its own)."""
    marker = f"ANTIN_DATA_DIR={data}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgid = fields[0], int(fields[2])
        if state == "Z":
            continue
        if pgid == group or marker in environ.split(b"\0"):
            found.append(f"{entry.name}: {cmdline.strip()[:100]}")
    return found


def one_run(command: str, sig: signal.Signals, *, to_group: bool, delay: float | None, template: Path | None) -> Run:
    """One start and stop; ``delay`` None stops it once it serves, else that long after its entry point ran."""
    with tempfile.TemporaryDirectory(prefix="antin-stop-") as folder:
        data = Path(folder) / "data"
        if template is not None:
            shutil.copytree(template, data)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
        env |= {"ANTIN_DATA_DIR": str(data), "ANTIN_LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "antin", *_arguments(command, port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        if delay is not None:
            _wait_until_it_takes_stop_signals(proc.pid)
            time.sleep(delay)
        else:
            deadline = time.monotonic() + 120
            while not _serving(command, data, port) and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
        started = time.monotonic()
        try:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig) if to_group else proc.send_signal(sig)
            try:
                _out, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                _out, err = proc.communicate()
            stopped = time.monotonic() - started
            leftovers = processes_left(data, proc.pid)
        finally:  # leave the machine clean for the next run, also when the soak itself is interrupted
            for line in processes_left(data, proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
        failed = proc.returncode != 0 or "Traceback" in err
        return Run(
            command,
            sig.name,
            "group" if to_group else "process",
            "start-up" if delay is not None else "serving",
            proc.returncode,
            round(stopped, 3),
            leftovers,
            "Traceback" in err,
            " | ".join(err.strip().splitlines()[-3:]) if failed else "",
            err if failed or stopped > LIMIT_SECONDS else "",
        )


def migrated_template(folder: Path) -> Path:
    """A data folder with its database migrated: `antin serve` refuses to start on an empty one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")} | {"ANTIN_DATA_DIR": str(folder)}
    subprocess.run([sys.executable, "-m", "antin", "db", "upgrade"], env=env, check=True, capture_output=True)
    return folder


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(command: str, runs: list[Run]) -> str:
    mine = [r for r in runs if r.command == command]
    times = [r.stop_seconds for r in mine]
    parts = [
        f"{command}: {len(mine)} runs, {sum(not r.ok for r in mine)} failed; "
        f"stop time p50 {statistics.median(times):.2f} s, p90 {percentile(times, 0.9):.2f} s, max {max(times):.2f} s"
    ]
    for moment in ("start-up", "serving"):
        some = [r.stop_seconds for r in mine if r.moment == moment]
        if some:
            parts.append(f"{moment} p50 {statistics.median(some):.2f} s max {max(some):.2f} s")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per command (default 50)")
    parser.add_argument("--command", choices=COMMANDS, action="append", help="only this command (repeatable)")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy loops meanwhile (default: cores)")
    parser.add_argument("--no-load", action="store_true", help="no busy loops")
    parser.add_argument("--json", type=Path, help="write every run to this file")
    options = parser.parse_args()
    commands = options.command or list(COMMANDS)
    busy = 0 if options.no_load else options.load
    load = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(busy)]
    for process in load:
        process.start()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # killed, the soak still cleans up (as on Ctrl-C)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="antin-stop-template-") as folder:
        serving_commands = {"serve", "serve-gunicorn"}
        template = migrated_template(Path(folder) / "data") if serving_commands & set(commands) else None
        try:
            for command in commands:
                ready = [FIRST_GUESS_READY_SECONDS[command]]
                for i in range(options.runs):
                    # every 8 runs: each signal, to the process and to the group, during start-up and serving
                    sig = (signal.SIGINT, signal.SIGTERM)[i % 2]
                    to_group = (i // 2) % 2 == 1
                    at_startup = (i // 4) % 2 == 1
                    delay = random.uniform(0, statistics.median(ready)) if at_startup else None
                    begun = time.monotonic()
                    run = one_run(
                        command,
                        sig,
                        to_group=to_group,
                        delay=delay,
                        template=template if command in serving_commands else None,
                    )
                    if not at_startup and run.ok:
                        ready.append(time.monotonic() - begun - run.stop_seconds)
                    runs.append(run)
                    mark = "ok" if run.ok else "FAILED"
                    print(
                        f"{command:<16} {run.signal:<8} {run.target:<8} {run.moment:<9} exit={run.exit_code} "
                        f"{run.stop_seconds:6.2f} s {mark} {' '.join(run.leftovers)} {run.last_words}",
                        flush=True,
                    )
        finally:
            for process in load:
                process.terminate()
    print(f"\n{busy} busy loops on {os.cpu_count()} cores; limit {LIMIT_SECONDS:g} s")
    for command in commands:
        print(summary(command, runs))
    if options.json:
        options.json.write_text(json.dumps([asdict(r) for r in runs], indent=2), encoding="utf-8")
    sys.exit(1 if any(not r.ok for r in runs) else 0)


if __name__ == "__main__":
    main()
