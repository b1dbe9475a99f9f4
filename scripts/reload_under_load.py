"""A reload (SIGHUP) of `antin serve` under load: clients each open a new connection per request to /healthz (as
nginx does to an upstream), a SIGHUP, and what they saw: requests answered, those left unanswered for the client's
timeout (nginx's own is 60 s), the longest answer, the longest time with no request answered, and how long the
reload took (from the SIGHUP until no old worker is left). `--busy N` keeps N processes spinning on the CPU
meanwhile, as a busy machine would (the new workers load the platform slower). One line per reload; not a CI step.

    python -m scripts.reload_under_load --server gunicorn --reloads 3 --busy 4
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from antin.kernel.ports import free_port


@dataclass
class Seen:
    answered: int = 0
    unanswered: int = 0
    longest: float = 0.0
    answered_at: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, seconds: float, ok: bool) -> None:
        with self.lock:
            self.answered += ok
            self.unanswered += not ok
            self.longest = max(self.longest, seconds)
            if ok:
                self.answered_at.append(time.monotonic())

    def longest_silence(self, since: float) -> float:
        """The longest time from ``since`` on with no request answered."""
        with self.lock:
            moments = [since, *sorted(at for at in self.answered_at if at > since)]
        return max(later - earlier for earlier, later in itertools.pairwise(moments)) if moments[1:] else 0


def workers_of(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def spin() -> None:
    while True:
        pass


@contextlib.contextmanager
def busy(processes: int) -> Iterator[None]:
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(processes)]
    for spinner in spinners:
        spinner.start()
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.terminate()
            spinner.join()


def ask(url: str, timeout: float, stop: threading.Event, seen: Seen) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            ok = requests.get(url, timeout=timeout).status_code == 200
        except requests.RequestException:
            ok = False
        seen.note(time.monotonic() - started, ok)


def reload_once(proc: subprocess.Popen[bytes], url: str, clients: int, timeout: float) -> str:
    old = workers_of(proc.pid)
    seen, stop = Seen(), threading.Event()
    threads = [threading.Thread(target=ask, args=(url, timeout, stop, seen)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    sighup = time.monotonic()
    proc.send_signal(signal.SIGHUP)
    while workers_of(proc.pid) & old or len(workers_of(proc.pid)) < len(old):
        time.sleep(0.05)
    took = time.monotonic() - sighup
    replaced, deadline = seen.answered, time.monotonic() + 120
    while seen.answered < replaced + 50 and time.monotonic() < deadline:
        time.sleep(0.05)  # the new workers answer too
    stop.set()
    for thread in threads:
        thread.join()
    total = seen.answered + seen.unanswered
    return (
        f"reload took {took:.1f} s; {seen.unanswered} of {total} requests unanswered within {timeout:g} s; "
        f"longest answer {seen.longest:.1f} s; longest time with no answer {seen.longest_silence(sighup):.1f} s; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="granian", help="default: granian")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=10.0, help="the client's timeout, seconds")
    parser.add_argument("--reloads", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0, help="processes spinning on the CPU meanwhile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
        env |= {"ANTIN_DATA_DIR": data, "ANTIN_LOG_LEVEL": "WARNING"}
        subprocess.run([sys.executable, "-m", "antin", "db", "upgrade"], env=env, check=True, capture_output=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}/healthz"
        command = ["serve", "--server", args.server, "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}"]
        proc = subprocess.Popen([sys.executable, "-m", "antin", *command], env=env, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(url, timeout=2).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("antin serve did not start")
                time.sleep(0.2)
            with busy(args.busy):
                for number in range(1, args.reloads + 1):
                    print(f"{args.server} reload {number}: {reload_once(proc, url, args.clients, args.timeout)}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
