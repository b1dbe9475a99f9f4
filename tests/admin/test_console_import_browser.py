"""The bulk import in real Chromium: a provincial administrator uploads a CSV of 2,000 officials, reads the dry run
(a row aimed at another province refused, naming the unit), imports the other rows: the progress bar fills as the
server writes them (read from the server by the page), then the page becomes the result with its report to
download. Screenshots go to $ANTIN_SCREENSHOTS (looked at)."""

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

ROWS = 5000


def test_import_a_csv_with_its_dry_run_and_the_importing_state(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import Error as PlaywrightError

    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    ldap, base = admin_platform.ldap, admin_platform.base_url
    admin_login = unique("qt")
    ldap.create_person(NewPerson(uid=admin_login, full_name="Lê Minh Quân", unit_code="TW", password=DEMO_PASSWORD))
    grant = admin_platform.service.delegation.grant(OPERATOR, admin_login, "unit-admin", "BNH")
    commune = unique("BNH-XA").upper()  # a commune of its own: other tests count the demo units' officials
    ldap.create_unit(commune, "Đảng ủy xã Đông Tiến", "commune-committee", "BNH")
    news = [f"{unique('nk')}{i:04d}" for i in range(ROWS)]
    csv_file = tmp_path / "can-bo-dong-tien.csv"
    csv_file.write_text(
        "uid,name,unit,position\n"
        + "toanvd,Vũ Đức Toàn,HNI-VP,\n"  # first: on the first page of the dry run
        + "".join(f"{uid},Nguyễn Thị Lan,{commune},Chuyên viên\n" for uid in news),
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
        assert f"{ROWS} sẽ tạo mới" in page.locator("#import-summary").inner_text()
        refused = page.locator("#import-rows tr[data-action=refused]")
        assert refused.count() == 1 and "HNI-VP" in refused.inner_text()
        page.screenshot(path=str(shots / "console-import-check.png"), full_page=True)
        assert not any(_exists(admin_platform, uid) for uid in (news[0], news[-1]))

        page.locator("#skip_refused").check()
        page.locator("#import").click()
        # the job's page while the server writes the rows: the bar, moved by what the page reads from the server
        page.locator("#import-running").wait_for()
        seen: list[tuple[str, str]] = []
        shot = False
        while True:
            try:  # the page reloads itself into the result when the run is over: a read may meet the navigation
                value = page.evaluate(
                    "(() => { const b = document.getElementById('import-progress');"
                    " return b ? [String(b.value), String(b.max)] : null; })()"
                )
            except PlaywrightError:
                continue
            if value is None:
                break
            if not seen or seen[-1] != tuple(value):
                seen.append(tuple(value))
                if 0 < float(value[0]) < float(value[1]) and not shot:
                    page.screenshot(path=str(shots / "console-import-progress.png"), full_page=True)
                    shot = True
            page.wait_for_timeout(100)
        page.locator("#import-status[data-status=applied]").wait_for()
        print("progress bar values seen:", seen)
        assert seen and all(max_ == str(ROWS) for _, max_ in seen[1:])
        assert [float(v) for v, _ in seen] == sorted(float(v) for v, _ in seen)  # it only moves forward
        assert page.locator("#import-rows tr[data-outcome=applied]").count() == 24  # the first page, but the refused
        assert f"{ROWS} dòng" in page.locator("#import-status").inner_text()
        page.screenshot(path=str(shots / "console-import-result.png"), full_page=True)
        with page.expect_download() as download:
            page.locator("#download-report").click()
        report = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert report.splitlines()[0] == "line,login,action,fields,outcome,reason" and report.count("applied") == ROWS
        assert all(_exists(admin_platform, uid) for uid in (news[0], news[ROWS // 2], news[-1]))
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
