"""The console's group pages (create, delete after a confirmation, nest and take out groups), a unit's move
confirmation with how many units and officials it takes along, the units' CSV import with its progress page, and the
exports, over real HTTP against real slapd. Bắc Ninh's administrator; Hà Nội's groups and units read like nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
import requests

from antin.kernel.audit import AuditEvent
from directory.errors import NotFoundError
from directory.models import NewPerson
from tests.admin.conftest import AdminPlatform, console_browser
from tests.admin.test_console_imports import finished, rows_on
from tests.admin.test_console_writes import open_page, submit
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser, forms_of

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


@pytest.fixture
def tuanbv(admin_platform: AdminPlatform, any_level: None) -> Browser:
    browser, home = console_browser(admin_platform, "tuanbv")
    assert home.status_code == 200
    return browser


def group_exists(platform: AdminPlatform, name: str) -> bool:
    try:
        platform.ldap.get_group(name)
    except NotFoundError:
        return False
    return True


def test_a_group_is_created_in_a_unit_within_reach_and_deleted_after_a_confirmation(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    listing = open_page(admin_platform, tuanbv, "/admin/groups")
    assert 'id="new-group"' in listing
    form = open_page(admin_platform, tuanbv, "/admin/groups/-/new")
    assert '<option value="BNH-VP"' in form and '<option value="HNI' not in form  # units within reach only
    assert "toàn bộ danh bạ" not in form  # the whole directory: not Bắc Ninh's to choose
    name = unique("nhom-bnh")
    fields = {"name": name, "unit": "BNH-VP", "description": "Tổ soạn thảo"}
    status, text = submit(tuanbv, admin_platform, "/admin/groups/-/new", "group-new-form", fields)
    assert status == 200 and f'id="group-name">{name}' in text
    assert admin_platform.ldap.get_group(name).unit_code == "BNH-VP"
    status, text = submit(tuanbv, admin_platform, "/admin/groups/-/new", "group-new-form", fields)
    assert status == 409 and 'id="form-problem"' in text  # taken
    status, text = submit(
        tuanbv, admin_platform, "/admin/groups/-/new", "group-new-form", {"name": "Có dấu!", "unit": "BNH"}
    )
    assert status == 400 and 'id="form-problem"' in text and "Có dấu!" in text  # the form again, as typed

    member = admin_platform.new_official("BNH-VP", unique)
    admin_platform.ldap.add_member(name, uid=member)
    confirm = open_page(admin_platform, tuanbv, f"/admin/groups/{name}/delete")
    assert 'id="confirm-delete-group-form"' in confirm and "1 thành viên" in confirm
    assert group_exists(admin_platform, name)  # the confirmation deletes nothing
    page = tuanbv.go(admin_platform.base_url + f"/admin/groups/{name}/delete").page
    assert page is not None
    other = unique("cb2")
    admin_platform.ldap.create_person(
        NewPerson(uid=other, full_name="Lý Thị Mai", unit_code="BNH-VP", password=PASSWORD)
    )
    admin_platform.ldap.add_member(name, uid=other)  # a colleague adds a member meanwhile
    stale = tuanbv.submit(page, "confirm-delete-group-form", {}).page
    assert stale is not None and stale.status_code == 412 and "2 thành viên" in stale.text
    assert group_exists(admin_platform, name)
    done = tuanbv.submit(stale, "confirm-delete-group-form", {}).page
    assert done is not None and done.status_code == 200 and f'data-group="{name}"' not in done.text
    assert not group_exists(admin_platform, name)
    events = [e.event for e in admin_platform.instance.audit.entries(subject=name, limit=5)]
    assert AuditEvent.DIRECTORY_GROUP_CREATE in events and AuditEvent.DIRECTORY_GROUP_DELETE in events

    open_page(admin_platform, tuanbv, "/admin/groups/ky-so-hni/delete", 404)
    assert group_exists(admin_platform, "ky-so-hni")


def test_a_group_named_like_a_console_action_opens_as_a_group(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    """``new`` is a legal group name: the console's form must not shadow its page (group names hold no Vietnamese
    letters: those are refused by the form, above)."""
    if group_exists(admin_platform, "new"):  # left by an earlier run against the same directory
        admin_platform.ldap.delete_group("new")
    fields = {"name": "new", "unit": "BNH-VP", "description": "Nhóm tên new"}
    status, text = submit(tuanbv, admin_platform, "/admin/groups/-/new", "group-new-form", fields)
    assert status == 200 and re.search(r'id="group-name">new\b', text)
    try:
        member = admin_platform.new_official("BNH-VP", unique)
        admin_platform.ldap.add_member("new", uid=member)
        page = open_page(admin_platform, tuanbv, "/admin/groups/new")
        assert re.search(r'id="group-name">new\b', page) and member in page and 'id="group-new-form"' not in page
        confirm = open_page(admin_platform, tuanbv, f"/admin/groups/new/members/{member}/remove")
        assert member in confirm
        status, text = submit(tuanbv, admin_platform, "/admin/groups/new/delete", "confirm-delete-group-form", {})
        assert status == 200 and not group_exists(admin_platform, "new")
    finally:
        if group_exists(admin_platform, "new"):
            admin_platform.ldap.delete_group("new")


def test_a_group_with_members_outside_ones_reach_is_not_deleted(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    name = unique("nhom-chung")
    admin_platform.ldap.create_group(name, "Nhóm chung", unit_code="BNH")
    admin_platform.ldap.add_member(name, uid="toanvd")  # Hà Nội's official
    confirm = open_page(admin_platform, tuanbv, f"/admin/groups/{name}/delete")
    assert "toanvd" not in confirm  # counted, never named
    status, text = submit(tuanbv, admin_platform, f"/admin/groups/{name}/delete", "confirm-delete-group-form", {})
    assert status == 409 and 'id="form-problem"' in text
    assert group_exists(admin_platform, name)


def test_a_group_is_nested_in_another_and_taken_out_after_a_confirmation(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    outer, inner = unique("nhom-ngoai"), unique("nhom-trong")
    admin_platform.ldap.create_group(outer, "Ngoài", unit_code="BNH")
    admin_platform.ldap.create_group(inner, "Trong", unit_code="BNH-VP")
    path = f"/admin/groups/{outer}"
    status, text = submit(tuanbv, admin_platform, path, "add-group-form", {"group": inner})
    assert status == 200 and f'<li data-group="{inner}">' in text
    assert any(inner in m for m in admin_platform.ldap.get_group(outer).members)
    status, text = submit(tuanbv, admin_platform, f"/admin/groups/{inner}", "add-group-form", {"group": outer})
    assert status == 400 and 'id="form-problem"' in text  # a cycle
    status, text = submit(tuanbv, admin_platform, path, "add-group-form", {"group": "ky-so-hni"})
    assert status == 404 and 'id="form-problem"' in text  # Hà Nội's group: like no group
    assert not any("ky-so-hni" in m for m in admin_platform.ldap.get_group(outer).members)

    confirm = open_page(admin_platform, tuanbv, f"{path}/groups/{inner}/remove")
    assert 'id="confirm-remove-group-form"' in confirm
    status, text = submit(tuanbv, admin_platform, f"{path}/groups/{inner}/remove", "confirm-remove-group-form", {})
    assert status == 200 and f'<li data-group="{inner}">' not in text
    assert not any(inner in m for m in admin_platform.ldap.get_group(outer).members)
    open_page(admin_platform, tuanbv, f"{path}/groups/ky-so-hni/remove", 404)


def test_a_units_move_says_how_many_units_and_officials_it_takes_along(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    ward, cell = unique("BNH-P").upper(), unique("BNH-CB").upper()
    admin_platform.ldap.create_unit(ward, "Đảng ủy phường Vệ An", "ward-committee", "BNH")
    admin_platform.ldap.create_unit(cell, "Chi bộ khu 2", "party-cell", ward)
    for n, unit in enumerate((ward, cell, cell)):
        uid = f"{unique('dv')}{n}"
        admin_platform.ldap.create_person(NewPerson(uid=uid, full_name="Đỗ Văn Hải", unit_code=unit, password=PASSWORD))
    page = open_page(admin_platform, tuanbv, f"/admin/units/{ward}/move")
    size = re.search(r'id="move-size" data-units="(\d+)" data-officials="(\d+)"', page)
    assert size is not None and size.groups() == ("2", "3")
    assert "2 đơn vị và 3 cán bộ" in page
    status, _ = submit(tuanbv, admin_platform, f"/admin/units/{ward}/move", "unit-move-form", {"parent": "BNH-VP"})
    assert status == 200 and admin_platform.ldap.get_unit(cell).parent_code == ward
    assert admin_platform.ldap.get_unit(ward).parent_code == "BNH-VP"


def upload_to(platform: AdminPlatform, browser: Browser, path: str, body: bytes) -> requests.Response:
    form_page = browser.go(platform.base_url + path).page
    assert form_page is not None and form_page.status_code == 200
    csrf = forms_of(form_page.text)["import-upload-form"]["inputs"]["csrf_token"]
    return browser.session.post(
        platform.base_url + path,
        data={"csrf_token": csrf},
        files={"file": ("don-vi.csv", body, "text/csv")},
        timeout=30,
    )


def test_units_are_imported_from_the_console_with_the_dry_run_then_the_progress_page(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    tree = open_page(admin_platform, tuanbv, "/admin/units")
    assert 'id="import-units"' in tree and 'id="export-units"' in tree
    ward = unique("BNH-P").upper()
    body = (
        "code,name,kind,parent,description\n"
        f"{ward},Đảng ủy phường Suối Hoa,ward-committee,BNH,\n"
        f"{ward}-CB1,Chi bộ 1,party-cell,{ward},\n"
        "HNI-THU,Thử,department,HNI,\n"
    ).encode()
    preview = upload_to(admin_platform, tuanbv, "/admin/units/import", body)
    assert preview.status_code == 200 and "Nhập đơn vị: kiểm tra" in preview.text
    rows = rows_on(preview.text)
    assert rows == {2: ("create", "planned"), 3: ("create", "planned"), 4: ("refused", "refused")}
    assert "unit HNI is outside your reach" in preview.text
    form = forms_of(preview.text)["import-form"]
    started = tuanbv.session.post(
        admin_platform.base_url + form["action"],
        data={"csrf_token": form["inputs"]["csrf_token"], "skip_refused": "1"},
        timeout=30,
    )
    assert started.status_code == 200 and "Traceback" not in started.text
    result = finished(tuanbv, started)
    assert 'data-status="applied"' in result.text and rows_on(result.text)[3] == ("create", "applied")
    assert admin_platform.ldap.get_unit(f"{ward}-CB1").parent_code == ward
    report = re.search(r'id="download-report" href="([^"]+)"', result.text)
    assert report is not None
    table = tuanbv.session.get(admin_platform.base_url + report.group(1), timeout=30).content.decode("utf-8-sig")
    assert table.splitlines()[0] == "line,code,action,fields,outcome,reason"

    bad = upload_to(admin_platform, tuanbv, "/admin/units/import", b"uid,name\nx,y\n")
    assert bad.status_code == 400 and 'id="form-problem"' in bad.text and "missing column" in bad.text


def test_officials_and_units_are_exported_from_the_console_within_reach(
    admin_platform: AdminPlatform, tuanbv: Browser
) -> None:
    page = open_page(admin_platform, tuanbv, "/admin/import")
    assert 'id="export-officials"' in page and 'id="export-units"' in page
    officials = tuanbv.session.get(admin_platform.base_url + "/admin/export/officials.csv", timeout=60)
    assert officials.status_code == 200 and officials.headers["Content-Type"].startswith("text/csv")
    assert 'filename="officials-all.csv"' in officials.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(officials.content.decode("utf-8-sig"))))
    assert rows and all(r["unit"].startswith("BNH") for r in rows) and "toanvd" not in {r["uid"] for r in rows}
    units = tuanbv.session.get(admin_platform.base_url + "/admin/export/units.csv?unit=BNH-KINHBAC", timeout=30)
    codes = [r["code"] for r in csv.DictReader(io.StringIO(units.content.decode("utf-8-sig")))]
    assert codes[0] == "BNH-KINHBAC" and "BNH-KINHBAC-CB1" in codes and "BNH-VP" not in codes
    for path in ("/admin/export/officials.csv?unit=HNI", "/admin/export/units.csv?unit=HNI-VP"):
        refused = tuanbv.session.get(admin_platform.base_url + path, timeout=30)
        assert refused.status_code == 404 and "toanvd" not in refused.text
