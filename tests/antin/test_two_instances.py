"""Two `antin serve` instances (2 workers each, under granian as the unit runs them) behind Debian's nginx, sharing
PostgreSQL, Redis and one slapd, run as docs/production sets them up: a sign-in, its code, refresh tokens, DPoP proofs,
pushed requests, throttles, sessions, logout and signing keys are the same whichever instance answers, and killing
one instance's main process mid-run loses no official's session.

The phases share one platform and run in this order (the last kills an instance) inside one test: pytest-xdist's
``--dist loadgroup`` does not keep a module's tests on one worker with pytest 9.2 (pytest-xdist issue 1386), and
two platforms at once would double the cost on a 2-core machine."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from idp.oidc.keys import CACHE_SECONDS
from tests.antin.hostile_clients import hostile_clients_leave_the_others_served
from tests.antin.two_instances import (
    BYE,
    DOCS,
    ROOT,
    AppInstance,
    Platform,
    new_official,
    stop_instance,
    two_instances,
    upstreams_in,
)
from tests.directory.conftest import PASSWORD
from tests.idp.jose_check import BadTokenError, EcKey, b64d, verify_jws

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slapd,
    pytest.mark.xdist_group("two-instances"),
]


def test_the_production_guide_shows_the_files_the_test_runs() -> None:
    guide = (ROOT / "docs" / "production.md").read_text()
    for name in ("nginx.conf", "antin.service", "antin.env"):
        assert (DOCS / name).read_text().rstrip() + "\n```" in guide, f"docs/production.md shows another {name}"


def test_two_instances_behind_nginx(tmp_path: Path) -> None:
    with two_instances(tmp_path) as platform:
        a_sign_in_and_its_tokens_cross_instances(platform)
        a_strangers_budget_spent_on_one_instance_is_spent_on_the_other(platform)
        tokens_signed_with_rotated_keys_on_a_reloaded_instance_work_on_the_other(platform)
        key_rotation_reaches_both_instances_through_nginx(platform)
        hostile_clients_leave_the_others_served(platform)
        an_instance_killed_mid_run_loses_no_session(platform)
        with_both_instances_stopped_nginx_answers_in_the_platforms_words(platform)


def refused_grant(response: requests.Response) -> bool:
    return response.status_code == 400 and response.json().get("error") == "invalid_grant"


def a_sign_in_and_its_tokens_cross_instances(platform: Platform) -> None:
    """Page from A, password posted to B, code redeemed on A and replayed on B; a refresh token rotated on A and
    replayed on B; a DPoP proof replayed on B; a PAR request pushed to A used on B; logout on B."""
    a, b, issuer = platform.a, platform.b, platform.issuer
    rp = platform.relying_party()
    browser = platform.browser(a)
    page = rp.authorize(browser).page
    assert page is not None and "login-form" in page.text
    code = platform.route(browser, b).login(page, platform.official, PASSWORD).params["code"]
    first = rp.on(a).exchange(code)
    assert first.status_code == 200, first.text
    assert refused_grant(rp.on(b).exchange(code))
    userinfo = issuer + "/userinfo"
    bearer = {"Authorization": "Bearer " + first.json()["access_token"]}
    assert platform.session(a).get(userinfo, headers=bearer, timeout=10).status_code == 401  # the replay revoked it

    # the SSO session made on B signs in on A without a password; its refresh token rotates on A, B sees the reuse
    tokens = rp.on(a).exchange(rp.sign_in(platform.route(browser, a))["code"]).json()
    rotated = rp.on(a).token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    assert refused_grant(
        rp.on(b).token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    )
    newest = rotated.json()["refresh_token"]
    assert refused_grant(rp.on(a).token_request({"grant_type": "refresh_token", "refresh_token": newest}))

    # a DPoP proof is accepted once, whichever instance sees it again
    key = EcKey()
    params = rp.sign_in(browser)
    bound = rp.on(b).exchange(params["code"], headers={"DPoP": key.dpop_proof("POST", issuer + "/token")})
    assert bound.status_code == 200 and bound.json()["token_type"] == "DPoP", bound.text
    _header, claims = verify_jws(bound.json()["access_token"], platform.keyring.document(), allowed_algs=("ES256",))
    assert claims["cnf"]["jkt"] == key.thumbprint()
    at = bound.json()["access_token"]
    proof = {"Authorization": f"DPoP {at}", "DPoP": key.dpop_proof("GET", userinfo, access_token=at)}
    assert platform.session(b).get(userinfo, headers=proof, timeout=10).status_code == 200
    assert platform.session(a).get(userinfo, headers=proof, timeout=10).status_code == 401

    # a pushed authorization request made on A is used by a new browser on B
    pushed = platform.session(a).post(
        issuer + "/par", data=rp.auth_params(), auth=(rp.client.client_id, rp.secret or ""), timeout=10
    )
    assert pushed.status_code == 201, pushed.text
    elsewhere = platform.browser(b)
    start = (
        issuer
        + "/authorize?"
        + urlencode({"client_id": rp.client.client_id, "request_uri": pushed.json()["request_uri"]})
    )
    page = elsewhere.go(start).page
    assert page is not None
    code = elsewhere.login(page, platform.official, PASSWORD).params["code"]
    assert rp.on(a).exchange(code).status_code == 200

    # logout on B ends the session on A too, and the access token it issued
    signed_in = rp.on(a).exchange(rp.sign_in(platform.route(browser, a))["code"]).json()
    logout = issuer + "/logout?" + urlencode({"id_token_hint": signed_in["id_token"], "post_logout_redirect_uri": BYE})
    assert platform.route(browser, b).go(logout).location == BYE
    assert rp.authorize(platform.route(browser, a), prompt="none").params.get("error") == "login_required"
    bearer = {"Authorization": "Bearer " + signed_in["access_token"]}
    assert platform.session(a).get(userinfo, headers=bearer, timeout=10).status_code == 401


def a_strangers_budget_spent_on_one_instance_is_spent_on_the_other(platform: Platform) -> None:
    rp = platform.relying_party()
    target = new_official(platform.ldap, platform.unit)

    def stranger(via: AppInstance) -> int:
        browser = platform.browser(via)
        page = rp.authorize(browser).page
        assert page is not None
        outcome = browser.login(page, target, "a guess")
        assert outcome.page is not None
        return outcome.page.status_code

    # slapd locks after 5 failures; browsers it never saw may spend 5 - 1 - 2 (ANTIN_THROTTLE_DEVICE_FAILURES)
    assert [stranger(platform.a), stranger(platform.a)] == [401, 401]
    assert stranger(platform.b) == 429
    assert stranger(platform.a) == 429


def tokens_signed_with_rotated_keys_on_a_reloaded_instance_work_on_the_other(platform: Platform) -> None:
    """After `antin keys rotate`, A is reloaded (`systemctl reload`: SIGHUP, new workers): its new workers sign
    with the new keys at once, while B's workers still hold the old keys in their cache. B accepts A's tokens."""
    a, b = platform.a, platform.b
    old_workers = set(a.workers())
    os.kill(a.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 60
    while old_workers & set(a.workers()) or len(a.workers()) < 2:
        assert time.monotonic() < deadline, "A's workers were not replaced"
        time.sleep(0.1)
    rp = platform.relying_party().on(a)
    tokens = platform.sign_in(rp, platform.browser(a))
    assert json.loads(b64d(tokens["access_token"].split(".")[0]))["kid"] in platform.new_kids
    bearer = {"Authorization": "Bearer " + tokens["access_token"], "Connection": "close"}
    b_jwks = platform.jwks_bodies(b)
    stale = any(not platform.new_kids <= {key["kid"] for key in json.loads(body)["keys"]} for body in b_jwks)
    answers = [platform.session(b).get(platform.issuer + "/userinfo", headers=bearer, timeout=10) for _ in range(8)]
    assert [answer.status_code for answer in answers] == [200] * 8
    print(f"\nB's workers {'still held the old keys' if stale else 'had read the new keys'} when A's token came")


def key_rotation_reaches_both_instances_through_nginx(platform: Platform) -> None:
    """nginx shares the officials between the instances; every token verifies while the rotated keys spread, and
    both instances publish the same JWKS with the new keys within the cache window."""
    rp = platform.relying_party()
    logged = len(platform.nginx_log.read_text().splitlines())
    for _ in range(4):
        tokens = platform.sign_in(rp.on(None), platform.browser())
        refreshed = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
    answered = set(upstreams_in(platform.nginx_log, after=logged))
    assert {platform.a.url.removeprefix("http://"), platform.b.url.removeprefix("http://")} <= answered
    # a sign-in page served by one instance had its form posted to the other (the sign-ins run one after the
    # other: /authorize answers each one's password page, its form is the next POST to /login/)
    served: str | None = None  # the instance that served the last sign-in page
    crossed = 0
    for line in platform.nginx_log.read_text().splitlines()[logged:]:
        method, uri, status, upstream = line.split(" ", 3)
        if uri == "/authorize" and method == "GET" and status == "200":  # nginx logs $uri: no query
            served = upstream
        elif uri.startswith("/login/") and method == "POST" and served is not None:
            crossed += served != upstream
            served = None
    assert crossed, "nginx sent every sign-in form back to the instance that served it"

    deadline = platform.rotated_at + CACHE_SECONDS + 10
    while True:
        bodies = platform.jwks_bodies(platform.a) | platform.jwks_bodies(platform.b)
        kids = [{key["kid"] for key in json.loads(body)["keys"]} for body in bodies]
        if len(bodies) == 1 and platform.new_kids <= kids[0]:
            break
        assert time.monotonic() < deadline, f"the instances still disagree: {kids}"
        time.sleep(0.5)
    print(f"\nJWKS equal on every worker {time.monotonic() - platform.rotated_at:.1f} s after `antin keys rotate`")
    for via in (platform.a, platform.b):
        tokens = platform.sign_in(rp.on(via), platform.route(platform.browser(), via))
        for name in ("access_token", "id_token"):
            header = json.loads(b64d(tokens[name].split(".")[0]))
            assert header["kid"] in platform.new_kids


def an_instance_killed_mid_run_loses_no_session(platform: Platform) -> None:
    """kill -9 of instance A's main process while officials sign in and refresh through nginx: the officials
    signed in before keep their sessions, served by B; clients see at most a few errors while A's workers die
    (in-flight requests), and none once A refuses connections (nginx passes them on to B)."""
    rp = platform.relying_party()
    logged = len(platform.nginx_log.read_text().splitlines())
    before = [platform.browser() for _ in range(6)]
    for browser in before:
        platform.sign_in(rp.twin(), browser)
    assert platform.a.url.removeprefix("http://") in upstreams_in(platform.nginx_log, after=logged)
    outcomes: list[tuple[float, str]] = []  # (when the sign-in started, "ok" or what went wrong)
    stop = threading.Event()

    def officials_at_work() -> None:
        party = rp.twin()
        while not stop.is_set():
            started = time.monotonic()
            try:
                tokens = platform.sign_in(party, platform.browser())
                refreshed = party.token_request(
                    {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
                )
                result = "ok" if refreshed.status_code == 200 else f"refresh: {refreshed.status_code}"
            except (AssertionError, KeyError, BadTokenError, requests.RequestException) as err:
                result = f"{type(err).__name__}: {str(err)[:200]}"
            outcomes.append((started, result))

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 60
        while len(outcomes) < count:
            assert time.monotonic() < deadline, outcomes
            time.sleep(0.05)

    a = platform.a
    port = int(a.url.rsplit(":", 1)[1])
    with ThreadPoolExecutor(2) as pool:
        loops = [pool.submit(officials_at_work) for _ in range(2)]
        try:
            wait_for(2)
            a.orphans = a.workers()
            killed_at = time.monotonic()
            os.kill(a.proc.pid, signal.SIGKILL)
            while a.workers_listen(port):
                assert time.monotonic() < killed_at + 30, "A's workers outlived their master"
                time.sleep(0.1)
            gone_at = time.monotonic()
            wait_for(sum(started > gone_at for started, _ in outcomes) + 6)
        finally:
            stop.set()
            for loop in loops:
                loop.result()
    errors = [result for _, result in outcomes if result != "ok"]
    after_gone = [result for started, result in outcomes if started > gone_at]
    passed_on = [line for line in platform.nginx_log.read_text().splitlines() if ", " in line]
    print(
        f"\nkill -9 of A's main process: its workers stopped serving {gone_at - killed_at:.1f} s later; "
        f"{len(outcomes)} sign-ins with a refresh, {sum(s > killed_at for s, _ in outcomes)} started after the kill; "
        f"{len(errors)} errors {errors}; nginx passed {len(passed_on)} requests on from A to B"
    )
    assert len(errors) <= 2, errors
    assert after_gone.count("ok") == len(after_gone), after_gone
    for browser in before:  # the SSO cookie still works, through the surviving instance
        params = rp.authorize(browser, prompt="none").params
        assert params.get("code"), params
        assert rp.exchange(params["code"]).status_code == 200


def with_both_instances_stopped_nginx_answers_in_the_platforms_words(platform: Platform) -> None:
    """The last phase: B stopped too (A was killed). An application's token request gets problem+json saying it
    was not processed, an official's browser the page (tests/antin/test_nginx_errors.py covers the rest)."""
    stop_instance(platform.b)
    refused = platform.relying_party().token_request({"grant_type": "refresh_token", "refresh_token": "x"})
    assert refused.status_code == 502 and refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "urn:antin:unavailable" and "was not processed" in problem["detail"]
    assert refused.headers["Retry-After"] == "5" and refused.headers["Cache-Control"] == "no-store"
    page = platform.session(Accept="text/html").get(platform.issuer + "/account", timeout=10)
    assert page.status_code == 502 and "Hệ thống tạm thời không phản hồi" in page.text
