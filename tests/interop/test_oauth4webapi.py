"""DPoP with PAR, dpop_jkt and server nonces (RFC 9449 §8–§10), driven by npm oauth4webapi 3 (an OpenID Certified
client library): the three binding failures of issue 15, a proof and a dpop_jkt that disagree, and a whole flow with
nonces on. Every access token the library gets is checked here again with the independent verifier."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Response, request

from tests.idp.conftest import make_directory
from tests.idp.jose_check import verify_jws
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty

HERE = Path(__file__).resolve().parent


def drive(node: str, op: LiveProvider, rp: RelyingParty, **options: Any) -> dict[str, Any]:
    """Run rp_dpop.mjs with ``options``; sign in with the browser when it asks; what it printed last."""
    config = {
        "issuer": op.issuer,
        "client_id": rp.client.client_id,
        "client_secret": rp.secret,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile email",
        "par": True,
        "par_proof": False,
        "exchange_key": "a",
        "userinfo": False,
        "refresh": False,
        **options,
    }
    proc = subprocess.Popen(
        [node, str(HERE / "rp_dpop.mjs"), json.dumps(config)],
        cwd=HERE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = json.loads(proc.stdout.readline() or json.dumps({"error": proc.stderr.read() if proc.stderr else ""}))
        if "authorization_url" not in first:
            proc.wait(30)
            return dict(first)
        browser = Browser(op.issuer)
        outcome = browser.go(first["authorization_url"])
        if outcome.page is not None:
            outcome = browser.login(outcome.page, "an.nguyen", "correct horse")
        assert outcome.location is not None, outcome.page and outcome.page.text[:500]
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


def bound_key(rp: RelyingParty, access_token: str) -> str:
    """The thumbprint an access token is bound to, read with the independent verifier."""
    header, claims = verify_jws(access_token, rp.jwks, allowed_algs=("ES256",))
    assert header["typ"] == "at+jwt" and claims["client_id"] == rp.client.client_id
    return str(claims["cnf"]["jkt"])


@pytest.fixture
def rp(op: LiveProvider) -> RelyingParty:
    return RelyingParty.register(op, name="Hồ sơ công việc")


# -- issue 15, failure 1: a DPoP proof sent to /par binds the code to its key ------------------------------------


def test_a_proof_at_par_binds_the_code(node: str, op: LiveProvider, rp: RelyingParty) -> None:
    stolen = drive(node, op, rp, par_proof=True, exchange_key="b")
    assert stolen.get("exchange_error", {}).get("error") == "invalid_grant", stolen
    without = drive(node, op, rp, par_proof=True, exchange_key="none")
    assert without.get("exchange_error", {}).get("error") == "invalid_grant", without
    result = drive(node, op, rp, par_proof=True, exchange_key="a")
    assert result["token_type"] == "dpop"  # oauth4webapi lower-cases it
    assert bound_key(rp, result["access_token"]) == result["jkt"]["a"]


# -- failure 2: dpop_jkt, pushed or on the front channel, binds the code ----------------------------------------


@pytest.mark.parametrize("par", [True, False], ids=["par", "front-channel"])
def test_dpop_jkt_binds_the_code(node: str, op: LiveProvider, rp: RelyingParty, par: bool) -> None:
    stolen = drive(node, op, rp, par=par, dpop_jkt="a", exchange_key="b")
    assert stolen.get("exchange_error", {}).get("error") == "invalid_grant", stolen
    result = drive(node, op, rp, par=par, dpop_jkt="a", exchange_key="a")
    assert bound_key(rp, result["access_token"]) == result["jkt"]["a"]


# -- failure 3: an invalid DPoP header at /par is refused ------------------------------------------------------


def test_an_invalid_dpop_header_at_par_is_refused(node: str, op: LiveProvider, rp: RelyingParty) -> None:
    result = drive(node, op, rp, par_dpop_header="not-a-dpop-proof")
    assert result.get("par_error", {}).get("error") == "invalid_dpop_proof", result
    assert result["par_error"]["status"] == 400


def test_a_proof_and_a_dpop_jkt_that_disagree_are_refused(node: str, op: LiveProvider, rp: RelyingParty) -> None:
    result = drive(node, op, rp, par_proof=True, dpop_jkt="b")
    assert result.get("par_error", {}).get("error") == "invalid_dpop_proof", result
    assert result["par_error"]["status"] == 400


def test_a_client_that_sends_neither_is_not_bound(node: str, op: LiveProvider, rp: RelyingParty) -> None:
    result = drive(node, op, rp, exchange_key="none", userinfo=True)
    assert result["token_type"] == "bearer" and result["userinfo"]["email"] == "an.nguyen@antin.vn"


# -- the whole flow with server nonces on ---------------------------------------------------------------------


@pytest.fixture
def nonce_op(tmp_path: Path) -> Iterator[LiveProvider]:
    """A provider with ``oidc.dpop_nonce`` on whose nonce moves on by two windows after each answer to a DPoP
    request, as if the client were slow: every next proof made with the nonce it holds comes too late."""
    with live_provider(tmp_path, make_directory(), oidc__dpop_nonce=True) as live:
        nonces = live.provider.dpop_nonces
        assert nonces is not None
        skew = [0.0]
        nonces.clock = lambda: time.time() + skew[0]

        @live.app.after_request
        def time_passes(response: Response) -> Response:
            if "DPoP" in request.headers and response.status_code < 300:
                skew[0] += 2 * nonces.window_seconds
            return response

        yield live


def test_a_whole_flow_with_nonces(node: str, nonce_op: LiveProvider) -> None:
    rp = RelyingParty.register(nonce_op, name="Hồ sơ công việc")
    result = drive(node, nonce_op, rp, par_proof=True, userinfo=True, refresh=True)
    # each step met a nonce that had moved on, was told the new one (use_dpop_nonce) and retried once
    assert result["nonce_retries"] == ["par", "token", "userinfo", "refresh"]
    assert result["userinfo"]["sub"] == result["claims"]["sub"]
    assert bound_key(rp, result["access_token"]) == result["jkt"]["a"]
    assert result["refreshed"]["token_type"] == "dpop"
    assert bound_key(rp, result["refreshed"]["access_token"]) == result["jkt"]["a"]
