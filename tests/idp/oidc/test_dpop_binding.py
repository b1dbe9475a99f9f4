"""DPoP with PAR and dpop_jkt (RFC 9449 §10): the code is bound to the client's key; server nonces (§8, §9).

Each code below is redeemed once: a refused exchange uses the code up, as a thief's attempt would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from directory.memory import InMemoryDirectory
from tests.idp.jose_check import EcKey, verify_jws
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty


def push(rp: RelyingParty, proof: str | None = None, **overrides: Any) -> requests.Response:
    headers = {"DPoP": proof} if proof is not None else {}
    return requests.post(
        rp.op.issuer + "/par",
        data=rp.auth_params(**overrides),
        auth=(rp.client.client_id, rp.secret or ""),
        headers=headers,
        timeout=10,
    )


def code_from_par(rp: RelyingParty, browser: Browser, pushed: requests.Response) -> str:
    assert pushed.status_code == 201, pushed.text
    start = rp.op.issuer + "/authorize"
    params = {"client_id": rp.client.client_id, "request_uri": pushed.json()["request_uri"]}
    outcome = browser.go(requests.Request("GET", start, params=params).prepare().url or start)
    if outcome.page is not None:
        outcome = browser.login(outcome.page, "an.nguyen", "correct horse")
    return outcome.params["code"]


def exchange(rp: RelyingParty, code: str, key: EcKey | None, **proof_claims: Any) -> requests.Response:
    headers = {"DPoP": key.dpop_proof("POST", rp.op.issuer + "/token", **proof_claims)} if key else {}
    return rp.exchange(code, headers=headers)


def assert_bound_to(response: requests.Response, rp: RelyingParty, key: EcKey) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    _header, claims = verify_jws(body["access_token"], rp.jwks, allowed_algs=("ES256",))
    assert claims["cnf"]["jkt"] == key.thumbprint()


def assert_invalid_grant(response: requests.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"


def test_a_proof_sent_to_par_binds_the_code_to_its_key(rp: RelyingParty, browser: Browser) -> None:
    key, thief = EcKey(), EcKey()
    par_url = rp.op.issuer + "/par"
    # with another key, or without any proof, the code is refused (a thief who caught it has no use for it)
    assert_invalid_grant(exchange(rp, code_from_par(rp, browser, push(rp, key.dpop_proof("POST", par_url))), thief))
    assert_invalid_grant(exchange(rp, code_from_par(rp, browser, push(rp, key.dpop_proof("POST", par_url))), None))
    # with the key of the pushed proof: a token bound to it
    code = code_from_par(rp, browser, push(rp, key.dpop_proof("POST", par_url)))
    assert_bound_to(exchange(rp, code, key), rp, key)


def test_dpop_jkt_binds_the_code_in_par_and_on_the_front_channel(rp: RelyingParty, browser: Browser) -> None:
    key, thief = EcKey(), EcKey()
    assert_invalid_grant(exchange(rp, code_from_par(rp, browser, push(rp, dpop_jkt=key.thumbprint())), thief))
    assert_bound_to(exchange(rp, code_from_par(rp, browser, push(rp, dpop_jkt=key.thumbprint())), key), rp, key)
    # the same parameter on a plain authorization request
    front = rp.sign_in(browser, dpop_jkt=key.thumbprint())
    assert_invalid_grant(exchange(rp, front["code"], None))
    front = rp.sign_in(browser, dpop_jkt=key.thumbprint())
    assert_bound_to(exchange(rp, front["code"], key), rp, key)
    # it survives the sign-in page (the interaction stores the request) as well as an existing session
    fresh = Browser(rp.op.issuer)
    front = rp.sign_in(fresh, dpop_jkt=thief.thumbprint())
    assert_invalid_grant(exchange(rp, front["code"], key))


def test_a_proof_sent_to_authorize_is_checked_and_binds_the_code(rp: RelyingParty, browser: Browser) -> None:
    """A browser sends no DPoP header, but a script may: its proof is checked like any other."""
    key, other = EcKey(), EcKey()
    authorize = rp.op.issuer + "/authorize"
    browser.session.headers["DPoP"] = key.dpop_proof("GET", authorize)
    bound = rp.sign_in(browser)
    assert_invalid_grant(exchange(rp, bound["code"], other))
    browser.session.headers["DPoP"] = key.dpop_proof("GET", authorize)
    assert_bound_to(exchange(rp, rp.sign_in(browser)["code"], key), rp, key)
    # disagreeing with dpop_jkt: the error goes back to the client
    browser.session.headers["DPoP"] = key.dpop_proof("GET", authorize)
    refused = rp.authorize(browser, dpop_jkt=other.thumbprint())
    assert refused.params["error"] == "invalid_dpop_proof" and "code" not in refused.params
    # an invalid proof: the error page, no code
    browser.session.headers["DPoP"] = "not-a-dpop-proof"
    page = rp.authorize(browser).page
    assert page is not None and page.status_code == 400


def test_an_invalid_dpop_header_at_par_is_refused(rp: RelyingParty) -> None:
    key = EcKey()
    par_url = rp.op.issuer + "/par"
    replayed = key.dpop_proof("POST", par_url)
    assert push(rp, replayed).status_code == 201
    for proof in (
        "not-a-dpop-proof",
        key.dpop_proof("POST", rp.op.issuer + "/token"),  # made for another endpoint
        key.dpop_proof("GET", par_url),
        key.dpop_proof("POST", par_url, iat=0),
        replayed,
    ):
        refused = push(rp, proof)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_dpop_proof" and "request_uri" not in refused.json()
    # a malformed dpop_jkt is refused too
    malformed = push(rp, dpop_jkt="not a thumbprint")
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_request"


def test_a_proof_and_a_dpop_jkt_that_disagree_are_refused(rp: RelyingParty, browser: Browser) -> None:
    key, other = EcKey(), EcKey()
    par_url = rp.op.issuer + "/par"
    refused = push(rp, key.dpop_proof("POST", par_url), dpop_jkt=other.thumbprint())
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_dpop_proof" and "request_uri" not in refused.json()
    # when they agree, the code is bound to that key
    agreed = push(rp, key.dpop_proof("POST", par_url), dpop_jkt=key.thumbprint())
    assert_bound_to(exchange(rp, code_from_par(rp, browser, agreed), key), rp, key)


def test_clients_that_send_neither_are_not_bound(rp: RelyingParty, browser: Browser) -> None:
    response = exchange(rp, code_from_par(rp, browser, push(rp)), None)
    assert response.status_code == 200 and response.json()["token_type"] == "Bearer"
    # and may still choose DPoP at the token endpoint
    key = EcKey()
    assert_bound_to(exchange(rp, code_from_par(rp, browser, push(rp)), key), rp, key)
    assert "DPoP-Nonce" not in push(rp, key.dpop_proof("POST", rp.op.issuer + "/par")).headers  # nonces are off


# -- server-provided nonces --------------------------------------------------------------------------------------


@pytest.fixture
def nonce_op(tmp_path: Path, directory: InMemoryDirectory) -> Iterator[LiveProvider]:
    with live_provider(tmp_path, directory, oidc__dpop_nonce=True) as live:
        nonces = live.provider.dpop_nonces
        assert nonces is not None
        start = time.time()
        nonces.clock = lambda: start  # no window ends halfway through a test
        yield live


def test_nonces_are_required_at_par_token_and_userinfo(nonce_op: LiveProvider) -> None:
    rp = RelyingParty.register(nonce_op, name="Hồ sơ công việc")
    browser = Browser(nonce_op.issuer)
    key = EcKey()
    issuer = nonce_op.issuer

    # PAR: a proof without a nonce gets use_dpop_nonce and the nonce to use; with it, 201 and a fresh nonce
    first = push(rp, key.dpop_proof("POST", issuer + "/par"))
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce", first.text
    nonce = first.headers["DPoP-Nonce"]
    pushed = push(rp, key.dpop_proof("POST", issuer + "/par", nonce=nonce))
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["DPoP-Nonce"] == nonce  # the same window: the same nonce
    code = code_from_par(rp, browser, pushed)

    # token endpoint: a made-up or missing nonce gets use_dpop_nonce, and the code is not used up by it
    for claims in ({}, {"nonce": "made-up"}):
        refused = exchange(rp, code, key, **claims)
        assert refused.status_code == 400 and refused.json()["error"] == "use_dpop_nonce", refused.text
        assert refused.headers["DPoP-Nonce"] == nonce
    tokens = exchange(rp, code, key, nonce=nonce)
    assert_bound_to(tokens, rp, key)
    assert tokens.headers["DPoP-Nonce"] == nonce

    # userinfo: 401 with a DPoP use_dpop_nonce challenge and the nonce, then 200
    at = tokens.json()["access_token"]
    userinfo = issuer + "/userinfo"

    def call(**claims: Any) -> requests.Response:
        proof = key.dpop_proof("GET", userinfo, access_token=at, **claims)
        return requests.get(userinfo, headers={"Authorization": f"DPoP {at}", "DPoP": proof}, timeout=10)

    challenged = call()
    assert challenged.status_code == 401
    assert challenged.headers["WWW-Authenticate"].startswith('DPoP realm="antin", error="use_dpop_nonce"')
    assert challenged.headers["DPoP-Nonce"] == nonce
    ok = call(nonce=nonce)
    assert ok.status_code == 200, ok.text
    assert ok.headers["DPoP-Nonce"] == nonce
    # the refresh request needs it too
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]}
    token_url = issuer + "/token"
    no_nonce = rp.token_request(refresh, headers={"DPoP": key.dpop_proof("POST", token_url)})
    assert no_nonce.status_code == 400 and no_nonce.json()["error"] == "use_dpop_nonce"
    renewed = rp.token_request(refresh, headers={"DPoP": key.dpop_proof("POST", token_url, nonce=nonce)})
    assert renewed.status_code == 200, renewed.text


def test_a_nonce_is_shared_by_instances_and_expires_after_two_windows() -> None:
    from idp.oidc.dpop_nonce import DPoPNonces

    now = [1_000_000.0]
    nonces = DPoPNonces("instance secret", clock=lambda: now[0])
    other_worker = DPoPNonces("instance secret", clock=lambda: now[0])
    other_platform = DPoPNonces("another secret", clock=lambda: now[0])
    nonce = nonces.current()
    assert other_worker.current() == nonce and other_worker.accepts(nonce)
    assert not other_platform.accepts(nonce)
    now[0] += nonces.window_seconds
    assert nonces.accepts(nonce) and nonces.current() != nonce  # the previous window's nonce still works
    now[0] += nonces.window_seconds
    assert not nonces.accepts(nonce)  # a proof made with it in advance is worthless now
    assert not nonces.accepts(None) and not nonces.accepts("") and not nonces.accepts(123)
