"""The pages the walkthrough found broken on a phone, in real Chromium at 390 px: the portal's lists and a document's
history, an official's page and the administrators' list in the console, and the platform's error page. None may
make the page itself scroll sideways (a wide table scrolls inside itself), and the error page must be styled (its
inline style was blocked by the strict Content-Security-Policy). Screenshots go to $ANTIN_SCREENSHOTS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directory.demo_data import DEMO_PASSWORD
from tests.admin.conftest import AdminPlatform, admin_platform  # noqa: F401  (the fixture)
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)

pytestmark = [pytest.mark.browser, pytest.mark.slapd]

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def platform(admin_platform: AdminPlatform) -> Iterator[AdminPlatform]:  # noqa: F811
    from admin.console.pages import EXTENSION_KEY
    from idp.oidc.first_party import ensure_all_registered
    from signing.documents.demo import seed_demo_documents

    ensure_all_registered(admin_platform.instance)
    seed_demo_documents(admin_platform.instance)  # drafted by the platform's administrator, dungpt
    state = admin_platform.app.extensions[EXTENSION_KEY]
    required, state.required_acr = state.required_acr, None  # a password session opens the console
    try:
        yield admin_platform
    finally:
        state.required_acr = required


def sideways(page: Any) -> int:
    """How far the page itself scrolls sideways, in CSS pixels (0: it fits the phone)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_pages_fit_a_phone(chromium: Any, platform: AdminPlatform, language: str, tmp_path: Path) -> None:  # noqa: F811
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    base = platform.base_url
    context = chromium.new_context(locale="vi-VN", viewport=PHONE, has_touch=True)
    context.add_cookies([{"name": "antin_lang", "value": language, "url": base}])
    page = context.new_page()
    try:
        # signed out: an address that does not exist gets the platform's own page, styled, in the chosen language
        response = page.goto(base + "/no-such-page")
        assert response is not None and response.status == 404
        assert page.get_attribute("html", "lang") == language
        title_colour = page.eval_on_selector("#error-title", "e => getComputedStyle(e).color")
        assert title_colour == "rgb(165, 14, 14)", title_colour  # the page's own style applied, not blocked
        assert page.locator("#error-home").get_attribute("href") == "/"
        assert sideways(page) == 0
        page.screenshot(path=str(shots / f"phone-404-{language}.png"), full_page=True)

        page.goto(base + "/account")
        page.fill("#username", "dungpt")
        page.fill("#password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url(base + "/account")
        page.goto(base + "/signin")
        page.locator("#who").wait_for()

        page.goto(base + "/documents?box=sent")
        assert page.locator("table.list tbody tr").count() >= 2
        assert sideways(page) == 0
        page.screenshot(path=str(shots / f"phone-sent-{language}.png"), full_page=True)

        documents = page.eval_on_selector_all("table.list tbody tr a", "links => links.map(a => a.href)")
        counts = []
        for document in documents:
            page.goto(document)
            counts.append(page.locator("p.detail").first.inner_text())
        one_page = "1 page ·" if language == "en" else "1 trang ·"
        assert any(one_page in c for c in counts) and not any("1 pages" in c for c in counts), counts
        page.goto(document + "/history")
        assert page.locator("#history-entries tbody tr").count() >= 1
        assert sideways(page) == 0  # the audit table scrolls inside itself
        page.screenshot(path=str(shots / f"phone-history-{language}.png"), full_page=True)

        for path in ("/admin/officials/phuongnt", "/admin/grants", "/admin/officials"):
            page.goto(base + path)
            assert page.get_attribute("html", "lang") == language
            assert sideways(page) == 0, path  # long e-mail addresses wrap, the tables scroll inside themselves
            page.screenshot(
                path=str(shots / f"phone-{path.strip('/').replace('/', '-')}-{language}.png"), full_page=True
            )
    finally:
        context.close()
