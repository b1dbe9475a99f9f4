"""Several gunicorn workers serve one provider: codes, sessions, interactions, refresh tokens and logout work
whichever worker answers (nothing lives in a process)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from directory.memory import InMemoryDirectory
from idp.oidc.clients import ClientSpec
from idp.oidc.service import get_provider
from tests.components import free_port
from tests.idp.oidc_harness import LiveProvider, build_app
from tests.idp.rp import Browser, RelyingParty

ROOT = Path(__file__).resolve().parents[3]


class NoKeepAlive(Browser):
    def __init__(self, issuer: str) -> None:
        super().__init__(issuer, Connection="close")


def test_flows_across_two_workers(tmp_path: Path) -> None:
    port = free_port()
    issuer = f"http://localhost:{port}"
    # tables and signing keys exist before the workers start (as after `antin db upgrade`)
    setup = build_app(tmp_path, issuer, InMemoryDirectory())
    provider = get_provider(setup.extensions["antin.instance"])
    provider.keys.ensure()
    record, secret = provider.clients.add(
        ClientSpec(name="Across workers", redirect_uris=("http://localhost:9/cb",), trusted=True)
    )
    setup.extensions["antin.instance"].close()
    env = dict(os.environ, ANTIN_TEST_DATA_DIR=str(tmp_path), ANTIN_TEST_ISSUER=issuer, PYTHONPATH=str(ROOT))
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [
            gunicorn,
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "sync",
            "tests.idp.gunicorn_app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(issuer + "/jwks.json", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        live = LiveProvider(issuer, setup, InMemoryDirectory(), server=None)  # type: ignore[arg-type]
        rp = RelyingParty(live, record, secret)
        pids: set[str] = set()
        for _ in range(3):
            browser = NoKeepAlive(issuer)
            tokens = rp.code_flow(browser)
            refreshed = rp.token_request(
                {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                headers={"Connection": "close"},
            )
            assert refreshed.status_code == 200
            access_token = refreshed.json()["access_token"]

            def userinfo(_: int, token: str = access_token) -> requests.Response:
                headers = {"Authorization": "Bearer " + token, "Connection": "close"}
                return requests.get(issuer + "/userinfo", timeout=10, headers=headers)

            # concurrent requests keep one sync worker busy, so the other one answers too (on a busy machine one
            # worker may take a whole burst: a few more bursts until both have answered)
            for _burst in range(10):
                with ThreadPoolExecutor(6) as pool:
                    for response in pool.map(userinfo, range(12)):
                        assert response.status_code == 200
                        pids.add(response.headers["X-Worker-Pid"])
                if len(pids) == 2:
                    break
            assert rp.authorize(browser, prompt="none").params.get("code")
        assert len(pids) == 2, "both workers should have answered"
    finally:
        proc.terminate()
        proc.wait(30)
