"""Outbound requests to registered URLs (``antin.kernel.outbound.send``) beside ``requests.post``.

- ``POST 1 KB to an allowed address``: a webhook or back-channel logout delivery to a local receiver listed in the
  policy: the name resolved, each address checked, a new connection to the checked address, the answer read
  within its limits. The peer is ``requests.post`` (no session: also a new connection per call), which checks no
  address.
- ``refused: a name that resolves inward``: what a delivery to a refused destination costs before it gives up
  (the resolution and the check; nothing is sent).

The receiver is a threaded ``http.server`` on 127.0.0.1 answering 204; every answer's status is checked.
Usage: ``python -m bench.outbound_bench [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.rows import Run, add_arguments, row_from_samples

BENCH = "outbound"


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    import requests

    from antin.kernel.outbound import OutboundPolicy, OutboundRefusedError, send

    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    repeat = 50 if args.quick else 1000
    run = Run(BENCH, args.quick)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://localhost:{server.server_address[1]}/hook"
    body = b"x" * 1024
    allowed = OutboundPolicy.from_entries(["localhost", "127.0.0.0/8", "::1/128"])

    def timed(label: str, side: str, call: Any) -> None:
        wall, cpu, wrong = [], [], 0
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            ok = call()
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            wrong += not ok
        run.add(row_from_samples(BENCH, label, side, wall, cpu=cpu, checked=repeat, wrong=wrong))

    post = "POST 1 KB to an allowed address"
    timed(post, "antin", lambda: send("POST", url, policy=allowed, body=body).status == 204)
    timed(post, "requests", lambda: requests.post(url, data=body, timeout=5, allow_redirects=False).status_code == 204)

    def refused() -> bool:
        try:
            send("POST", url, policy=OutboundPolicy(), body=body)
        except OutboundRefusedError:
            return True
        return False

    timed("refused: a name that resolves inward", "antin", refused)
    server.shutdown()
    server.server_close()
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    raise SystemExit(main())
