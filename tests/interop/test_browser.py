"""The login pages in real Chromium: sign-in, consent, SSO, the account page and "sign out everywhere"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.components import missing_component
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import RelyingParty

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing_component("Chromium is not installed (scripts/install-system-packages.sh test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def _route_callbacks(context: Any, seen: list[str]) -> None:
    """The clients' redirect URIs: record where the browser lands and show a blank page."""

    def fulfil(route: Any) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p id='rp'>ok</p>")

    context.route("http://localhost:9/**", fulfil)


def test_main_flow_in_chromium(chromium: Any, op: LiveProvider, tmp_path: Path) -> None:
    trusted = RelyingParty.register(op, name="Hồ sơ công việc")
    third = RelyingParty.register(op, name="Ứng dụng đối tác", trusted=False)
    context = chromium.new_context(locale="vi-VN")
    seen: list[str] = []
    _route_callbacks(context, seen)
    page = context.new_page()

    # sign in (Vietnamese by default), with a wrong password first
    page.goto(op.issuer + "/authorize?" + urlencode(trusted.auth_params()))
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("#client-name").inner_text().endswith("Hồ sơ công việc")
    page.fill("#username", "an.nguyen")
    page.fill("#password", "wrong")
    page.click("#login-submit")
    assert page.locator("#login-error").inner_text() == "Sai tên đăng nhập hoặc mật khẩu."
    page.screenshot(path=str(tmp_path / "login-error.png"))
    page.fill("#password", "correct horse")
    with page.expect_request(lambda r: r.url.startswith("http://localhost:9/cb")) as landed:
        page.click("#login-submit")
    page.locator("#rp").wait_for()  # the client's page has loaded: no navigation left to interrupt
    params = {k: v[0] for k, v in parse_qs(urlsplit(landed.value.url).query).items()}
    assert params["state"] == trusted.last["state"] and params["iss"] == op.issuer
    tokens = trusted.exchange(params["code"]).json()
    claims = trusted.verify_id_token(tokens["id_token"], nonce=trusted.last["nonce"])

    # SSO to a third-party client: no password, a consent screen (in English after the switch)
    page.goto(op.issuer + "/authorize?" + urlencode(third.auth_params()))
    assert page.locator("#consent-form").is_visible()
    page.click("#lang-en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Allow Ứng dụng đối tác?" in page.locator("h1").inner_text()
    with page.expect_request(lambda r: r.url.startswith("http://localhost:9/cb")) as landed:
        page.click("#consent-allow")
    page.locator("#rp").wait_for()
    code = parse_qs(urlsplit(landed.value.url).query)["code"][0]
    other = third.verify_id_token(third.exchange(code).json()["id_token"])
    assert other["sub"] == claims["sub"] and other["sid"] == claims["sid"]

    # the account page lists the session and both applications; sign out everywhere
    page.goto(op.issuer + "/account")
    assert page.locator("#sessions li").count() == 1
    assert page.locator("#applications li").count() == 2
    page.screenshot(path=str(tmp_path / "account.png"), full_page=True)
    page.click("#logout-everywhere")
    page.locator("#logged-out").wait_for()  # the page that says so (it fails the test if it never comes)
    assert trusted.userinfo(tokens["access_token"]).status_code == 401
    context.close()


def test_mobile_viewport_is_usable(chromium: Any, op: LiveProvider, tmp_path: Path) -> None:
    rp = RelyingParty.register(op)
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    page = context.new_page()
    page.goto(op.issuer + "/authorize?" + urlencode(rp.auth_params()))
    assert page.locator("html").get_attribute("lang") == "en"
    box = page.locator("#username").bounding_box()
    assert box is not None and box["width"] > 250 and box["x"] + box["width"] <= 360
    # every input has a label
    for field in ("username", "password"):
        assert page.locator(f"label[for={field}]").count() == 1
    page.screenshot(path=str(tmp_path / "mobile.png"))
    context.close()
