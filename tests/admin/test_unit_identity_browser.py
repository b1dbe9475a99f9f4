"""An orphaned grant in real Chromium: an administrator whose unit was deleted, and a new unit created with its code,
sees on the console's home page and grants page that the grant is void, in Vietnamese and in English, and the new
unit's name is not shown beside it. Screenshots go to $ANTIN_SCREENSHOTS (looked at)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from directory.demo_data import DEMO_PASSWORD
from directory.models import NewPerson
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)

pytestmark = [pytest.mark.browser, pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


def test_an_orphaned_grant_is_shown_void_to_its_holder(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    ldap, base, delegation = admin_platform.ldap, admin_platform.base_url, admin_platform.service.delegation
    holder = unique("qt")
    ldap.create_person(NewPerson(uid=holder, full_name="Phạm Thu Hà", unit_code="BNH", password=DEMO_PASSWORD))
    code = unique("BNH-O").upper()
    ldap.create_unit(code, "Ban Tuyên giáo (cũ)", "department", "BNH")
    delegation.grant(OPERATOR, holder, "unit-admin", code)
    delegation.grant(OPERATOR, holder, "auditor", "BNH-KINHBAC")  # a live grant too: the console lets them in
    ldap.delete_unit(code)
    ldap.create_unit(code, "Đơn vị mới ở Hà Nội", "department", "HNI")

    for locale, void in (("vi-VN", "Vô hiệu: đơn vị đã bị xoá"), ("en-GB", "Void: its unit was deleted")):
        context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 760})
        page = context.new_page()
        try:
            page.goto(base + "/admin/")
            page.fill("#username", holder)
            page.fill("#password", DEMO_PASSWORD)
            page.keyboard.press("Enter")
            mine = page.locator(f'#my-grants tr[data-unit="{code}"]')
            mine.wait_for()
            assert void in mine.inner_text()
            assert "Đơn vị mới ở Hà Nội" not in mine.inner_text()  # the code's new unit is another unit
            live = page.locator('#my-grants tr[data-unit="BNH-KINHBAC"]').inner_text()
            assert void not in live
            page.screenshot(path=str(shots / f"console-orphaned-grant-home-{locale}.png"), full_page=True)
            page.goto(base + "/admin/grants")
            row = page.locator(f'#grants tr[data-orphaned="true"][data-login="{holder}"]')
            assert void in row.inner_text() and code in row.inner_text()
            page.screenshot(path=str(shots / f"console-orphaned-grant-list-{locale}.png"), full_page=True)
        finally:
            context.close()


def test_an_orphaned_group_and_seal_are_shown_void_to_the_platform(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """The platform administrator (dungpt) sees a deleted unit's group and seal marked void, in Vietnamese and in
    English, and revokes the seal from the list of seals; a group named ``new`` opens as a group."""
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    ldap, base = admin_platform.ldap, admin_platform.base_url
    code = unique("BNH-V").upper()
    ldap.create_unit(code, "Ban Dân vận (cũ)", "department", "BNH")
    group = f"lanh-dao-{code.lower()}"
    ldap.create_group(group, "Lãnh đạo Ban Dân vận", is_role=True, unit_code=code)
    serial = admin_platform.service.seals.issue(OPERATOR, code).serial
    ldap.delete_unit(code)
    ldap.create_unit(code, "Đơn vị mới ở Hà Nội", "department", "HNI")
    if not any(g.name == "new" for g in ldap.list_groups()):
        ldap.create_group("new", "Nhóm tên là new", unit_code="BNH-VP")

    for locale, void in (("vi-VN", "Vô hiệu: đơn vị đã bị xoá"), ("en-GB", "Void: its unit was deleted")):
        context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 760})
        page = context.new_page()
        try:
            page.goto(base + "/admin/")
            page.fill("#username", "dungpt")
            page.fill("#password", DEMO_PASSWORD)
            page.keyboard.press("Enter")
            page.locator("#console-menu").wait_for()
            page.goto(base + f"/admin/groups/{group}")
            assert void in page.locator("#group-orphaned").inner_text()
            page.screenshot(path=str(shots / f"console-orphaned-group-{locale}.png"), full_page=True)
            page.goto(base + "/admin/seals")
            row = page.locator(f'#seal-list tr[data-orphaned="true"][data-serial="{serial}"]')
            assert void in row.inner_text() and code in row.inner_text()
            row.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"console-orphaned-seal-{locale}.png"))
            page.goto(base + "/admin/groups/new")
            assert page.locator("#group-name").inner_text().startswith("new")
            page.screenshot(path=str(shots / f"console-group-named-new-{locale}.png"), full_page=True)
        finally:
            context.close()

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 760})
    page = context.new_page()
    try:
        page.goto(base + "/admin/")
        page.fill("#username", "dungpt")
        page.fill("#password", DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.locator("#console-menu").wait_for()
        page.goto(base + "/admin/seals")
        page.locator(f'#seal-list tr[data-serial="{serial}"] a.revoke-seal').click()
        page.locator("#confirm-seal-form").wait_for()
        page.screenshot(path=str(shots / "console-orphaned-seal-revoke-vi-VN.png"), full_page=True)
        page.locator("#confirm-seal").click()
        page.locator("#flash").wait_for()
        assert page.url.endswith("/admin/seals")
        assert page.locator(f'#seal-list tr[data-serial="{serial}"]').count() == 0  # no longer valid: not listed
    finally:
        context.close()
    assert admin_platform.service.seals.find(OPERATOR, serial).status == "revoked"
    ldap.delete_group("new")
