"""Consent for third-party clients, RP-initiated logout, back-channel logout, session limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from tests.idp.jose_check import verify_jws
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty


class Receiver:
    """A client's back-channel logout endpoint: records logout tokens; can fail the first attempts."""

    def __init__(self, failures: int = 0) -> None:
        self.tokens: list[str] = []
        self.failures = failures
        self.event = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.tokens.append(parse_qs(body)["logout_token"][0])
                receiver.event.set()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_consent_for_third_party_clients(op: LiveProvider, browser: Browser) -> None:
    third = RelyingParty.register(op, name="Ứng dụng đối tác", trusted=False)
    outcome = third.authorize(browser, ui_locales="en")
    consent = browser.login(outcome.page, "an.nguyen", "correct horse")  # type: ignore[arg-type]
    assert consent.page is not None and 'id="consent-form"' in consent.page.text
    assert "Ứng dụng đối tác" in consent.page.text and 'data-scope="email"' in consent.page.text
    allowed = browser.submit(consent.page, "consent-form", {"decision": "allow"})
    assert third.exchange(allowed.params["code"]).status_code == 200
    # remembered: no question the next time, even silently
    assert third.authorize(browser, prompt="none").params.get("code")
    # prompt=consent asks again
    again = third.authorize(browser, prompt="consent")
    assert again.page is not None and 'id="consent-form"' in again.page.text
    denied = browser.submit(again.page, "consent-form", {"decision": "deny"})
    assert denied.params["error"] == "access_denied" and denied.params["iss"] == op.issuer
    # revoked from the account page: asked again, prompt=none says consent_required
    account = browser.go(op.issuer + "/account").page
    assert account is not None
    from tests.idp.rp import forms_of

    revoke_forms = [fid for fid, f in forms_of(account.text).items() if f["inputs"].get("client_id")]
    browser.submit(account, revoke_forms[0])
    assert third.authorize(browser, prompt="none").params["error"] == "consent_required"


def test_trusted_clients_skip_consent(rp: RelyingParty, browser: Browser) -> None:
    outcome = rp.authorize(browser)
    assert browser.login(outcome.page, "an.nguyen", "correct horse").params["code"]  # type: ignore[arg-type]


def test_rp_initiated_logout_with_backchannel(op: LiveProvider, browser: Browser, receiver: Receiver) -> None:
    rp1 = RelyingParty.register(
        op, name="A", post_logout_redirect_uris=("http://localhost:9/bye",), backchannel_logout_uri=receiver.url
    )
    rp2 = RelyingParty.register(op, name="B", backchannel_logout_uri=receiver.url)
    t1 = rp1.code_flow(browser)
    t2 = rp2.code_flow(browser)
    query = urlencode(
        {"id_token_hint": t1["id_token"], "post_logout_redirect_uri": "http://localhost:9/bye", "state": "s1"}
    )
    outcome = browser.go(op.issuer + "/logout?" + query)
    assert outcome.location == "http://localhost:9/bye?state=s1"
    # both clients of the session get a logout token
    for _ in range(50):
        if len(receiver.tokens) >= 2:
            break
        receiver.event.wait(0.2)
        receiver.event.clear()
    assert len(receiver.tokens) == 2
    audiences = set()
    for token in receiver.tokens:
        header, claims = verify_jws(token, rp1.jwks)
        assert header["typ"] == "logout+jwt"
        assert claims["iss"] == op.issuer and claims["sid"] == t1["id_claims"]["sid"]
        assert claims["sub"] == t1["id_claims"]["sub"]
        assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
        assert "nonce" not in claims and claims["jti"]
        audiences.add(claims["aud"])
    assert audiences == {rp1.client.client_id, rp2.client.client_id}
    # the session is over and its tokens are revoked
    assert rp1.authorize(browser, prompt="none").params["error"] == "login_required"
    assert rp2.userinfo(t2["access_token"]).status_code == 401


def test_logout_refuses_unregistered_post_logout_uri(rp: RelyingParty, browser: Browser, op: LiveProvider) -> None:
    tokens = rp.code_flow(browser)
    query = urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"})
    outcome = browser.go(op.issuer + "/logout?" + query)
    assert outcome.location is None and outcome.page is not None and outcome.page.status_code == 400
    # still signed in
    assert rp.authorize(browser, prompt="none").params.get("code")


def test_logout_without_hint_asks_first(rp: RelyingParty, browser: Browser, op: LiveProvider) -> None:
    rp.code_flow(browser)
    outcome = browser.go(op.issuer + "/logout")
    assert outcome.page is not None and 'id="logout-form"' in outcome.page.text
    assert rp.authorize(browser, prompt="none").params.get("code")  # a GET alone does not sign out
    done = browser.submit(outcome.page, "logout-form", {"confirm": "yes"})
    assert done.page is not None and 'id="logged-out"' in done.page.text
    assert rp.authorize(browser, prompt="none").params["error"] == "login_required"


def test_backchannel_delivery_is_retried(op: LiveProvider, browser: Browser) -> None:
    flaky = Receiver(failures=1)
    try:
        rp = RelyingParty.register(op, name="Flaky", backchannel_logout_uri=flaky.url)
        tokens = rp.code_flow(browser)
        query = urlencode({"id_token_hint": tokens["id_token"]})
        browser.go(op.issuer + "/logout?" + query)
        backchannel = op.provider.backchannel
        for _ in range(50):  # the first attempt (failing) happens in the background
            if flaky.failures == 0:
                break
            flaky.event.wait(0.1)
        assert flaky.tokens == []
        _wait_until_attempt_recorded(op)  # the failure is written after the receiver answered
        op.instance.clock.advance(timedelta(seconds=11))
        for _ in range(50):  # the retry after 10 s (the drainer or this call, whichever comes first)
            backchannel.drain()
            if flaky.tokens:
                break
            flaky.event.wait(0.1)
        assert len(flaky.tokens) == 1
    finally:
        flaky.close()


def _wait_until_attempt_recorded(op: LiveProvider) -> None:
    from sqlalchemy import select

    from idp.oidc.models import BackchannelDelivery

    for _ in range(100):
        with op.instance.database.session() as s:
            if s.scalar(select(BackchannelDelivery.attempts)) == 1:
                return
        time.sleep(0.05)
    raise AssertionError("the failed attempt was never recorded")


def test_sso_session_idle_and_absolute_limits(
    rp: RelyingParty, browser: Browser, op: LiveProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import idp.oidc.sessions as sessions_module

    rp.code_flow(browser)
    clock = op.instance.clock
    idle = op.instance.settings.session.idle_minutes
    clock.advance(timedelta(minutes=idle - 1))
    assert rp.authorize(browser, prompt="none").params.get("code")  # used: the idle clock restarts
    clock.advance(timedelta(minutes=2))  # idle + 1 minutes from the start
    assert rp.authorize(browser, prompt="none").params.get("code")  # 2 minutes after last use: still alive
    clock.advance(timedelta(minutes=2 * idle - 1))  # 3 * idle minutes from the start
    assert rp.authorize(browser, prompt="none").params["error"] == "login_required"

    clock.reset()
    monkeypatch.setattr(sessions_module, "TOUCH_EVERY", timedelta(0))
    other = Browser(op.issuer)
    rp.code_flow(other)
    hours = op.instance.settings.session.absolute_hours
    # kept busy (a use every idle-1 minutes), the session still ends at the absolute limit
    elapsed = timedelta(0)
    while elapsed + timedelta(minutes=idle - 1) < timedelta(hours=hours):
        elapsed += timedelta(minutes=idle - 1)
        clock.advance(timedelta(minutes=idle - 1))
        assert rp.authorize(other, prompt="none").params.get("code"), elapsed
    clock.advance(timedelta(hours=hours, minutes=1) - elapsed)
    assert rp.authorize(other, prompt="none").params["error"] == "login_required"


def test_refresh_tokens_end_with_the_session(rp: RelyingParty, browser: Browser, op: LiveProvider) -> None:
    tokens = rp.code_flow(browser)
    hours = op.instance.settings.session.absolute_hours
    op.instance.clock.advance(timedelta(hours=hours, minutes=1))
    refused = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
