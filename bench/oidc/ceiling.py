"""The driver's own ceiling: what one request costs the driver, against a server that does nothing.

The trivial server is a few lines of node ``http`` answering a fixed 1.5 KB JSON body (the size of a
discovery document) from one process. The driver's CPU per request is what matters on a shared machine:
one core divided by it is the most the driver can issue, whatever the machine's other load.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bench.oidc.http import HttpClient, Target
from bench.oidc.measure import LoadOptions, Measurement, run_load
from bench.oidc.processes import free_port, server_process, wait_http
from bench.oidc.provider import ProviderUnavailableError

__all__ = ["TRIVIAL_SERVER_JS", "Ceiling", "measure_ceiling"]

TRIVIAL_SERVER_JS = """
const body = JSON.stringify({ issuer: 'http://127.0.0.1', padding: 'x'.repeat(1400) });
require('http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.argv[1]), '127.0.0.1');
"""


@dataclass(frozen=True)
class Ceiling:
    measurement: Measurement
    driver_share: float
    """Share of one core the driver used."""
    cpu_us_per_request: float
    """Driver CPU per request, in microseconds."""

    @property
    def max_rate(self) -> float:
        """Requests/s the driver could issue with one core to itself."""
        return 1e6 / self.cpu_us_per_request if self.cpu_us_per_request > 0 else math.inf

    def describe(self) -> str:
        m = self.measurement
        return (
            f"driver ceiling: {self.cpu_us_per_request:.0f} µs of driver CPU per request, so at most "
            f"~{self.max_rate:,.0f} requests/s from its one core; against a trivial node server it reached "
            f"{m.rate:,.0f}/s (p50 {m.p50_ms:.2f} ms) using {self.driver_share * 100:.0f}% of a core"
        )


async def _drive(url: str, options: LoadOptions) -> Ceiling:
    async with HttpClient(Target(url, url), connections=options.concurrency * 2) as http:

        async def fetch(_task: int) -> None:
            reply = await http.get(url + "/")
            if reply.status != 200:
                raise RuntimeError(f"HTTP {reply.status}")

        cpu0, wall0 = time.process_time(), time.perf_counter()
        measurement = await run_load("driver ceiling", fetch, options)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        # Requests over warm-up and window alike were paid for: count them at the measured rate.
        requests = max(1.0, measurement.rate * wall)
        return Ceiling(measurement, cpu / wall, 1e6 * cpu / requests)


async def measure_ceiling(workdir: Path, options: LoadOptions) -> Ceiling:
    """The driver's rate and CPU cost against the trivial server."""
    node = shutil.which("node")
    if node is None:
        raise ProviderUnavailableError("node is not installed")
    port = free_port()
    log = workdir / "trivial-server.log"
    argv = [node, "-e", TRIVIAL_SERVER_JS, str(port)]
    with server_process(argv, env={"PATH": "/usr/bin:/bin", "NODE_ENV": "production"}, log=log) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/", proc, log)
        return await _drive(url, options)
