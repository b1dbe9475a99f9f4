"""`antin serve`: gunicorn workers in production mode, with metrics gathered from every worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.components import free_port


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=2)
        except requests.RequestException:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")} | {"ANTIN_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "antin", "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "antin db upgrade" in result.stderr and "Traceback" not in result.stderr


def test_serve_runs_gunicorn_workers_and_aggregates_their_metrics(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")} | {
        "ANTIN_DATA_DIR": str(tmp_path),
        "ANTIN_LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "-m", "antin", "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "antin", "serve", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz", proc).json() == {"status": "ok"}
        for _ in range(20):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        served = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("antin_http_requests_total{") and 'endpoint="/healthz"' in line
        ]
        assert sum(served) >= 21  # counted across both workers
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr.decode()
