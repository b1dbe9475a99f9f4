"""An official in a browser (the tests' HTTP browser) enrolling TOTP and signing in with a code, and the WebAuthn
options of a page (for the software authenticator)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
import requests

from tests.idp.rp import Browser, RelyingParty

PASSWORD = "correct horse"


def text_of(page: requests.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page.text, re.S)
    assert found, f"no #{element_id} on {page.url}"
    return found.group(1).strip()


def options_of(page: requests.Response) -> str:
    """The WebAuthn options a page gives its script (the form's data-options), as JSON text."""
    found = re.search(r'data-options="([^"]*)"', page.text)
    assert found, f"no WebAuthn options on {page.url}"
    return html.unescape(found.group(1))


@dataclass
class Enrolled:
    app: pyotp.TOTP
    recovery_codes: list[str]


def sign_in_to_account(
    browser: Browser, login: str, password: str, path: str = "/account/security"
) -> requests.Response:
    """Open an account page with no session: sign in first, and land back on it."""
    page = browser.go(browser.issuer + path).page
    assert page is not None and 'id="login-form"' in page.text
    landed = browser.login(page, login, password).page
    assert landed is not None and landed.url.endswith(path), landed.url if landed else None
    return landed


def enrol_totp(browser: Browser) -> Enrolled:
    """Add an authenticator app on /account/security/totp; the first code is one step old, as a slow typist's."""
    page = browser.go(browser.issuer + "/account/security/totp").page
    assert page is not None and page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.text and "<svg" in page.text
    key = text_of(page, "totp-key")
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{4}", key), key
    app = pyotp.TOTP(key.replace(" ", ""))
    first_code = app.at(datetime.now(UTC) - timedelta(seconds=30))
    shown = browser.submit(page, "totp-form", {"code": first_code, "name": "Điện thoại"}).page
    assert shown is not None and shown.status_code == 200, shown.text[:300] if shown else None
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", shown.text)
    assert len(codes) == 10
    return Enrolled(app, codes)


def enrolment_page(rp: RelyingParty, login: str, **params: str) -> tuple[Browser, requests.Response]:
    browser = Browser(rp.op.issuer, **{"Accept-Language": "en"})
    page = rp.authorize(browser, **params).page
    assert page is not None
    enrol = browser.login(page, login, PASSWORD).page
    assert enrol is not None and enrol.url.endswith("/enrol"), (enrol.url, enrol.text[:300]) if enrol else None
    return browser, enrol


def enrol_app(browser: Browser, page: requests.Response) -> tuple[pyotp.TOTP, list[str], dict[str, str]]:
    """Add the app shown on the enrolment page; the recovery codes, then on to the application's redirect."""
    app = pyotp.TOTP(text_of(page, "totp-key").replace(" ", ""))
    shown = browser.submit(page, "totp-form", {"code": app.now()}).page
    assert shown is not None and shown.status_code == 200, shown.text[:300] if shown else None
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", shown.text)
    assert len(codes) == 10
    target = re.findall(r'id="done" href="([^"]+)"', shown.text)[0].replace("&amp;", "&")
    return app, codes, browser.go(browser.issuer + target).params
