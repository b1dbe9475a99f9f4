"""Groups and units in real Chromium, by keyboard where a person would: a provincial administrator creates a group
in one of the province's units, puts another group inside it, deletes it after the confirmation page; reads how many
units and officials a unit's move takes along; imports units from a CSV (the dry run, then the result). Screenshots
go to $ANTIN_SCREENSHOTS (looked at)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from directory.demo_data import DEMO_PASSWORD
from directory.errors import NotFoundError
from directory.models import NewPerson
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)

pytestmark = [pytest.mark.browser, pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


def test_create_nest_and_delete_a_group_then_import_units(
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
    name, inner = unique("to-soan-thao"), unique("to-van-thu")
    ldap.create_group(inner, "Tổ văn thư", unit_code="BNH-VP")
    ward = unique("BNH-P").upper()
    csv_file = tmp_path / "don-vi.csv"
    csv_file.write_text(
        "code,name,kind,parent,description\n"
        f"{ward},Đảng ủy phường Đình Bảng,ward-committee,BNH,\n"
        f"{ward}-CB1,Chi bộ khu phố 1,party-cell,{ward},\n"
        "HNI-MOI,Đơn vị Hà Nội,department,HNI,\n",
        encoding="utf-8",
    )

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        page.goto(base + "/admin/groups")
        page.fill("#username", admin_login)
        page.fill("#password", DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.locator("#new-group").click()
        page.locator("#group-new-form").wait_for()
        page.fill("#name", name)
        page.select_option("#unit", "BNH-VP")
        page.fill("#description", "Tổ soạn thảo văn bản")
        page.screenshot(path=str(shots / "console-group-new.png"), full_page=True)
        page.locator("#description").press("Enter")
        page.locator("#add-group-form").wait_for()
        assert ldap.get_group(name).unit_code == "BNH-VP"

        page.fill("#group", inner)
        page.locator("#group").press("Enter")
        page.locator(f'#nested-groups li[data-group="{inner}"]').wait_for()
        page.screenshot(path=str(shots / "console-group-nested.png"), full_page=True)
        assert any(inner in m for m in ldap.get_group(name).members)

        page.locator("#delete-group").click()
        page.locator("#confirm-delete-group-form").wait_for()
        assert "1 thành viên" in page.locator("#confirm-text").inner_text()  # the group inside it
        page.screenshot(path=str(shots / "console-group-confirm-delete.png"), full_page=True)
        page.locator("#confirm-delete-group").focus()
        page.keyboard.press("Enter")
        page.locator("#groups").wait_for()
        assert f'data-group="{name}"' not in page.content()
        with pytest.raises(NotFoundError):
            ldap.get_group(name)

        page.goto(base + "/admin/units/BNH-KINHBAC/move")
        size = page.locator("#move-size")
        assert "đơn vị và" in size.inner_text() and int(size.get_attribute("data-units") or 0) >= 2
        page.screenshot(path=str(shots / "console-unit-move.png"), full_page=True)

        page.goto(base + "/admin/units")
        page.locator("#import-units").click()
        page.locator("#import-upload-form").wait_for()
        page.set_input_files("#file", str(csv_file))
        page.locator("#preview").click()
        page.locator("#import-rows").wait_for()
        assert page.locator("#import-rows tr[data-action=create]").count() == 2
        assert "HNI" in page.locator("#import-rows tr[data-action=refused]").inner_text()
        page.screenshot(path=str(shots / "console-units-import-check.png"), full_page=True)
        page.locator("#skip_refused").check()
        page.locator("#import").click()
        page.locator("#import-status[data-status=applied]").wait_for()
        page.screenshot(path=str(shots / "console-units-import-result.png"), full_page=True)
        assert ldap.get_unit(f"{ward}-CB1").parent_code == ward
    finally:
        context.close()
        admin_platform.service.delegation.revoke(OPERATOR, grant.id)
