"""The bulk edit in real Chromium: a provincial administrator ticks the officials of a commune on the officials list
(enabling them, all active, is refused for each, and says why), moves three of them to another unit (the unit
chosen, a confirmation page listing each, nothing changed before it), and reads the result per official; then, in
English, selects all on the page and retires them after the confirmation. Screenshots go to $ANTIN_SCREENSHOTS
(looked at)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from directory.demo_data import DEMO_PASSWORD
from directory.models import AccountStatus, NewPerson
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)

pytestmark = [pytest.mark.browser, pytest.mark.slapd, pytest.mark.usefixtures("any_level")]

NAMES = ("Nguyễn Thị Lan", "Trần Văn Bình", "Lê Thu Hà", "Phạm Quốc Huy")


def test_tick_three_officials_move_them_and_read_the_result(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    ldap, base = admin_platform.ldap, admin_platform.base_url
    admin_login = unique("qt")
    ldap.create_person(NewPerson(uid=admin_login, full_name="Lê Minh Quân", unit_code="TW", password=DEMO_PASSWORD))
    grant = admin_platform.service.delegation.grant(OPERATOR, admin_login, "unit-admin", "BNH")
    source, target = unique("BNH-XA").upper(), unique("BNH-PH").upper()  # units of their own: nobody else's rows
    ldap.create_unit(source, "Đảng ủy xã Hoàn Sơn", "commune-committee", "BNH")
    ldap.create_unit(target, "Đảng ủy phường Đình Bảng", "ward-committee", "BNH")
    logins = [unique(f"bl{n}") for n in range(len(NAMES))]
    for login, name in zip(logins, NAMES, strict=True):
        ldap.create_person(NewPerson(uid=login, full_name=name, unit_code=source, password=DEMO_PASSWORD))
    moved, stays = logins[:3], logins[3]

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        page.goto(base + f"/admin/officials?unit={source}")
        page.fill("#username", admin_login)
        page.fill("#password", DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.locator("#results").wait_for()
        assert page.locator("#results tbody tr").count() == 4

        # "select all on this page" ticks every row, and unticks them
        page.locator("#select-all").check()
        assert page.locator("input[name=login]:checked").count() == 4
        assert page.locator("#bulk-count").inner_text() == "Đã đánh dấu 4"
        # enabling officials who are all active: the confirmation says why each is refused, and offers nothing to do
        page.select_option("#bulk-action", "enable")
        page.locator("#bulk-continue").click()
        page.locator("#nothing-to-change").wait_for()
        refused = page.locator("#bulk-rows tbody tr")
        assert set(refused.evaluate_all("rows => rows.map(r => r.dataset.outcome)")) == {"refused"}
        assert "đang hoạt động" in refused.first.inner_text() and page.locator("#bulk-apply").count() == 0
        page.screenshot(path=str(shots / "console-bulk-refused.png"), full_page=True)
        page.go_back()
        page.locator("#results").wait_for()
        page.locator("#select-all").uncheck()
        assert page.locator("input[name=login]:checked").count() == 0

        for login in moved:
            page.locator(f"#results tr[data-login='{login}'] input[name=login]").check()
        assert page.locator("#select-all").evaluate("box => box.indeterminate")
        page.select_option("#bulk-action", "move")
        page.screenshot(path=str(shots / "console-bulk-ticked.png"), full_page=True)
        page.locator("#bulk-continue").click()

        # the unit: only the province's are offered
        page.locator("#bulk-choose-form").wait_for()
        offered = page.locator("#unit option").evaluate_all("options => options.map(o => o.value)")
        assert target in offered and not any(code.startswith("HNI") for code in offered)
        assert all(login in page.locator("#bulk-chosen").inner_text() for login in moved)
        page.select_option("#unit", target)
        page.screenshot(path=str(shots / "console-bulk-choose.png"), full_page=True)
        page.locator("#bulk-next").click()

        # the confirmation lists each official and what changes; nothing has changed yet
        page.locator("#bulk-confirm-form").wait_for()
        rows = page.locator("#bulk-rows tbody tr")
        assert rows.count() == 3
        assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.outcome)")) == {"change"}
        assert "Đảng ủy phường Đình Bảng" in page.locator("#bulk-target").inner_text()
        assert "3 sẽ thay đổi, 0 bị từ chối" in page.locator("#bulk-summary").inner_text()
        assert all(ldap.get_person(login).unit.code == source for login in moved)  # type: ignore[union-attr]
        page.screenshot(path=str(shots / "console-bulk-confirm.png"), full_page=True)
        page.locator("#bulk-apply").click()

        # the result, per official
        page.locator("#bulk-summary[role=status]").wait_for()
        assert "3 đã thay đổi, 0 bị từ chối, 0 thất bại" in page.locator("#bulk-summary").inner_text()
        outcomes = page.locator("#bulk-rows tbody tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.login, r.dataset.outcome])"
        )
        assert sorted(outcomes) == sorted([login, "changed"] for login in moved)
        page.screenshot(path=str(shots / "console-bulk-result.png"), full_page=True)
        assert all(ldap.get_person(login).unit.code == target for login in moved)  # type: ignore[union-attr]
        assert ldap.get_person(stays).unit.code == source  # type: ignore[union-attr]
    finally:
        context.close()

    # in English: all on the page, disabled after the confirmation's warning
    context = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        page.goto(base + f"/admin/officials?unit={target}")
        page.fill("#username", admin_login)
        page.fill("#password", DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.locator("#results").wait_for()
        page.locator("#select-all").check()
        page.select_option("#bulk-action", "disable")
        page.locator("#bulk-continue").click()
        page.locator("#bulk-choose-form").wait_for()
        page.select_option("#status", "retired")
        page.locator("#bulk-next").click()
        page.locator("#bulk-confirm-form").wait_for()
        assert "signed out of every application" in page.locator("#confirm-text").inner_text()
        after = page.locator("#bulk-rows tbody tr td:nth-child(4)").all_inner_texts()
        assert after == ["retired"] * 3  # what the confirmation shows is what will be done
        page.screenshot(path=str(shots / "console-bulk-confirm-disable-en.png"), full_page=True)
        page.locator("#bulk-apply").click()
        page.locator("#bulk-summary[role=status]").wait_for()
        assert "3 changed, 0 refused, 0 failed." in page.locator("#bulk-summary").inner_text()
        page.screenshot(path=str(shots / "console-bulk-result-disable-en.png"), full_page=True)
        assert all(ldap.get_person(login).status is AccountStatus.RETIRED for login in moved)
        assert ldap.get_person(stays).active
    finally:
        context.close()
        admin_platform.service.delegation.revoke(OPERATOR, grant.id)
