"""The bulk import in real Chromium: a provincial administrator uploads a CSV, reads the dry run (a row aimed at
another province refused, naming the unit), imports the other rows (the "importing…" state shown and the button
disabled when the form is sent), then the result with its report to download. Screenshots go to
$ANTIN_SCREENSHOTS (looked at)."""

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


def test_import_a_csv_with_its_dry_run_and_the_importing_state(
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
    commune = unique("BNH-XA").upper()  # a commune of its own: other tests count the demo units' officials
    ldap.create_unit(commune, "Đảng ủy xã Đông Tiến", "commune-committee", "BNH")
    news = [unique(f"nk{i}") for i in range(3)]
    csv_file = tmp_path / "can-bo-dong-tien.csv"
    csv_file.write_text(
        "uid,name,unit,position\n"
        + "".join(f"{uid},Nguyễn Thị Lan,{commune},Chuyên viên\n" for uid in news)
        + "toanvd,Vũ Đức Toàn,HNI-VP,\n",
        encoding="utf-8",
    )

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        page.goto(base + "/admin/")
        page.fill("#username", admin_login)
        page.fill("#password", DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.locator("#menu-import").click()
        page.locator("#import-upload-form").wait_for()
        page.set_input_files("#file", str(csv_file))
        page.locator("#preview").click()
        page.locator("#import-rows").wait_for()
        assert "3 sẽ tạo mới" in page.locator("#import-summary").inner_text()
        refused = page.locator("#import-rows tr[data-action=refused]")
        assert refused.count() == 1 and "HNI-VP" in refused.inner_text()
        page.screenshot(path=str(shots / "console-import-check.png"), full_page=True)
        assert not any(_exists(admin_platform, uid) for uid in news)

        # what the page shows while the request runs, noted by a listener that runs after import.js's (a locator
        # cannot look while the browser waits for the next page)
        page.evaluate(
            "document.getElementById('import-form').addEventListener('submit', () => sessionStorage.setItem("
            "'importing', JSON.stringify([document.getElementById('importing').hidden,"
            " document.getElementById('import').disabled])))"
        )
        page.locator("#skip_refused").check()
        page.locator("#import").click()
        page.locator("#import-status[data-status=applied]").wait_for()
        assert page.locator("#import-rows tr[data-outcome=applied]").count() == 3
        assert page.evaluate("sessionStorage.getItem('importing')") == "[false,true]"  # shown, and no second click
        page.screenshot(path=str(shots / "console-import-result.png"), full_page=True)
        with page.expect_download() as download:
            page.locator("#download-report").click()
        report = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert report.splitlines()[0] == "line,login,action,fields,outcome,reason" and report.count("applied") == 3
        assert all(_exists(admin_platform, uid) for uid in news)
    finally:
        context.close()
        admin_platform.service.delegation.revoke(OPERATOR, grant.id)


def _exists(platform: AdminPlatform, uid: str) -> bool:
    from directory.errors import NotFoundError

    try:
        platform.ldap.get_person(uid)
    except NotFoundError:
        return False
    return True
