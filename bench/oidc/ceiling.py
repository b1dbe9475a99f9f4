"""The driver's own ceiling: how many requests/s it sustains against a server that does nothing.

The trivial server is a few lines of node ``http`` answering a fixed 1.5 KB JSON body (the size of a
discovery document) from one process; if the driver reaches a far higher rate against it than against a
provider, the driver was not what limited the provider's figures.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from bench.oidc.http import HttpClient, Target
from bench.oidc.measure import LoadOptions, Measurement, run_load
from bench.oidc.processes import free_port, server_process, wait_http
from bench.oidc.provider import ProviderUnavailableError

__all__ = ["TRIVIAL_SERVER_JS", "measure_ceiling"]

TRIVIAL_SERVER_JS = """
const body = JSON.stringify({ issuer: 'http://127.0.0.1', padding: 'x'.repeat(1400) });
require('http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.argv[1]), '127.0.0.1');
"""


async def _drive(url: str, options: LoadOptions) -> tuple[Measurement, float]:
    async with HttpClient(Target(url, url), connections=options.concurrency * 2) as http:

        async def fetch(_task: int) -> None:
            reply = await http.get(url + "/")
            if reply.status != 200:
                raise RuntimeError(f"HTTP {reply.status}")

        cpu0, wall0 = time.process_time(), time.perf_counter()
        measurement = await run_load("driver ceiling", fetch, options)
        return measurement, (time.process_time() - cpu0) / (time.perf_counter() - wall0)


async def measure_ceiling(workdir: Path, options: LoadOptions) -> tuple[Measurement, float]:
    """The driver's rate against the trivial server, and the share of one core the driver used."""
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
