"""Enrolment inside the login in real Chromium (issue 10 items 5 and 10): an official whose group requires a
second factor and who has none signs in to an application, sets up an authenticator app (in Vietnamese) or a
security key (Chromium's virtual authenticator) on the way, keeps the recovery codes, and lands in the
application with an ID token at the level the policy asked for."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest

from idp.oidc.acr import ACR_MFA, ACR_PHISHING_RESISTANT
from tests.idp.conftest import make_directory
from tests.idp.mfa.test_mfa_browser import (
    chromium,  # noqa: F401  (the module's browser)
    focus_lands_on,
)
from tests.idp.mfa.test_webauthn_browser import SECURITY_KEY
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import RelyingParty

pytestmark = pytest.mark.browser


@pytest.fixture
def policy_op(tmp_path: Path) -> Iterator[LiveProvider]:
    # an.nguyen is in van-thu (app or key) and can-bo; the hardware level stays out of this test
    with live_provider(tmp_path / "op", make_directory(), mfa__group_levels=("van-thu=urn:antin:acr:mfa",)) as live:
        yield live


def _application(context: Any) -> list[str]:
    landed: list[str] = []

    def fulfil(route: Any) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p id='rp'>ok</p>")

    context.route("http://localhost:9/**", fulfil)
    return landed


def _sign_in(page: Any, op: LiveProvider, rp: RelyingParty, **params: str) -> None:
    page.goto(op.issuer + "/authorize?" + urlencode(rp.auth_params(**params)))
    page.fill("#username", "an.nguyen")
    page.fill("#password", "correct horse")
    page.keyboard.press("Enter")
    page.locator("#enrol-why").wait_for()


def test_an_official_with_no_factor_sets_up_the_app_inside_the_login(
    chromium: Any,  # noqa: F811
    policy_op: LiveProvider,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    rp = RelyingParty.register(policy_op, name="Hồ sơ công việc")
    context = chromium.new_context(locale="vi-VN")
    landed = _application(context)
    page = context.new_page()
    _sign_in(page, policy_op, rp)
    assert page.locator("h1").inner_text() == "Thiết lập xác thực hai bước"
    assert "Hồ sơ công việc" in page.locator("#client-name").inner_text()
    assert page.locator("#totp-qr svg").count() == 1 and page.locator("#webauthn-form").count() == 1
    assert focus_lands_on(page, "code")  # the keyboard user types the code at once
    page.screenshot(path=str(shots / "enrol-in-login-vi.png"), full_page=True)

    app = pyotp.TOTP(page.locator("#totp-key").inner_text().replace(" ", ""))
    page.keyboard.type(app.now())
    page.keyboard.press("Enter")
    page.locator("#new-recovery-codes").wait_for()
    assert page.locator("#new-recovery-codes li").count() == 10
    page.screenshot(path=str(shots / "enrol-in-login-codes-vi.png"), full_page=True)
    with page.expect_request(lambda r: r.url.startswith("http://localhost:9/cb")):
        page.keyboard.press("Enter")  # "I have kept them" has the focus, and goes on to the application
    page.locator("#rp").wait_for()
    params = {k: v[0] for k, v in parse_qs(urlsplit(landed[-1]).query).items()}
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]
    context.close()


def test_an_official_sets_up_a_security_key_inside_the_login(
    chromium: Any,  # noqa: F811
    policy_op: LiveProvider,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    rp = RelyingParty.register(policy_op, name="Hồ sơ công việc")
    context = chromium.new_context(locale="en-US")
    landed = _application(context)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": SECURITY_KEY})["authenticatorId"]
    # the application asks for phishing resistance: only a key is offered
    _sign_in(page, policy_op, rp, acr_values="phr", claims='{"id_token": {"acr": {"essential": true, "value": "phr"}}}')
    assert page.locator("#totp-form").count() == 0
    page.screenshot(path=str(shots / "enrol-in-login-key-en.png"), full_page=True)
    page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#new-recovery-codes").wait_for()
    with page.expect_request(lambda r: r.url.startswith("http://localhost:9/cb")):
        page.locator("#done").click()
    page.locator("#rp").wait_for()
    params = {k: v[0] for k, v in parse_qs(urlsplit(landed[-1]).query).items()}
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_PHISHING_RESISTANT and claims["amr"] == ["pwd", "hwk", "user", "pin", "mfa"]
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    context.close()
