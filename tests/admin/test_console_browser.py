"""The console in real Chromium at its default level (phishing-resistant): an administrator adds a security key
(the virtual authenticator of Chromium), is stepped up to it by the console, finds an official by a name typed
without diacritics, disables them after the confirmation page, and reads it in the audit log; on a laptop and a
tablet, with the keyboard. Screenshots go to $ANTIN_SCREENSHOTS (looked at; two are in docs/)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from directory.demo_data import DEMO_PASSWORD
from directory.models import AuthStatus, NewPerson
from idp.oidc.acr import ACR_PHISHING_RESISTANT
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.idp.mfa.test_mfa_browser import chromium, tab_to  # noqa: F401  (the module's browser)
from tests.idp.mfa.test_webauthn_browser import SECURITY_KEY

pytestmark = [pytest.mark.browser, pytest.mark.slapd]


def test_find_and_disable_an_official_then_read_the_audit(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    from admin.console.pages import EXTENSION_KEY

    assert admin_platform.app.extensions[EXTENSION_KEY].required_acr == ACR_PHISHING_RESISTANT  # the default
    ldap, base = admin_platform.ldap, admin_platform.base_url
    admin_login = unique("qt")
    ldap.create_person(NewPerson(uid=admin_login, full_name="Lê Minh Quân", unit_code="TW", password=DEMO_PASSWORD))
    grant = admin_platform.service.delegation.grant(OPERATOR, admin_login, "unit-admin", "BNH")
    target = unique("cb")
    ldap.create_person(NewPerson(uid=target, full_name="Đỗ Thị Xuân Hương", unit_code="BNH", password=DEMO_PASSWORD))

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": SECURITY_KEY})
    try:
        # the administrator adds a security key on their own security page
        page.goto(base + "/account/security")
        page.fill("#username", admin_login)
        page.fill("#password", DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.locator("#add-webauthn").click()
        page.locator("#webauthn-form").wait_for()
        page.fill("#name", "Khoá USB")
        page.locator("form[data-ready] #webauthn-submit").click()
        page.locator("#new-recovery-codes").wait_for()
        page.locator("#done").focus()  # autofocus may not have happened yet on a busy machine
        page.keyboard.press("Enter")
        page.locator("#security-keys li[data-kind=webauthn]").wait_for()

        # the console: the password session is stepped up with the key alone, no password asked again
        page.goto(base + "/admin/")
        page.locator("#webauthn-form").wait_for()
        assert page.locator("#password").count() == 0
        page.locator("form[data-ready] #webauthn-submit").click()
        page.locator("#my-grants").wait_for()
        assert page.url == base + "/admin/"
        assert "quản trị đơn vị" in page.locator("#my-grants").inner_text()
        page.screenshot(path=str(shots / "console-home.png"), full_page=True)

        # find the official by keyboard, typing the name without diacritics
        page.goto(base + "/admin/officials")
        page.locator("#q").focus()
        page.keyboard.type("do thi xuan huong")
        page.keyboard.press("Enter")
        row = page.locator(f"#results tr[data-login='{target}']")
        row.wait_for()
        assert "Đỗ Thị Xuân Hương" in row.inner_text()
        page.screenshot(path=str(shots / "console-officials.png"), full_page=True)
        row.locator("a").click()
        page.locator("#official-facts").wait_for()
        assert "Bắc Ninh" in page.locator("#official-unit").inner_text()
        page.screenshot(path=str(shots / "console-official.png"), full_page=True)

        # disable, after the confirmation page (reached and confirmed with the keyboard)
        tab_to(page, "disable")
        page.keyboard.press("Enter")
        page.locator("#confirm-disable-form").wait_for()
        assert ldap.get_person(target).active  # the confirmation page changes nothing
        page.screenshot(path=str(shots / "console-confirm-disable.png"), full_page=True)
        tab_to(page, "confirm-disable")
        page.keyboard.press("Enter")
        page.locator("#flash").wait_for()
        assert page.locator("#official-status").get_attribute("class") == "status-suspended"
        assert ldap.get_person(target).status.value == "suspended"
        page.screenshot(path=str(shots / "console-disabled.png"), full_page=True)

        # the audit: the disable is there, by this administrator
        page.goto(base + f"/admin/audit?subject={target}")
        entry = page.locator("#audit-entries tr[data-event='directory:user:disable']")
        entry.wait_for()
        assert target in entry.inner_text()
        page.screenshot(path=str(shots / "console-audit.png"), full_page=True)
        assert page.locator("#verify-chain").count() == 0  # walking the whole chain is for the whole log's readers

        # a tablet in portrait: the search page still fits without sideways scrolling of the page itself
        page.set_viewport_size({"width": 768, "height": 1024})
        page.goto(base + "/admin/officials?q=nguyen")
        page.locator("#results").wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 768, width
        page.screenshot(path=str(shots / "console-tablet.png"), full_page=True)
    finally:
        context.close()
        admin_platform.service.delegation.revoke(OPERATOR, grant.id)


def test_move_an_official_to_another_unit_and_reset_their_password(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """Stepped up with a security key, a provincial administrator moves an official from the province's office to
    a commune (a select of the units within reach), then resets their password after the confirmation page: the
    password is shown once, and the official must change it at the next sign-in."""
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    ldap, base = admin_platform.ldap, admin_platform.base_url
    admin_login = unique("qt")
    ldap.create_person(NewPerson(uid=admin_login, full_name="Lê Minh Quân", unit_code="TW", password=DEMO_PASSWORD))
    grant = admin_platform.service.delegation.grant(OPERATOR, admin_login, "unit-admin", "BNH")
    target = unique("cb")
    ldap.create_person(NewPerson(uid=target, full_name="Phạm Văn Đức", unit_code="BNH-VP", password=DEMO_PASSWORD))
    commune = unique("BNH-XA").upper()  # a commune of its own: other tests count the demo units' officials
    ldap.create_unit(commune, "Đảng ủy xã Tam Sơn", "commune-committee", "BNH")

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": SECURITY_KEY})
    try:
        page.goto(base + "/account/security")
        page.fill("#username", admin_login)
        page.fill("#password", DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.locator("#add-webauthn").click()
        page.locator("#webauthn-form").wait_for()
        page.fill("#name", "Khoá USB")
        page.locator("form[data-ready] #webauthn-submit").click()
        page.locator("#new-recovery-codes").wait_for()
        page.locator("#done").focus()  # autofocus may not have happened yet on a busy machine
        page.keyboard.press("Enter")
        page.locator("#security-keys li[data-kind=webauthn]").wait_for()

        # straight to the official's page: the console steps the session up with the key, then lands there
        page.goto(base + f"/admin/officials/{target}")
        page.locator("#webauthn-form").wait_for()
        page.locator("form[data-ready] #webauthn-submit").click()
        page.locator("#official-facts").wait_for()
        assert "Văn phòng Tỉnh ủy Bắc Ninh" in page.locator("#official-unit").inner_text()

        # move: only the province's units are offered
        page.locator("#move").click()
        page.locator("#move-form").wait_for()
        offered = page.locator("#unit option").evaluate_all("options => options.map(o => o.value)")
        assert commune in offered and "BNH-PHATTICH-CB1" in offered
        assert not any(code.startswith("HNI") for code in offered)
        page.select_option("#unit", commune)
        page.screenshot(path=str(shots / "console-move.png"), full_page=True)
        page.locator("#confirm-move").click()
        page.locator("#flash").wait_for()
        assert "Đảng ủy xã Tam Sơn" in page.locator("#official-unit").inner_text()
        assert ldap.get_person(target).unit.code == commune  # type: ignore[union-attr]
        page.screenshot(path=str(shots / "console-moved.png"), full_page=True)

        # reset the password, after the confirmation page (reached and confirmed with the keyboard)
        tab_to(page, "reset-password")
        page.keyboard.press("Enter")
        page.locator("#confirm-reset-password-form").wait_for()
        assert ldap.authenticate(target, DEMO_PASSWORD).ok  # the confirmation page changes nothing
        page.screenshot(path=str(shots / "console-confirm-reset-password.png"), full_page=True)
        tab_to(page, "confirm-reset-password")
        page.keyboard.press("Enter")
        page.locator("#new-password").wait_for()
        password = page.locator("#new-password").inner_text().strip()
        page.screenshot(path=str(shots / "console-password-shown.png"), full_page=True)
        assert ldap.authenticate(target, password).status is AuthStatus.MUST_CHANGE
        page.locator("#done").click()
        page.locator("#official-facts").wait_for()
        assert password not in page.content()  # shown that once

        # an official whose login is "new": made by the form (at /admin/officials/-/new), opened at its own address
        if ldap.find_by_uid("new") is not None:  # left by an earlier run against the same directory
            ldap.delete_person("new")
        page.goto(base + "/admin/officials")
        page.locator("#new-official").click()
        page.locator("#new-official-form").wait_for()
        assert page.url == base + "/admin/officials/-/new"
        page.fill("#login", "new")
        page.select_option("#unit", commune)
        page.fill("#full_name", "Lê Văn Mới")
        page.screenshot(path=str(shots / "console-official-new.png"), full_page=True)
        page.locator("#new-official-form [type=submit]").click()
        page.locator("#new-password").wait_for()
        page.goto(base + "/admin/officials/new")
        page.locator("#official-facts").wait_for()
        assert page.locator("#official-name").inner_text() == "Lê Văn Mới"
        page.screenshot(path=str(shots / "console-official-named-new.png"), full_page=True)
        ldap.delete_person("new")

        # the units page: the province's tree, a branch closed and opened by its name
        page.goto(base + "/admin/units")
        cell = page.locator("#unit-BNH-PHATTICH-CB1")
        assert cell.is_visible()
        page.locator("#unit-BNH-PHATTICH > details > summary .unit-name").click()
        assert not cell.is_visible()
        page.locator("#unit-BNH-PHATTICH > details > summary .unit-name").click()
        assert cell.is_visible() and page.locator("[data-code^='HNI']").count() == 0
        page.screenshot(path=str(shots / "console-units.png"), full_page=True)
    finally:
        context.close()
        admin_platform.service.delegation.revoke(OPERATOR, grant.id)
