"""An application on a certified OpenID Connect library (npm openid-client 6, signatures really verified) signs
a demo official in and out with SSO against `antin demo` itself: real slapd, seeded directory, demo client."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.antin.test_demo import start_demo, stop, wait_ready
from tests.components import free_port, require_command
from tests.idp.rp import Browser

HERE = Path(__file__).resolve().parent


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    require_command("slapd")
    data = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTIN_")}
    env |= {"ANTIN_DATA_DIR": str(data), "ANTIN_LOG_LEVEL": "WARNING"}
    port = free_port()
    issuer = f"http://localhost:{port}"
    proc = start_demo(env, port)
    try:
        wait_ready(issuer, proc)
        yield issuer, data
    finally:
        stop(proc)


def sign_in(
    node: str, browser: Browser, issuer: str, client: dict[str, Any], login: tuple[str, str] | None
) -> dict[str, Any]:
    """One run of the RP: returns what openid-client got; ``login`` None means SSO must need no login page."""
    config = {
        "issuer": issuer,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "auth": "basic",
        "redirect_uri": client["redirect_uris"][0],
        "post_logout_redirect_uri": client["post_logout_redirect_uris"][0],
        "scope": "openid profile email party",
    }
    proc = subprocess.Popen(
        [node, str(HERE / "rp.mjs"), json.dumps(config)],
        cwd=HERE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = json.loads(proc.stdout.readline() or '{"error": "no output"}')
        assert "authorization_url" in first, first
        outcome = browser.go(first["authorization_url"])
        if login is None:
            assert outcome.page is None, "SSO: the second application must not show a login page"
        else:
            assert outcome.page is not None
            outcome = browser.login(outcome.page, *login)
        assert outcome.location is not None and outcome.location.startswith(config["redirect_uri"])
        proc.stdin.write(json.dumps({"callback": outcome.location}) + "\n")
        proc.stdin.flush()
        result: dict[str, Any] = json.loads(proc.stdout.readline())
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "error" not in result, result
    return result


def test_sign_in_sso_and_sign_out_against_antin_demo(node: str, demo: tuple[str, Path]) -> None:
    issuer, data = demo
    client = json.loads((data / "demo-client.json").read_text(encoding="utf-8"))
    account = json.loads((data / "demo-accounts.json").read_text(encoding="utf-8"))[0]
    browser = Browser(issuer)

    first = sign_in(node, browser, issuer, client, (account["uid"], account["password"]))
    assert first["claims"]["iss"] == issuer
    assert first["userinfo"]["sub"] == first["claims"]["sub"]
    assert first["userinfo"]["name"] and any(ord(c) > 127 for c in first["userinfo"]["name"])  # Vietnamese name

    second = sign_in(node, browser, issuer, client, None)  # single sign-on
    assert second["claims"]["sub"] == first["claims"]["sub"]
    assert second["claims"]["sid"] == first["claims"]["sid"]

    out = browser.go(second["end_session_url"])
    assert out.page is None and out.location is not None
    assert out.location.startswith(client["post_logout_redirect_uris"][0]) and "state=bye" in out.location

    third = browser.go(f"{issuer}/account")  # the session is gone: the account page asks to sign in again
    assert third.page is not None and "login-form" in third.page.text
