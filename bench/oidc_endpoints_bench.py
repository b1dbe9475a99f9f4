"""Ấn Tín's OpenID endpoints under load on this machine: discovery, JWKS, client_credentials, introspection,
refresh and full code + PKCE sign-ins per second, with p50 and p99 latencies.

It serves the provider with gunicorn (2 gthread workers, SQLite, people from an in-memory directory: the LDAP
bind is not in these figures; the cross-provider benchmark with slapd is bench/'s peer comparison) and drives
it from 8 client threads for a few seconds per row (``--quick``: half a second). Every answer is checked (the
issuer, keys present, a token, ``active: true``, a rotated refresh token, an ID token at the end of a sign-in;
each thread signs in from its own browser, one the official used before, with a fresh session every time);
it has no peer: the side-by-side comparison is ``bench.oidc_bench``. CPU per operation is the gunicorn workers'.
Run: ``python -m bench.oidc_endpoints_bench [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import Cookie
from pathlib import Path

import requests

from bench.rows import Row, Run, add_arguments, percentile

BENCH = "oidc-endpoints"
ROOT = Path(__file__).resolve().parents[1]
THREADS = 8
DEVICE_COOKIE = "antin_device"  # idp.throttle.DEVICE_COOKIE
SECONDS = 4.0


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _server_pids(master: int) -> list[int]:
    """gunicorn's master and its workers (the workers' parent is the master)."""
    pids = [master]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def measure(name: str, call: Callable[[requests.Session], bool], seconds: float, pids: list[int]) -> Row:
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    wrong = 0

    def worker() -> tuple[list[float], int]:
        session = requests.Session()
        mine: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            start = time.perf_counter()
            bad += not call(session)
            mine.append(time.perf_counter() - start)
        return mine, bad

    started = time.monotonic()
    cpu0 = _cpu_seconds(pids)
    with ThreadPoolExecutor(THREADS) as pool:
        for result in [pool.submit(worker) for _ in range(THREADS)]:
            mine, bad = result.result()
            latencies.extend(mine)
            wrong += bad
    elapsed = time.monotonic() - started
    cpu = _cpu_seconds(pids) - cpu0
    n = len(latencies)
    return Row(
        BENCH,
        name,
        "antin",
        p50=percentile(latencies, 0.5) * 1000,
        p99=percentile(latencies, 0.99) * 1000,
        rate=n / elapsed,
        cpu_per_op=cpu / n * 1000 if n else None,
        rss=None,
        n=n,
        checked=n,
        wrong=wrong,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    seconds = 0.5 if args.quick else SECONDS
    run = Run(BENCH, args.quick)
    sys.path.insert(0, str(ROOT))
    from directory.memory import InMemoryDirectory
    from idp.oidc.clients import ClientSpec
    from idp.oidc.service import get_provider
    from idp.throttle import DEVICE_COOKIE
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
        pids = _server_pids(proc.pid)

        def do_refresh(session: requests.Session) -> bool:
            current = refresh_tokens.pop()
            r = session.post(
                issuer + "/token",
                data={"grant_type": "refresh_token", "refresh_token": current},
                auth=(web.client_id, web_secret or ""),
                timeout=10,
            )
            new = r.json().get("refresh_token")
            refresh_tokens.append(new or current)
            return r.status_code == 200 and bool(new) and new != current

        def discovery(s: requests.Session) -> bool:
            return bool(s.get(issuer + "/.well-known/openid-configuration", timeout=10).json()["issuer"] == issuer)

        def jwks(s: requests.Session) -> bool:
            return bool(s.get(issuer + "/jwks.json", timeout=10).json()["keys"])

        def client_credentials(s: requests.Session) -> bool:
            r = s.post(
                issuer + "/token",
                data={"grant_type": "client_credentials"},
                auth=(service.client_id, service_secret or ""),
                timeout=10,
            )
            return r.status_code == 200 and bool(r.json().get("access_token"))

        def introspection(s: requests.Session) -> bool:
            r = s.post(
                issuer + "/introspect",
                data={"token": token},
                auth=(service.client_id, service_secret or ""),
                timeout=10,
            )
            return r.json().get("active") is True

        first_sign_in = threading.Lock()
        devices: dict[int, Cookie] = {}  # worker session → its browser's device cookie

        def sign_in(s: requests.Session) -> bool:
            # each worker is the official's own browser: it keeps the device cookie of its first sign-in (made
            # one worker at a time: a new browser shares the strangers' budget of that login)
            browser = Browser(issuer)
            known = devices.get(id(s))
            with contextlib.nullcontext() if known else first_sign_in:
                if known is not None:
                    browser.session.cookies.set_cookie(known)
                try:
                    signed_in = bool(RelyingParty(live, web, web_secret).code_flow(browser).get("id_token"))
                except AssertionError:  # a refusal (e.g. 429) is a wrong answer, counted as such
                    return False
            for cookie in browser.session.cookies:
                if cookie.name == DEVICE_COOKIE:
                    devices[id(s)] = cookie
            return signed_in

        for name, call in (
            ("discovery", discovery),
            ("jwks", jwks),
            ("client_credentials", client_credentials),
            ("introspection", introspection),
            ("refresh", do_refresh),
            ("login (code + PKCE, in-memory people)", sign_in),
        ):
            run.add(measure(name, call, seconds, pids))
    finally:
        proc.terminate()
        proc.wait(30)
        setup.extensions["antin.instance"].close()
    run.notes.append(f"Ấn Tín, gunicorn 2 workers x 4 threads, {THREADS} client threads, {seconds:g} s per row")
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
