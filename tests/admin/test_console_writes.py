"""The console's write pages over real HTTP against real slapd: an official edited (against the version read: a
colleague's change meanwhile is shown, not overwritten), moved, unlocked, given a new password shown once, created;
units created, renamed and moved; group members added and removed. Bad input comes back as the form with a clear
message and nothing changed; a directory that is down gives the 503 page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from admin.console.pages import EXTENSION_KEY
from antin.kernel.audit import AuditEvent
from directory.errors import NotFoundError
from directory.models import AuthStatus, PersonChanges
from tests.admin.conftest import AdminPlatform, console_browser
from tests.admin.test_writes import service_without_directory
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


@pytest.fixture
def tuanbv(admin_platform: AdminPlatform, any_level: None) -> Browser:
    """Bắc Ninh's unit administrator, signed in to the console (at any level: the level has its own tests)."""
    browser, home = console_browser(admin_platform, "tuanbv")
    assert home.status_code == 200 and 'id="menu-units"' in home.text and 'id="menu-groups"' in home.text
    return browser


def open_page(platform: AdminPlatform, browser: Browser, path: str, status: int = 200) -> str:
    page = browser.go(platform.base_url + path).page
    assert page is not None and page.status_code == status, (path, page and page.status_code)
    assert "Traceback" not in page.text
    return page.text


def submit(browser: Browser, platform: AdminPlatform, path: str, form: str, fields: dict[str, str]) -> tuple[int, str]:
    """Open ``path``, fill ``form`` with ``fields`` and post it; the status and text of where it lands."""
    page = browser.go(platform.base_url + path).page
    assert page is not None and page.status_code == 200, (path, page and page.status_code)
    done = browser.submit(page, form, fields).page
    assert done is not None and "Traceback" not in done.text
    return done.status_code, done.text


def secret_on(html: str) -> str:
    found = re.search(r'<code class="secret" id="new-password">([^<]+)</code>', html)
    assert found is not None, html[:2000]
    return found.group(1)


def test_an_official_is_edited_and_a_change_made_meanwhile_is_shown_not_overwritten(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH-VP", unique, full_name="Trần Thị Mai")
    path = f"/admin/officials/{login}/edit"
    status, text = submit(tuanbv, admin_platform, path, "edit-form", {"position": "Văn thư", "phone": "0912345678"})
    assert status == 200 and 'id="flash"' in text and "Văn thư" in text
    person = admin_platform.ldap.get_person(login)
    assert (person.position, person.phone, person.full_name, person.surname) == (
        "Văn thư",
        "0912345678",
        "Trần Thị Mai",
        "Trần",
    )
    [entry] = admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_USER_MODIFY, subject=login, limit=5)
    assert entry.details["after"] == {"phone": "0912345678", "position": "Văn thư"}

    # the administrator opens the form; a colleague changes the position meanwhile; the form is posted
    form = tuanbv.go(admin_platform.base_url + path).page
    assert form is not None
    admin_platform.ldap.modify_person(login, PersonChanges(position="Chánh Văn phòng"))
    stale = tuanbv.submit(form, "edit-form", {"position": "Chuyên viên"}).page
    assert stale is not None and stale.status_code == 412
    assert 'id="edit-conflict"' in stale.text
    row = re.search(r'<tr data-field="position" class="differs">(.*?)</tr>', stale.text, re.S)
    assert row is not None and "Chuyên viên" in row.group(1) and "Chánh Văn phòng" in row.group(1)
    assert admin_platform.ldap.get_person(login).position == "Chánh Văn phòng"  # nothing overwritten
    # the form now carries the current version: posted again, it is saved
    again = tuanbv.submit(stale, "edit-form", {"position": "Chuyên viên"}).page
    assert again is not None and again.status_code == 200
    assert admin_platform.ldap.get_person(login).position == "Chuyên viên"


def test_a_bad_edit_comes_back_as_the_form_and_changes_nothing(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH-VP", unique)
    other = admin_platform.new_official("BNH-VP", lambda prefix: unique("o" + prefix))  # another login
    admin_platform.ldap.modify_person(other, PersonChanges(mail=f"{other}@bacninh.dcs.vn"))
    path = f"/admin/officials/{login}/edit"
    status, text = submit(tuanbv, admin_platform, path, "edit-form", {"mail": f"{other}@bacninh.dcs.vn"})
    assert status == 409 and 'id="form-problem"' in text and f"{other}@bacninh.dcs.vn" in text
    status, text = submit(tuanbv, admin_platform, path, "edit-form", {"full_name": "", "position": "Văn thư"})
    assert status == 400 and 'id="form-problem"' in text
    status, text = submit(tuanbv, admin_platform, path, "edit-form", {"version": "", "position": "Văn thư"})
    assert status == 428 and 'id="console-error"' in text  # a crafted form without the version read
    person = admin_platform.ldap.get_person(login)
    assert person.mail is None and person.position is None and person.full_name == "Nguyễn Thị Hoa"
    status, text = submit(tuanbv, admin_platform, path, "edit-form", {})  # saved as it was: nothing to change
    assert status == 200 and admin_platform.ldap.get_person(login).full_name == "Nguyễn Thị Hoa"


def test_an_official_moves_to_a_unit_within_reach_and_not_outside_it(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH-VP", unique)
    form = open_page(admin_platform, tuanbv, f"/admin/officials/{login}/move")
    offered = re.findall(r'<option value="([^"]+)"', form)
    assert "BNH-BTC" in offered and "BNH-KINHBAC-CB1" in offered and not any(c.startswith("HNI") for c in offered)
    path = f"/admin/officials/{login}/move"
    status, text = submit(tuanbv, admin_platform, path, "move-form", {"unit": "HNI-VP"})  # a crafted field
    assert status == 404 and 'id="form-problem"' in text
    assert admin_platform.ldap.get_person(login).unit.code == "BNH-VP"  # type: ignore[union-attr]
    status, text = submit(tuanbv, admin_platform, path, "move-form", {"unit": "BNH-BTC"})
    assert status == 200 and "Ban Tổ chức Tỉnh ủy Bắc Ninh" in text
    assert admin_platform.ldap.get_person(login).unit.code == "BNH-BTC"  # type: ignore[union-attr]
    [entry] = admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_USER_MOVE, subject=login, limit=5)
    assert entry.details["after"]["unit_path"][0] == "BNH-BTC"


def test_a_locked_official_is_unlocked_and_a_password_reset_is_shown_once(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH-VP", unique)
    assert 'id="unlock-form"' not in open_page(admin_platform, tuanbv, f"/admin/officials/{login}")
    for _ in range(5):
        admin_platform.ldap.authenticate(login, "Sai-mat-khau-1")
    assert admin_platform.ldap.authenticate(login, PASSWORD).status is AuthStatus.LOCKED
    page = tuanbv.go(admin_platform.base_url + f"/admin/officials/{login}").page
    assert page is not None and 'id="unlock-form"' in page.text
    unlocked = tuanbv.submit(page, "unlock-form").page
    assert unlocked is not None and 'id="unlock-form"' not in unlocked.text
    assert admin_platform.ldap.authenticate(login, PASSWORD).ok

    confirm = open_page(admin_platform, tuanbv, f"/admin/officials/{login}/password")
    assert 'id="confirm-reset-password-form"' in confirm
    assert admin_platform.ldap.authenticate(login, PASSWORD).ok  # the confirmation page changes nothing
    status, shown = submit(
        tuanbv, admin_platform, f"/admin/officials/{login}/password", "confirm-reset-password-form", {}
    )
    password = secret_on(shown)
    assert status == 200 and admin_platform.ldap.authenticate(login, PASSWORD).status is AuthStatus.INVALID_CREDENTIALS
    assert admin_platform.ldap.authenticate(login, password).status is AuthStatus.MUST_CHANGE
    assert password not in open_page(admin_platform, tuanbv, f"/admin/officials/{login}")  # shown that once
    [entry] = admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_PASSWORD_RESET, subject=login, limit=5)
    assert password not in str(entry.details)


def test_an_official_is_created_with_a_password_shown_once_and_bad_forms_create_nothing(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    login = unique("moi")
    form = open_page(admin_platform, tuanbv, "/admin/officials/-/new?unit=BNH-BTC")
    assert '<option value="BNH-BTC" selected>' in form.replace("\u00a0", "")
    open_page(admin_platform, tuanbv, "/admin/officials/-/new?unit=HNI-VP", 404)
    fields = {"login": login, "unit": "BNH-BTC", "full_name": "Đinh Thị Thu Hà", "position": "Chuyên viên"}
    status, text = submit(tuanbv, admin_platform, "/admin/officials/-/new", "new-official-form", fields)
    assert status == 200 and 'id="result-login"' in text
    password = secret_on(text)
    person = admin_platform.ldap.get_person(login)
    assert (person.unit.code, person.given_name, person.position) == ("BNH-BTC", "Hà", "Chuyên viên")  # type: ignore[union-attr]
    assert admin_platform.ldap.authenticate(login, password).status is AuthStatus.MUST_CHANGE

    taken = {**fields, "full_name": "Người Khác"}
    status, text = submit(tuanbv, admin_platform, "/admin/officials/-/new", "new-official-form", taken)
    assert status == 409 and 'id="form-problem"' in text and "Người Khác" in text  # what was typed stays
    assert admin_platform.ldap.get_person(login).full_name == "Đinh Thị Thu Hà"
    elsewhere = {**fields, "login": unique("hni"), "unit": "HNI-VP"}
    status, text = submit(tuanbv, admin_platform, "/admin/officials/-/new", "new-official-form", elsewhere)
    assert status == 404 and 'id="form-problem"' in text
    nowhere = {**fields, "login": unique("kco"), "unit": "KHONG-CO"}
    status, text = submit(tuanbv, admin_platform, "/admin/officials/-/new", "new-official-form", nowhere)
    assert status == 404 and 'id="form-problem"' in text
    for refused in (elsewhere, nowhere):
        assert admin_platform.ldap.find_by_uid(refused["login"]) is None


def test_an_official_named_like_the_console_s_form_opens_as_an_official(
    admin_platform: AdminPlatform, tuanbv: Browser
) -> None:
    """``new`` is a legal login: the new-official form lives at ``/admin/officials/-/new`` (no login begins with
    ``-``), so ``/admin/officials/new`` is the official named ``new``, or a clear page saying there is none."""
    if admin_platform.ldap.find_by_uid("new") is not None:  # left by an earlier run against the same directory
        admin_platform.ldap.delete_person("new")
    nobody = open_page(admin_platform, tuanbv, "/admin/officials/new", 404)
    assert 'id="console-error"' in nobody and 'id="new-official-form"' not in nobody
    fields = {"login": "new", "unit": "BNH-BTC", "full_name": "Lê Văn Mới"}
    status, text = submit(tuanbv, admin_platform, "/admin/officials/-/new", "new-official-form", fields)
    assert status == 200 and 'id="result-login"' in text
    try:
        official = open_page(admin_platform, tuanbv, "/admin/officials/new")
        assert '<h1 id="official-name">Lê Văn Mới</h1>' in official and 'id="new-official-form"' not in official
        listed = open_page(admin_platform, tuanbv, "/admin/officials?q=L%C3%AA+V%C4%83n+M%E1%BB%9Bi")
        assert 'href="/admin/officials/new"' in listed  # the search's link leads to the official
        assert 'href="/admin/officials/-/new' in listed  # and the button to the form
    finally:
        admin_platform.ldap.delete_person("new")


def test_units_are_shown_as_a_tree_within_reach_created_renamed_and_moved(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    tree = open_page(admin_platform, tuanbv, "/admin/units")
    codes = re.findall(r'<li id="unit-[^"]+" data-code="([^"]+)"', tree)
    assert codes[0] == "BNH" and "BNH-KINHBAC-CB1" in codes and not any(c.startswith("HNI") for c in codes)
    # the cell is inside its ward's branch, inside the province's
    assert tree.index('data-code="BNH-KINHBAC"') < tree.index('data-code="BNH-KINHBAC-CB1"')
    open_page(admin_platform, tuanbv, "/admin/units?unit=HNI", 404)

    code = unique("BNH-CB").upper()
    fields = {"code": code, "name": "Chi bộ mới", "kind": "party-cell"}
    status, text = submit(tuanbv, admin_platform, "/admin/units/BNH-PHATTICH/new", "unit-new-form", fields)
    assert status == 200 and f'data-code="{code}"' in text
    assert admin_platform.ldap.get_unit(code).parent_code == "BNH-PHATTICH"
    status, text = submit(tuanbv, admin_platform, "/admin/units/BNH/new", "unit-new-form", fields)
    assert status == 409 and 'id="form-problem"' in text  # the code is taken
    assert admin_platform.ldap.get_unit(code).parent_code == "BNH-PHATTICH"

    form = tuanbv.go(admin_platform.base_url + f"/admin/units/{code}/rename").page
    assert form is not None
    admin_platform.ldap.modify_unit(code, name="Chi bộ đổi bởi người khác")
    stale = tuanbv.submit(form, "unit-rename-form", {"name": "Chi bộ thôn Mới"}).page
    assert stale is not None and stale.status_code == 412 and "Chi bộ đổi bởi người khác" in stale.text
    assert admin_platform.ldap.get_unit(code).name == "Chi bộ đổi bởi người khác"
    renamed = tuanbv.submit(stale, "unit-rename-form", {"name": "Chi bộ thôn Mới"}).page
    assert renamed is not None and renamed.status_code == 200
    assert admin_platform.ldap.get_unit(code).name == "Chi bộ thôn Mới"

    moving = open_page(admin_platform, tuanbv, f"/admin/units/{code}/move")
    assert f'<option value="{code}"' not in moving  # not under itself
    status, text = submit(tuanbv, admin_platform, f"/admin/units/{code}/move", "unit-move-form", {"parent": "HNI"})
    assert status == 404 and admin_platform.ldap.get_unit(code).parent_code == "BNH-PHATTICH"
    status, text = submit(
        tuanbv, admin_platform, f"/admin/units/{code}/move", "unit-move-form", {"parent": "BNH-KINHBAC"}
    )
    assert status == 200 and admin_platform.ldap.get_unit(code).parent_code == "BNH-KINHBAC"
    with pytest.raises(NotFoundError):
        admin_platform.ldap.get_unit("HNI-" + code)


def test_group_members_are_listed_added_and_removed_with_a_confirmation(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    listing = open_page(admin_platform, tuanbv, "/admin/groups")
    groups = re.findall(r'<tr data-group="([^"]+)"', listing)
    assert "van-thu-bnh" in groups and "ky-so-hni" not in groups
    open_page(admin_platform, tuanbv, "/admin/groups/ky-so-hni", 404)
    login = admin_platform.new_official("BNH-VP", unique)
    path = "/admin/groups/van-thu-bnh"
    status, text = submit(tuanbv, admin_platform, path, "add-member-form", {"login": login})
    assert status == 200 and f'data-login="{login}"' in text
    assert "van-thu-bnh" in admin_platform.ldap.get_person(login).groups
    status, text = submit(tuanbv, admin_platform, path, "add-member-form", {"login": "toanvd"})  # Hà Nội's
    assert status == 404 and 'id="form-problem"' in text
    assert "van-thu-bnh" not in admin_platform.ldap.get_person("toanvd").groups

    confirm = open_page(admin_platform, tuanbv, f"{path}/members/{login}/remove")
    assert 'id="confirm-remove-form"' in confirm
    assert "van-thu-bnh" in admin_platform.ldap.get_person(login).groups  # the confirmation changes nothing
    status, text = submit(tuanbv, admin_platform, f"{path}/members/{login}/remove", "confirm-remove-form", {})
    assert status == 200 and f'data-login="{login}"' not in text
    assert "van-thu-bnh" not in admin_platform.ldap.get_person(login).groups
    events = [e.event for e in admin_platform.instance.audit.entries(subject=login, limit=10)]
    assert AuditEvent.DIRECTORY_GROUP_MEMBER_ADD in events and AuditEvent.DIRECTORY_GROUP_MEMBER_REMOVE in events


@pytest.fixture
def directory_down(admin_platform: AdminPlatform) -> Iterator[None]:
    """The console's service swapped for one over a directory where nothing listens, for one test."""
    state = admin_platform.app.extensions[EXTENSION_KEY]
    live, state.service = state.service, service_without_directory(admin_platform)
    try:
        yield
    finally:
        state.service.officials.directory.close()
        state.service = live


def test_a_directory_that_is_down_gives_the_503_page_and_changes_nothing(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str], request: pytest.FixtureRequest
) -> None:
    login = admin_platform.new_official("BNH-VP", unique)
    form = tuanbv.go(admin_platform.base_url + f"/admin/officials/{login}/edit").page
    assert form is not None
    request.getfixturevalue("directory_down")
    down = tuanbv.submit(form, "edit-form", {"position": "Văn thư"}).page
    assert down is not None and down.status_code == 503 and 'data-code="directory-unavailable"' in down.text
    assert "Traceback" not in down.text
    assert admin_platform.ldap.get_person(login).position is None
