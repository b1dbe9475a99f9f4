"""Renewing the TSA's certificate in real Chromium: the platform administrator opens the CA page from the menu, follows
"Renew…" on the TSA's row, reads the confirmation page, confirms, and the page shows the new serial and end date, in
Vietnamese; the English confirmation page for the OCSP responder, left with Cancel (nothing renewed). Screenshots go
to $ANTIN_SCREENSHOTS (looked at; one is in docs/)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from antin.kernel.readable import local_date
from directory.demo_data import DEMO_PASSWORD
from tests.admin.conftest import AdminPlatform
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)

pytestmark = [pytest.mark.browser, pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


def sign_in(page: Any, base: str, login: str) -> None:
    page.goto(base + "/admin/")
    page.fill("#username", login)
    page.fill("#password", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.locator("#my-grants").wait_for()


def test_the_platform_administrator_renews_the_tsa_in_chromium(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    base, ca = admin_platform.base_url, admin_platform.instance_ca()
    before = ca.chain()
    assert before.tsa is not None and before.ocsp is not None

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        sign_in(page, base, "dungpt")
        page.locator("#menu-pki").click()
        page.locator("#ca-certificates").wait_for()
        page.locator("#renew-tsa").click()
        page.locator("#confirm-renew-form").wait_for()
        assert "Gia hạn chứng thư của Dịch vụ cấp dấu thời gian?" in page.locator("h1").inner_text()
        assert format(before.tsa.serial_number, "x") in page.locator("#certificate-facts").inner_text()
        page.screenshot(path=str(shots / "console-pki-renew-confirm-vi.png"), full_page=True)
        assert ca.chain().tsa.serial_number == before.tsa.serial_number  # type: ignore[union-attr]
        page.locator("#confirm-renew").click()
        page.locator("#flash").wait_for()
        after = ca.chain().tsa
        assert after is not None and after.serial_number != before.tsa.serial_number
        row = page.locator("#ca-certificates tr[data-role=tsa]")
        assert format(after.serial_number, "x") in row.inner_text()
        assert local_date(after.not_valid_after) in row.inner_text()
        assert "Chứng thư đã được gia hạn" in page.locator("#flash").inner_text()
        page.screenshot(path=str(shots / "console-pki-renewed-vi.png"), full_page=True)
    finally:
        context.close()

    context = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        sign_in(page, base, "dungpt")
        page.goto(base + "/admin/pki")
        page.locator("#renew-ocsp").click()
        page.locator("#confirm-renew-form").wait_for()
        assert "Renew the certificate of the OCSP responder?" in page.locator("h1").inner_text()
        page.screenshot(path=str(shots / "console-pki-renew-confirm-en.png"), full_page=True)
        page.locator("#cancel").click()
        page.locator("#ca-certificates").wait_for()
        assert ca.chain().ocsp.serial_number == before.ocsp.serial_number  # type: ignore[union-attr]
    finally:
        context.close()
