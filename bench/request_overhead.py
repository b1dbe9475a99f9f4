"""What every request costs the platform before its view does anything: ``GET /healthz`` straight into the WSGI app
(a prepared environ, no test client, no HTTP server), beside a bare Flask app answering the same JSON.

It prints the CPU per request (``time.process_time``) of the best of ten batches, which other work on a shared
machine inflates far less than the average. The difference between the two lines is the platform's own hooks:
security headers, the session, the request id, CSRF, metrics, the provider's published documents in front.

Run: ``python -m bench.request_overhead [--requests 5000]``.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def cpu_per_request(app: WsgiApp, path: str, requests: int) -> float:
    """Microseconds of CPU per request, the best of ten batches; every answer must be a 200."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path).get_environ()
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        statuses.append(status)

    def once() -> None:
        request = dict(environ)
        request["wsgi.input"] = io.BytesIO(b"")
        for _chunk in app(request, start_response):
            pass

    for _ in range(200):
        once()
    batch = max(requests // 10, 1)
    best = float("inf")
    for _ in range(10):
        start = time.process_time()
        for _ in range(batch):
            once()
        best = min(best, (time.process_time() - start) / batch * 1e6)
    wrong = [s for s in statuses if not s.startswith("200")]
    if wrong:
        raise SystemExit(f"{path}: {len(wrong)} answers were not 200 ({wrong[0]})")
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per measurement (default 5000)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.INFO)
    from flask import Flask

    from antin.app import create_app
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from directory.instance import use_directory
    from directory.memory import InMemoryDirectory

    instance = Instance(load_settings({"ANTIN_DATA_DIR": tempfile.mkdtemp(prefix="antin-overhead-")}))
    try:
        upgrade(instance.database)
        use_directory(instance, InMemoryDirectory())
        platform = create_app(instance=instance)
        bare = Flask("bare")

        @bare.get("/healthz")
        def healthz() -> dict[str, str]:
            return {"status": "ok"}

        print(f"GET /healthz into the WSGI app, best of ten batches of {max(args.requests // 10, 1)}")
        print(f"  Ấn Tín      {cpu_per_request(platform, '/healthz', args.requests):7.1f} µs CPU per request")
        print(f"  bare Flask  {cpu_per_request(bare, '/healthz', args.requests):7.1f} µs CPU per request")
    finally:
        instance.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
