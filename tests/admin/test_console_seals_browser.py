"""The seal pages and the CA's status in real Chromium: a certificate officer of the whole directory finds a unit's
seal page from the menu, issues its seal, revokes it behind the confirmation page (the reason picked from the list),
then reads the CA's status (certificates with their days left, the OCSP responder and the TSA answering, the CRLs'
next update), in Vietnamese then in English; then, with the platform's clock moved near the OCSP certificate's end,
the warning on the home page leads to the CA page, the certificate amber. Screenshots go to $ANTIN_SCREENSHOTS
(looked at; two are in docs/)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from directory.demo_data import DEMO_PASSWORD
from directory.models import NewPerson
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.admin.test_seals import new_unit
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)

pytestmark = [pytest.mark.browser, pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


def test_issue_and_revoke_a_seal_then_read_the_cas_status(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    ldap, base = admin_platform.ldap, admin_platform.base_url
    officer = unique("cts")
    ldap.create_person(NewPerson(uid=officer, full_name="Hoàng Văn Ấn", unit_code="TW", password=DEMO_PASSWORD))
    grant = admin_platform.service.delegation.grant(OPERATOR, officer, "certificate-officer", "*")
    code = new_unit(admin_platform, "BNH-VP", unique, "Phòng Văn thư")

    for locale in ("vi-VN", "en-US"):
        context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 860})
        page = context.new_page()
        try:
            page.goto(base + "/admin/")
            page.fill("#username", officer)
            page.fill("#password", DEMO_PASSWORD)
            page.keyboard.press("Enter")
            page.locator("#my-grants").wait_for()
            if locale == "vi-VN":
                page.locator("#menu-seals").click()
                page.locator("#seal-list").wait_for()
                page.fill("#unit", code)
                page.keyboard.press("Enter")
                row = page.locator(f"#seal-list tr[data-unit='{code}']")
                row.wait_for()
                assert "Chưa có con dấu" in row.inner_text()
                page.screenshot(path=str(shots / "console-seals.png"), full_page=True)
                row.locator("a").click()
                page.locator("#issue-seal").click()
                page.locator("#flash").wait_for()
                issued = page.locator("#seal-certificates tr[data-status=valid]")
                serial = issued.get_attribute("data-serial")
                assert serial and admin_platform.instance_ca().get(serial).status == "valid"
                assert "Phòng Văn thư" in issued.inner_text()
                page.screenshot(path=str(shots / "console-seal.png"), full_page=True)

                issued.locator("a.revoke-seal").click()
                page.locator("#confirm-seal-form").wait_for()
                assert admin_platform.instance_ca().get(serial).status == "valid"  # the confirmation changes nothing
                page.select_option("#reason", "cessation-of-operation")
                page.screenshot(path=str(shots / "console-confirm-revoke-seal.png"), full_page=True)
                page.locator("#confirm-seal").click()
                page.locator("#flash").wait_for()
                assert page.locator(f"#seal-certificates tr[data-serial='{serial}'][data-status=revoked]").count() == 1
                assert admin_platform.instance_ca().get(serial).revocation_reason == "cessation-of-operation"

            page.locator("#menu-pki").click()
            page.locator("#pki-services").wait_for()
            assert page.locator("#probe-ocsp[data-answering=yes]").count() == 1
            assert page.locator("#probe-tsa[data-answering=yes]").count() == 1
            assert page.locator("#ca-certificates tr[data-expiry=ok]").count() == 4
            assert page.locator("#crls tr[data-ca=issuing] .next-update").inner_text().strip()
            answering = "đang trả lời" if locale == "vi-VN" else "answering"
            assert answering in page.locator("#probe-tsa").inner_text()
            page.screenshot(path=str(shots / f"console-pki-{locale[:2]}.png"), full_page=True)
        finally:
            context.close()

    # the platform's clock moved to 10 days before the first of the CA's certificates ends (the OCSP responder's,
    # unless a renewal test of the same session gave it a new one): amber on the home page and the CA page
    chain = admin_platform.instance_ca().chain()
    assert chain.ocsp is not None and chain.tsa is not None
    ends = {"root": chain.root, "issuing": chain.issuing, "ocsp": chain.ocsp, "tsa": chain.tsa}
    role = min(ends, key=lambda name: ends[name].not_valid_after)
    clock = admin_platform.instance.clock
    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        clock.advance(ends[role].not_valid_after - timedelta(days=10) - clock.now())
        page.goto(base + "/admin/")
        page.fill("#username", officer)
        page.fill("#password", DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.locator("#expiry-warnings").wait_for()
        assert page.locator(f"#expiry-warnings li.expiring[data-role={role}]").count() == 1
        page.screenshot(path=str(shots / "console-home-expiry.png"), full_page=True)
        page.locator(f"#expiry-warnings li[data-role={role}] a").click()
        page.locator("#pki-warning").wait_for()
        assert page.locator(f"#ca-certificates tr[data-role={role}][data-expiry=expiring]").count() == 1
        page.screenshot(path=str(shots / "console-pki-expiring.png"), full_page=True)
    finally:
        clock.reset()
        context.close()
    admin_platform.service.delegation.revoke(OPERATOR, grant.id)
