"""The console's bulk edit over real HTTP against real slapd, as an attacker would post it: crafted logins of
another province in the ticked list (refused for that row, on the confirmation and on the apply), a unit or group of
another province in the form (the whole request refused, nothing changed), a caller without the power, an official
changed between the confirmation and the apply, and the choices offered only within reach."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
import requests

from admin.console.bulk_edit import VERSION_FIELD
from directory.models import NewPerson, PersonChanges
from tests.admin.conftest import OPERATOR, AdminPlatform, console_browser
from tests.admin.test_api import _csrf_of
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]

Form = list[tuple[str, str]]


@pytest.fixture
def tuanbv(admin_platform: AdminPlatform, any_level: None) -> Browser:
    browser, home = console_browser(admin_platform, "tuanbv")
    assert home.status_code == 200
    return browser


def officials(platform: AdminPlatform, unique: Callable[[str], str], unit: str, count: int) -> list[str]:
    logins = [unique(f"hc{n}") for n in range(count)]
    for login in logins:
        platform.ldap.create_person(NewPerson(uid=login, full_name="Đinh Văn Hải", unit_code=unit, password=PASSWORD))
    return logins


def post(platform: AdminPlatform, browser: Browser, path: str, form: Form) -> requests.Response:
    data = [("csrf_token", _csrf_of(browser, platform)), *form]
    response = browser.session.post(platform.base_url + path, data=data, allow_redirects=False, timeout=30)
    assert "Traceback" not in response.text
    return response


def hidden_fields(page: str, form_id: str) -> Form:
    """The hidden inputs of a form as a browser sends them, repeated names kept (the ticked logins)."""
    form = page[page.index(f'id="{form_id}"') :]
    form = form[: form.index("</form>")]
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    return [(html.unescape(name), html.unescape(value)) for name, value in found]


def outcomes(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-login="([^"]+)" data-outcome="([a-z]+)"', page))


def test_a_crafted_login_of_another_province_is_refused_for_its_row_only(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    mine = officials(admin_platform, unique, "BNH-VP", 2)
    ticked = [("action", "disable"), ("status", "suspended"), *[("login", x) for x in (*mine, "toanvd", "nobody1")]]
    confirm = post(admin_platform, tuanbv, "/admin/officials/bulk", ticked)
    assert confirm.status_code == 200
    assert outcomes(confirm.text) == {mine[0]: "change", mine[1]: "change", "toanvd": "refused", "nobody1": "refused"}
    assert "Vũ Đức Toàn" not in confirm.text  # Hà Nội's official reads like nobody: no name
    assert all(admin_platform.ldap.get_person(login).active for login in mine)  # the confirmation changes nothing

    fields = hidden_fields(confirm.text, "bulk-confirm-form")
    assert ("login", "toanvd") in fields and (VERSION_FIELD + "toanvd", "") not in fields
    crafted = [f for f in fields if f[0] != "csrf_token"] + [(VERSION_FIELD + "toanvd", 'W/"x"')]
    done = post(admin_platform, tuanbv, "/admin/officials/bulk/apply", crafted)
    assert done.status_code == 200
    assert outcomes(done.text) == {mine[0]: "changed", mine[1]: "changed", "toanvd": "refused", "nobody1": "refused"}
    assert not any(admin_platform.ldap.get_person(login).active for login in mine)
    assert admin_platform.ldap.get_person("toanvd").active


def test_a_unit_or_group_of_another_province_refuses_the_whole_form(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    mine = officials(admin_platform, unique, "BNH-VP", 2)
    ticked = [("login", login) for login in mine]
    for path in ("/admin/officials/bulk", "/admin/officials/bulk/apply"):
        moved = post(admin_platform, tuanbv, path, [("action", "move"), ("unit", "HNI-VP"), *ticked])
        assert moved.status_code == 404 and 'id="console-error"' in moved.text
        added = post(admin_platform, tuanbv, path, [("action", "add_to_group"), ("group", "ky-so-hni"), *ticked])
        assert added.status_code == 404
    for login in mine:
        person = admin_platform.ldap.get_person(login)
        assert person.unit is not None and person.unit.code == "BNH-VP" and "ky-so-hni" not in person.groups


def test_the_choices_offered_are_within_reach_only(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    mine = officials(admin_platform, unique, "BNH-VP", 1)
    group = admin_platform.service.groups.create(OPERATOR, unique("nhom"), "BNH-VP", "Tổ soạn thảo").group.name
    units = post(admin_platform, tuanbv, "/admin/officials/bulk", [("action", "move"), ("login", mine[0])])
    assert units.status_code == 200 and 'id="bulk-choose-form"' in units.text
    offered = re.findall(r'<option value="([^"]+)"', units.text)
    assert "BNH-PHATTICH-CB1" in offered and not any(code.startswith("HNI") for code in offered)
    groups = post(admin_platform, tuanbv, "/admin/officials/bulk", [("action", "add_to_group"), ("login", mine[0])])
    offered = re.findall(r'<option value="([^"]+)"', groups.text)
    assert group in offered and "ky-so-bnh" in offered and "ky-so-hni" not in offered and "ky-so-tw" not in offered


def test_no_tick_goes_back_to_the_list_and_bad_fields_are_clear_pages(
    admin_platform: AdminPlatform, tuanbv: Browser
) -> None:
    empty = post(admin_platform, tuanbv, "/admin/officials/bulk", [("action", "disable")])
    assert empty.status_code == 302 and empty.headers["Location"].endswith("/admin/officials")
    unknown = post(admin_platform, tuanbv, "/admin/officials/bulk", [("action", "delete"), ("login", "sonpx")])
    assert unknown.status_code == 400 and 'id="console-error"' in unknown.text
    status = [("action", "disable"), ("status", "active"), ("login", "sonpx")]
    assert post(admin_platform, tuanbv, "/admin/officials/bulk", status).status_code == 400
    assert admin_platform.ldap.get_person("sonpx").active


def test_a_reader_without_the_power_is_refused_and_offered_no_ticks(
    admin_platform: AdminPlatform, any_level: None, unique: Callable[[str], str]
) -> None:
    mine = officials(admin_platform, unique, "BNH-VP", 1)
    browser, _home = console_browser(admin_platform, "yenht")  # Bắc Ninh's auditor: reads only
    listing = browser.go(admin_platform.base_url + "/admin/officials?unit=BNH-VP").page
    assert listing is not None and listing.status_code == 200
    assert 'name="login"' not in listing.text and 'id="bulk-form"' not in listing.text
    refused = post(admin_platform, browser, "/admin/officials/bulk", [("action", "disable"), ("login", mine[0])])
    assert refused.status_code == 403
    refused = post(admin_platform, browser, "/admin/officials/bulk/apply", [("action", "enable"), ("login", mine[0])])
    assert refused.status_code == 403
    assert admin_platform.ldap.get_person(mine[0]).active


def test_an_official_changed_after_the_confirmation_is_left_as_it_is(
    admin_platform: AdminPlatform, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    first, second = officials(admin_platform, unique, "BNH-VP", 2)
    ticked = [("action", "move"), ("unit", "BNH-BTC"), ("login", first), ("login", second)]
    confirm = post(admin_platform, tuanbv, "/admin/officials/bulk", ticked)
    fields = [f for f in hidden_fields(confirm.text, "bulk-confirm-form") if f[0] != "csrf_token"]
    admin_platform.ldap.modify_person(second, PersonChanges(position="Chuyên viên chính"))  # a colleague meanwhile
    done = post(admin_platform, tuanbv, "/admin/officials/bulk/apply", fields)
    assert outcomes(done.text) == {first: "changed", second: "refused"}
    assert "đã được người khác thay đổi sau khi xác nhận" in done.text
    unit = admin_platform.ldap.get_person(second).unit
    assert unit is not None and unit.code == "BNH-VP"
