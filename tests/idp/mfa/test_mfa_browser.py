"""TOTP in real Chromium, with the keyboard only: the security page, enrolment from the key shown in text, the
recovery codes, then a sign-in to an application with password and code, in Vietnamese and in English."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest

from idp.oidc.acr import ACR_MFA
from tests.components import missing_component
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import RelyingParty
from tests.interop.test_browser import CHROMIUM, FLAGS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing_component("Chromium is not installed (scripts/install-system-packages.sh test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def tab_to(page: Any, element_id: str, limit: int = 30) -> None:
    """Press Tab until ``element_id`` has the focus (what a keyboard user does)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached with Tab")


def focus_lands_on(page: Any, element_id: str) -> bool:
    """Whether ``autofocus`` puts the cursor in ``element_id`` once the page is drawn (Chromium applies it then,
    not at load: asked at once on a busy machine, the answer was still the body). Polled from here: the page's CSP
    forbids eval, which ``wait_for_function`` needs once its first look fails (it then raised an EvalError)."""
    deadline = time.monotonic() + 5
    while True:
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_enrol_and_sign_in_with_the_keyboard(chromium: Any, op: LiveProvider, tmp_path: Path, locale: str) -> None:
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    context = chromium.new_context(locale="vi-VN" if locale == "vi" else "en-US")
    landed: list[str] = []

    def fulfil(route: Any) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p id='rp'>ok</p>")

    context.route("http://localhost:9/**", fulfil)
    page = context.new_page()

    def shot(name: str) -> None:
        page.screenshot(path=str(tmp_path / f"{locale}-{name}.png"), full_page=True)

    # no session: the security page signs in first, then comes back
    page.goto(op.issuer + "/account/security")
    assert page.locator("html").get_attribute("lang") == locale
    page.keyboard.type("an.nguyen")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse")
    page.keyboard.press("Enter")
    page.locator("#add-totp").wait_for()
    assert page.url.endswith("/account/security")
    shot("security-empty")

    tab_to(page, "add-totp")
    page.keyboard.press("Enter")
    page.locator("#totp-form").wait_for()
    assert page.locator("#totp-qr svg").count() == 1
    shot("totp-enrol")
    key = page.locator("#totp-key").inner_text()
    app = pyotp.TOTP(key.replace(" ", ""))
    assert focus_lands_on(page, "code")  # the code field waits for the code
    assert page.locator("#code").get_attribute("autocomplete") == "one-time-code"
    page.keyboard.type("000000")
    page.keyboard.press("Enter")
    page.locator("#totp-error").wait_for()
    shot("totp-wrong")
    assert page.locator("#totp-key").inner_text() == key  # the same key: nothing to scan again
    page.locator("#code").fill("")
    page.locator("#code").focus()
    page.keyboard.type(app.now())
    page.keyboard.press("Enter")
    page.locator("#new-recovery-codes").wait_for()
    assert page.locator("#new-recovery-codes li").count() == 10
    shot("recovery-codes")
    page.keyboard.press("Enter")  # "I have kept them" has the focus
    page.locator("#factors").wait_for()
    assert page.locator("#factors li[data-kind=totp]").count() == 1
    left = {"vi": "Số mã khôi phục còn lại: 10", "en": "Recovery codes left: 10"}[locale]
    assert page.locator("#recovery-count").inner_text() == left
    shot("security-enrolled")

    # an application asks for a sign-in: password, then the code step
    signed_out = context.new_page()
    context.clear_cookies()
    signed_out.goto(op.issuer + "/authorize?" + urlencode(rp.auth_params()))
    page = signed_out
    page.fill("#username", "an.nguyen")
    page.fill("#password", "correct horse")
    page.keyboard.press("Enter")
    page.locator("#code-form").wait_for()
    shot("step")
    assert focus_lands_on(page, "code")
    page.keyboard.type("123 456" if app.now() != "123456" else "654321")
    page.keyboard.press("Enter")
    page.locator("#code-error").wait_for()
    shot("step-wrong")
    page.locator("#code").fill("")
    page.locator("#code").focus()
    with page.expect_request(lambda r: r.url.startswith("http://localhost:9/cb")):
        # the enrolment used this time step's code: the next step's, as a phone a little ahead shows it
        page.keyboard.type(app.at(time.time() + 30))
        page.keyboard.press("Enter")
    page.locator("#rp").wait_for()
    params = {k: v[0] for k, v in parse_qs(urlsplit(landed[-1]).query).items()}
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]
    context.close()
