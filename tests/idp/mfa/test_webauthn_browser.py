"""Security keys in real Chromium with its virtual authenticator (CDP ``WebAuthn.*``): register a key on the
security page, then sign in to an application with password and key; the ID token's acr and amr say so (checked
by the independent verifier). A key whose signature is bogus, and a clone of the key (its counter back at 0), get a
page that says so, not a 500; the clone is audited."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from idp.oidc.acr import ACR_PHISHING_RESISTANT
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import RelyingParty

pytestmark = pytest.mark.browser

SECURITY_KEY = {
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def test_register_a_security_key_and_sign_in_with_it(
    chromium: Any,  # noqa: F811
    op: LiveProvider,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    context = chromium.new_context(locale="en-US")
    landed: list[str] = []

    def fulfil(route: Any) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p id='rp'>ok</p>")

    context.route("http://localhost:9/**", fulfil)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": SECURITY_KEY})["authenticatorId"]

    page.goto(op.issuer + "/account/security")
    page.fill("#username", "an.nguyen")
    page.fill("#password", "correct horse")
    page.keyboard.press("Enter")
    page.locator("#add-webauthn").click()
    page.locator("#webauthn-form").wait_for()
    page.screenshot(path=str(shots / "webauthn-enrol.png"), full_page=True)
    page.fill("#name", "YubiKey xanh")
    page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#new-recovery-codes").wait_for()  # the first factor comes with recovery codes
    page.locator("#done").focus()  # autofocus may not have happened yet on a busy machine
    page.keyboard.press("Enter")
    page.locator("#security-keys li[data-kind=webauthn]").wait_for()
    listed = page.locator("#security-keys li[data-kind=webauthn]").inner_text()
    assert "YubiKey xanh" in listed and "kept on one device" in listed and "usb" in listed
    page.screenshot(path=str(shots / "webauthn-security.png"), full_page=True)
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]

    # an application asks for a sign-in: the password, then the key (a bogus signature first)
    context.clear_cookies()
    page.goto(op.issuer + "/authorize?" + urlencode(rp.auth_params()))
    page.fill("#username", "an.nguyen")
    page.fill("#password", "correct horse")
    page.keyboard.press("Enter")
    page.locator("#webauthn-form").wait_for()
    page.screenshot(path=str(shots / "webauthn-step.png"), full_page=True)
    cdp.send("WebAuthn.setResponseOverrideBits", {"authenticatorId": authenticator, "isBogusSignature": True})
    page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#webauthn-error").wait_for()
    assert "could not be accepted" in page.locator("#webauthn-error").inner_text()
    page.screenshot(path=str(shots / "webauthn-step-refused.png"), full_page=True)
    cdp.send("WebAuthn.setResponseOverrideBits", {"authenticatorId": authenticator, "isBogusSignature": False})
    with page.expect_request(lambda r: r.url.startswith("http://localhost:9/cb")):
        page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#rp").wait_for()
    params = {k: v[0] for k, v in parse_qs(urlsplit(landed[-1]).query).items()}
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_PHISHING_RESISTANT
    assert claims["amr"] == ["pwd", "hwk", "user", "pin", "mfa"]

    # a clone of the key (its private key copied into another authenticator, its counter back at 0): refused
    (original,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert original["signCount"] >= 1
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    clone = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": SECURITY_KEY})["authenticatorId"]
    cdp.send("WebAuthn.addCredential", {"authenticatorId": clone, "credential": {**original, "signCount": 0}})
    context.clear_cookies()
    page.goto(op.issuer + "/authorize?" + urlencode(rp.auth_params()))
    page.fill("#username", "an.nguyen")
    page.fill("#password", "correct horse")
    page.keyboard.press("Enter")
    page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#webauthn-error").wait_for()
    assert "counter went backwards" in page.locator("#webauthn-error").inner_text()
    page.screenshot(path=str(shots / "webauthn-cloned.png"), full_page=True)
    assert [e.event for e in op.instance.audit.entries(event="mfa:webauthn:cloned")] == ["mfa:webauthn:cloned"]
    context.close()


PASSKEY = {**SECURITY_KEY, "transport": "internal"}  # a platform authenticator: the computer's own passkeys


def test_passwordless_sign_in_with_a_passkey(
    chromium: Any,  # noqa: F811
    op: LiveProvider,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    context = chromium.new_context(locale="vi-VN")
    landed: list[str] = []

    def fulfil(route: Any) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p id='rp'>ok</p>")

    context.route("http://localhost:9/**", fulfil)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": PASSKEY})["authenticatorId"]

    page.goto(op.issuer + "/account/security/webauthn")
    page.fill("#username", "an.nguyen")
    page.fill("#password", "correct horse")
    page.keyboard.press("Enter")
    page.locator("#webauthn-form").wait_for()
    page.wait_for_load_state()  # webauthn.js handles the button: a click before it ran posts no credential
    page.fill("#name", "Máy tính")
    page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#new-recovery-codes").wait_for()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]

    def signed_in_claims() -> dict[str, Any]:
        page.locator("#rp").wait_for()
        params = {k: v[0] for k, v in parse_qs(urlsplit(landed[-1]).query).items()}
        return rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])

    # the application asks: the login page offers the passkey in the username field's autofill (conditional UI),
    # which Chromium's virtual authenticator accepts at once: signed in with no username and no password
    context.clear_cookies()
    with page.expect_request(lambda r: r.url.startswith("http://localhost:9/cb")):
        page.goto(op.issuer + "/authorize?" + urlencode(rp.auth_params()))
    claims = signed_in_claims()
    assert claims["acr"] == ACR_PHISHING_RESISTANT
    assert claims["amr"] == ["hwk", "user", "pin", "mfa"]

    # a browser without conditional UI: the "sign in with a passkey" button
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable = async () => false;")
    context.clear_cookies()
    page.goto(op.issuer + "/authorize?" + urlencode(rp.auth_params()))
    page.locator("#passkey-submit").wait_for()
    assert page.locator("#username").get_attribute("autocomplete") == "username webauthn"
    page.screenshot(path=str(shots / "passkey-login.png"), full_page=True)
    with page.expect_request(lambda r: r.url.startswith("http://localhost:9/cb")):
        page.locator("form[data-ready] #passkey-submit").click()
    claims = signed_in_claims()
    assert claims["acr"] == ACR_PHISHING_RESISTANT and claims["amr"] == ["hwk", "user", "pin", "mfa"]

    # the same passkey unable to verify the user: the browser refuses (the options require it), the page says so
    # and nothing is posted (the server's own refusal of such an answer: test_webauthn_pages.py)
    context.clear_cookies()
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False})
    page.goto(op.issuer + "/authorize?" + urlencode(rp.auth_params()))
    login_url = page.url
    page.locator("form[data-ready] #passkey-submit").click()
    page.locator("#webauthn-status").wait_for()
    assert "Passkey chưa được dùng" in page.locator("#webauthn-status").inner_text()
    assert page.url == login_url
    page.screenshot(path=str(shots / "passkey-not-verified.png"), full_page=True)
    context.close()


PHISHING_PAGE = """<!doctype html><title>Ấn Tín</title><script>
window.relay = async (options) => {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(options));
  try { return JSON.stringify((await navigator.credentials.get({ publicKey })).toJSON()); }
  catch (err) { return "refused by the browser: " + err.name; }
};
</script>"""


# replaces the form's submit: the key's real answer, its clientDataJSON rewritten to name the phishing origin
TAMPER_ON_SUBMIT = r"""() => {
  const form = document.getElementById("webauthn-form");
  const b64 = (text) => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const unb64 = (text) => atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  form.submit = function () {
    const credential = JSON.parse(form.elements.credential.value);
    const client = JSON.parse(unb64(credential.response.clientDataJSON));
    client.origin = "http://evil.localhost";
    credential.response.clientDataJSON = b64(JSON.stringify(client));
    form.elements.credential.value = JSON.stringify(credential);
    HTMLFormElement.prototype.submit.call(form);
  };
}"""


def test_a_ceremony_for_another_origin_is_refused(
    chromium: Any,  # noqa: F811
    op: LiveProvider,
) -> None:
    """A phishing site relays the real step's options to the official's key: Chromium refuses to run it (the RP ID
    is not the phishing origin's), and an answer whose clientDataJSON names the phishing origin is refused by the
    provider with a clear page."""
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    context = chromium.new_context(locale="en-US")
    context.route(
        "http://evil.localhost/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=PHISHING_PAGE),
    )
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": SECURITY_KEY})
    page.goto(op.issuer + "/account/security/webauthn")
    page.fill("#username", "an.nguyen")
    page.fill("#password", "correct horse")
    page.keyboard.press("Enter")
    page.locator("#webauthn-form").wait_for()
    page.wait_for_load_state()  # webauthn.js handles the button: a click before it ran posts no credential
    page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#new-recovery-codes").wait_for()

    context.clear_cookies()
    page.goto(op.issuer + "/authorize?" + urlencode(rp.auth_params()))
    page.fill("#username", "an.nguyen")
    page.fill("#password", "correct horse")
    page.keyboard.press("Enter")
    options = page.locator("#webauthn-form").get_attribute("data-options")
    phishing = context.new_page()
    phishing.goto("http://evil.localhost/login")
    assert phishing.evaluate("options => window.relay(options)", options) == "refused by the browser: SecurityError"

    # the key's real answer, its clientDataJSON rewritten to name the phishing origin: refused, a clear page
    page.evaluate(TAMPER_ON_SUBMIT)
    page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#webauthn-error").wait_for()
    assert "could not be accepted" in page.locator("#webauthn-error").inner_text()
    failures = list(op.instance.audit.entries(event="mfa:webauthn:failure"))
    assert failures and "origin" in str(failures[0].details)
    context.close()
