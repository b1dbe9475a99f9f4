"""Ấn Tín's OpenID endpoints under load on this machine: discovery, JWKS, client_credentials, introspection,
refresh and full code + PKCE sign-ins per second, with p50 and p99 latencies.

It serves the provider with gunicorn (2 gthread workers, SQLite, people from an in-memory directory: the LDAP
bind is not in these figures; the cross-provider benchmark with slapd is bench/'s peer comparison) and drives
it from 8 client threads for a few seconds per row. Run: ``python -m bench.oidc_endpoints_bench``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
THREADS = 8
SECONDS = 4.0


def measure(name: str, call: Callable[[requests.Session], None]) -> tuple[str, float, float, float]:
    deadline = time.monotonic() + SECONDS
    latencies: list[float] = []

    def worker() -> list[float]:
        session = requests.Session()
        mine: list[float] = []
        while time.monotonic() < deadline:
            start = time.perf_counter()
            call(session)
            mine.append(time.perf_counter() - start)
        return mine

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        for result in [pool.submit(worker) for _ in range(THREADS)]:
            latencies.extend(result.result())
    elapsed = time.monotonic() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return name, len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from directory.memory import InMemoryDirectory
    from idp.oidc.clients import ClientSpec
    from idp.oidc.provider import get_provider
    from tests.components import free_port
    from tests.idp.oidc_harness import LiveProvider, build_app
    from tests.idp.rp import Browser, RelyingParty

    folder = Path(tempfile.mkdtemp(prefix="antin-bench-"))
    port = free_port()
    issuer = f"http://localhost:{port}"
    setup = build_app(folder, issuer, InMemoryDirectory())
    provider = get_provider(setup.extensions["antin.instance"])
    provider.keys.ensure()
    service, service_secret = provider.clients.add(
        ClientSpec(name="bench service", grant_types=("client_credentials",), scopes=("profile",))
    )
    web, web_secret = provider.clients.add(
        ClientSpec(name="bench web", redirect_uris=("http://localhost:9/cb",), trusted=True)
    )
    env = dict(
        os.environ,
        ANTIN_TEST_DATA_DIR=str(folder),
        ANTIN_TEST_ISSUER=issuer,
        PYTHONPATH=str(ROOT),
        ANTIN_LOG_LEVEL="WARNING",
    )
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [
            gunicorn,
            "--workers",
            "2",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "--bind",
            f"127.0.0.1:{port}",
            "tests.idp.gunicorn_app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                requests.get(issuer + "/jwks.json", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        live = LiveProvider(issuer, setup, None, None)  # type: ignore[arg-type]
        web_rp = RelyingParty(live, web, web_secret)
        token = requests.post(
            issuer + "/token",
            data={"grant_type": "client_credentials"},
            auth=(service.client_id, service_secret or ""),
            timeout=10,
        ).json()["access_token"]

        def refresh_token() -> str:
            return str(web_rp.code_flow(Browser(issuer))["refresh_token"])

        refresh_tokens = [refresh_token() for _ in range(THREADS * 2)]

        def do_refresh(session: requests.Session) -> None:
            current = refresh_tokens.pop()
            r = session.post(
                issuer + "/token",
                data={"grant_type": "refresh_token", "refresh_token": current},
                auth=(web.client_id, web_secret or ""),
                timeout=10,
            )
            refresh_tokens.append(r.json()["refresh_token"])

        rows = [
            measure("discovery", lambda s: s.get(issuer + "/.well-known/openid-configuration", timeout=10).json()),
            measure("JWKS", lambda s: s.get(issuer + "/jwks.json", timeout=10).json()),
            measure(
                "client_credentials grant",
                lambda s: s.post(
                    issuer + "/token",
                    data={"grant_type": "client_credentials"},
                    auth=(service.client_id, service_secret or ""),
                    timeout=10,
                ).json()["access_token"],
            ),
            measure(
                "introspection",
                lambda s: s.post(
                    issuer + "/introspect",
                    data={"token": token},
                    auth=(service.client_id, service_secret or ""),
                    timeout=10,
                ).json()["active"],
            ),
            measure("refresh (rotation)", do_refresh),
            measure(
                "code + PKCE sign-in (in-memory people)",
                lambda s: RelyingParty(live, web, web_secret).code_flow(Browser(issuer)),
            ),
        ]
    finally:
        proc.terminate()
        proc.wait(30)
        setup.extensions["antin.instance"].close()
    print(f"Ấn Tín, gunicorn 2 workers x 4 threads, {THREADS} client threads, {SECONDS:.0f} s per row")
    print(f"{'operation':42} {'per second':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rate, p50, p99 in rows:
        print(f"{name:42} {rate:10.1f} {p50:8.1f} {p99:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
