"""Step-up (issue 10 item 6) over HTTP, with the software authenticator playing the security key: an SSO session
at ``mfa`` asked for ``phr`` is asked for its key alone (no password, no app code), and ends in an ID token at
the phishing-resistant level; a level the official has no factor for reaches the client as
``unmet_authentication_requirements`` when enrolment inside the login is off (``[mfa] enrol_in_login=false``;
with it on, the default, the official sets the factor up instead: ``test_policies.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from idp.oidc.acr import ACR_MFA, ACR_PHISHING_RESISTANT
from tests.idp.conftest import make_directory
from tests.idp.mfa.pages import Enrolled, enrol_totp, options_of, sign_in_to_account
from tests.idp.mfa.soft_authenticator import SoftAuthenticator
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty

PASSWORD = "correct horse"
ESSENTIAL_PHR = json.dumps({"id_token": {"acr": {"essential": True, "values": ["phr"]}}})


@pytest.fixture
def op(tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider(tmp_path, make_directory(), mfa__enrol_in_login=False) as live:
        yield live


def _session_at_mfa(op: LiveProvider, rp: RelyingParty, login: str) -> tuple[Browser, Enrolled]:
    """An official who enrolled an app, then signed in to the application with password and code."""
    account = Browser(op.issuer, **{"Accept-Language": "en"})
    sign_in_to_account(account, login, PASSWORD)
    enrolled = enrol_totp(account)
    browser = Browser(op.issuer, **{"Accept-Language": "en"})
    page = rp.authorize(browser).page
    assert page is not None and 'id="login-form"' in page.text
    step = browser.login(page, login, PASSWORD).page
    assert step is not None and 'id="code-form"' in step.text
    params = browser.submit(step, "code-form", {"code": enrolled.app.now()}).params
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]
    return browser, enrolled


def _add_key(op: LiveProvider, browser: Browser, key: SoftAuthenticator) -> None:
    """A key added on the security page by the signed-in official (the session stays at mfa)."""
    page = browser.go(op.issuer + "/account/security/webauthn").page
    assert page is not None and 'id="webauthn-form"' in page.text, page.text[:300] if page else None
    added = browser.submit(page, "webauthn-form", {"credential": key.create(options_of(page)), "name": "Khóa"}).page
    assert added is not None and added.status_code == 200 and "Khóa" in added.text


def test_a_session_at_mfa_asked_for_phr_gets_the_key_step_alone(op: LiveProvider, rp: RelyingParty) -> None:
    browser, _enrolled = _session_at_mfa(op, rp, "an.nguyen")
    key = SoftAuthenticator(op.issuer, "localhost")
    _add_key(op, browser, key)

    step = rp.authorize(browser, acr_values="phr").page
    assert step is not None and step.url.endswith("/security-key"), step.url if step else None
    # only what the session lacks: no password field, and the app (already used) is not offered instead
    assert 'id="webauthn-form"' in step.text and 'id="login-form"' not in step.text
    assert 'name="password"' not in step.text and 'id="use-app"' not in step.text
    params = browser.submit(step, "webauthn-form", {"credential": key.get(options_of(step))}).params
    tokens = rp.exchange(params["code"]).json()
    claims = rp.verify_id_token(tokens["id_token"], access_token=tokens["access_token"])
    assert claims["acr"] == ACR_PHISHING_RESISTANT
    assert claims["amr"] == ["pwd", "otp", "mfa", "hwk", "user", "pin"]

    # the SSO session now holds the stronger level: the next request for it is answered without a page
    again = rp.authorize(browser, claims=ESSENTIAL_PHR)
    assert again.page is None and "code" in again.params, again.params
    claims = rp.verify_id_token(rp.exchange(again.params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_PHISHING_RESISTANT


def test_a_key_touched_without_pin_cannot_step_up_to_phr(op: LiveProvider, rp: RelyingParty) -> None:
    browser, _enrolled = _session_at_mfa(op, rp, "an.nguyen")
    key = SoftAuthenticator(op.issuer, "localhost")
    _add_key(op, browser, key)
    key.user_verification = False
    step = rp.authorize(browser, claims=ESSENTIAL_PHR).page
    assert step is not None and 'id="webauthn-form"' in step.text
    outcome = browser.submit(step, "webauthn-form", {"credential": key.get(options_of(step))})
    assert outcome.params.get("error") == "unmet_authentication_requirements", outcome.params


def test_no_key_enrolled_the_client_hears_unmet_authentication_requirements(op: LiveProvider, rp: RelyingParty) -> None:
    browser, _enrolled = _session_at_mfa(op, rp, "an.nguyen")
    outcome = rp.authorize(browser, claims=ESSENTIAL_PHR, state="s-42")
    assert outcome.page is None, outcome.page.url if outcome.page else None
    assert outcome.params["error"] == "unmet_authentication_requirements"
    assert outcome.params["state"] == "s-42" and outcome.params["iss"] == op.issuer
    # acr_values alone is voluntary: the session's own level is given, not an error
    voluntary = rp.authorize(browser, acr_values="phr")
    claims = rp.verify_id_token(rp.exchange(voluntary.params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA


def test_max_age_asks_for_the_password_again_then_only_the_missing_key(op: LiveProvider, rp: RelyingParty) -> None:
    browser, _enrolled = _session_at_mfa(op, rp, "an.nguyen")
    key = SoftAuthenticator(op.issuer, "localhost")
    _add_key(op, browser, key)
    page = rp.authorize(browser, acr_values="phr", max_age="0", prompt="login").page
    assert page is not None and 'id="login-form"' in page.text
    step = browser.login(page, "an.nguyen", PASSWORD).page
    assert step is not None and 'id="webauthn-form"' in step.text
    params = browser.submit(step, "webauthn-form", {"credential": key.get(options_of(step))}).params
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_PHISHING_RESISTANT and claims["amr"] == ["pwd", "hwk", "user", "pin", "mfa"]


def test_prompt_none_with_a_session_too_weak_answers_login_required(op: LiveProvider, rp: RelyingParty) -> None:
    browser, _enrolled = _session_at_mfa(op, rp, "an.nguyen")
    outcome = rp.authorize(browser, claims=ESSENTIAL_PHR, prompt="none")
    assert outcome.page is None and outcome.params["error"] == "login_required", outcome.params
    silent = rp.authorize(browser, prompt="none")  # the session's own level is still given silently
    claims = rp.verify_id_token(rp.exchange(silent.params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA


def test_an_unmet_level_is_refused_before_any_consent_is_asked(op: LiveProvider, rp: RelyingParty) -> None:
    browser, _enrolled = _session_at_mfa(op, rp, "an.nguyen")
    partner = RelyingParty.register(op, name="Ứng dụng đối tác", trusted=False)
    outcome = partner.authorize(browser, claims=ESSENTIAL_PHR)
    assert outcome.page is None, outcome.page.text[:300] if outcome.page else None
    assert outcome.params["error"] == "unmet_authentication_requirements"
    # with a level it can reach, the partner's consent page is still shown
    consent = partner.authorize(browser, acr_values="phr").page
    assert consent is not None and 'id="consent-form"' in consent.text
