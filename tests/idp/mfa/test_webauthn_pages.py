"""Security keys through the pages over HTTP, with the software authenticator playing the browser: bad answers
get a page that says what to do (no key used, a tampered clientDataJSON, an unknown key, an answer to an old or
expired challenge), never a 500; a good one ends in an ID token at the phishing-resistant level."""

from __future__ import annotations

from datetime import timedelta

from idp.mfa.security_keys import CEREMONY_SECONDS
from idp.oidc.acr import ACR_MFA, ACR_PHISHING_RESISTANT
from tests.idp.mfa.pages import options_of, sign_in_to_account, text_of
from tests.idp.mfa.soft_authenticator import SoftAuthenticator, b64url
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty

PASSWORD = "correct horse"


def test_register_and_sign_in_through_the_pages_with_bad_answers_first(op: LiveProvider, rp: RelyingParty) -> None:
    key = SoftAuthenticator(op.issuer, "localhost")
    account = Browser(op.issuer, **{"Accept-Language": "en"})
    page = sign_in_to_account(account, "an.nguyen", PASSWORD, "/account/security/webauthn")
    assert 'id="webauthn-form"' in page.text

    no_key = account.submit(page, "webauthn-form", {"credential": ""}).page
    assert no_key is not None and no_key.status_code == 400 and "was not used" in text_of(no_key, "webauthn-error")
    options = options_of(no_key)
    tampered = key.create(options, origin="https://phishing.example")
    refused = account.submit(no_key, "webauthn-form", {"credential": tampered}).page
    assert refused is not None and refused.status_code == 400
    assert "could not be accepted" in text_of(refused, "webauthn-error")

    op.instance.clock.advance(timedelta(seconds=CEREMONY_SECONDS + 1))
    expired = account.submit(refused, "webauthn-form", {"credential": key.create(options_of(refused))}).page
    assert expired is not None and expired.status_code == 400 and "open too long" in text_of(expired, "webauthn-error")
    op.instance.clock.advance(timedelta(seconds=-CEREMONY_SECONDS - 1))

    fresh = account.go(op.issuer + "/account/security/webauthn").page
    assert fresh is not None
    codes = account.submit(fresh, "webauthn-form", {"credential": key.create(options_of(fresh)), "name": "Khóa"}).page
    assert codes is not None and codes.status_code == 200 and 'id="new-recovery-codes"' in codes.text

    browser = Browser(op.issuer, **{"Accept-Language": "en"})
    step = browser.login(rp.authorize(browser).page, "an.nguyen", PASSWORD).page  # type: ignore[arg-type]
    assert step is not None and 'id="webauthn-form"' in step.text

    stranger = SoftAuthenticator(op.issuer, "localhost")
    unknown = browser.submit(step, "webauthn-form", {"credential": stranger.get(options_of(step))}).page
    assert unknown is not None and unknown.status_code == 401
    assert "not registered" in text_of(unknown, "webauthn-error")
    stale = key.get(options_of(step))  # an answer to the first page's challenge, which the refusal used up
    old = browser.submit(unknown, "webauthn-form", {"credential": stale}).page
    assert old is not None and old.status_code == 401 and "could not be accepted" in text_of(old, "webauthn-error")

    key.user_verification = False  # a touch without PIN: a second factor, not phishing-resistant
    params = browser.submit(old, "webauthn-form", {"credential": key.get(options_of(old))}).params
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "hwk", "user", "mfa"]

    key.user_verification = True
    again = Browser(op.issuer)
    step = again.login(rp.authorize(again).page, "an.nguyen", PASSWORD).page  # type: ignore[arg-type]
    assert step is not None
    params = again.submit(step, "webauthn-form", {"credential": key.get(options_of(step))}).params
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_PHISHING_RESISTANT and claims["amr"] == ["pwd", "hwk", "user", "pin", "mfa"]


def test_phr_in_acr_values_is_read_as_phishing_resistant(op: LiveProvider, rp: RelyingParty) -> None:
    browser = Browser(op.issuer)
    page = rp.authorize(
        browser, acr_values="phr", claims='{"id_token": {"acr": {"essential": true, "value": "phr"}}}'
    ).page
    assert page is not None and 'id="login-form"' in page.text
    # a password alone cannot reach it: no weaker token, the official is led to add a key (an app cannot do)
    enrol = browser.login(page, "binh.tran", PASSWORD).page
    assert enrol is not None and enrol.url.endswith("/enrol"), enrol.url if enrol else None
    assert 'id="webauthn-form"' in enrol.text and 'id="totp-form"' not in enrol.text


def test_passwordless_sign_in_with_a_passkey(op: LiveProvider, rp: RelyingParty) -> None:
    passkey = SoftAuthenticator(op.issuer, "localhost", synced=True)
    account = Browser(op.issuer)
    page = sign_in_to_account(account, "an.nguyen", PASSWORD, "/account/security/webauthn")
    account.submit(page, "webauthn-form", {"credential": passkey.create(options_of(page))})

    browser = Browser(op.issuer, **{"Accept-Language": "en"})
    login = rp.authorize(browser).page
    assert login is not None and 'autocomplete="username webauthn"' in login.text and 'id="passkey-form"' in login.text
    options = options_of(login)
    assert '"userVerification": "required"' in options and '"allowCredentials": []' in options

    stranger = SoftAuthenticator(op.issuer, "localhost")
    stranger.user_handle = b64url(b"someone")
    unknown = browser.submit(login, "passkey-form", {"credential": stranger.get(options)}).page
    assert unknown is not None and unknown.status_code == 401 and "not registered" in text_of(unknown, "passkey-error")

    passkey.user_verification = False  # a touch is not enough without the password
    untouched = browser.submit(unknown, "passkey-form", {"credential": passkey.get(options_of(unknown))}).page
    assert untouched is not None and untouched.status_code == 401 and "PIN" in text_of(untouched, "passkey-error")

    passkey.user_verification = True
    params = browser.submit(untouched, "passkey-form", {"credential": passkey.get(options_of(untouched))}).params
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_PHISHING_RESISTANT and claims["amr"] == ["swk", "user", "pin", "mfa"]
