"""The console at /admin over real HTTP: signed in through the platform's provider (the first-party client
antin-console), officials searched, read, disabled and enabled with a confirmation, their sessions signed out, the
audit searched, exported and verified, clients and grants managed; every action through the admin service."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from admin.console.pages import EXTENSION_KEY
from directory.demo_data import DEMO_PASSWORD
from idp.oidc.acr import ACR_PHISHING_RESISTANT
from idp.oidc.clients import ClientSpec
from tests.admin.conftest import OPERATOR, AdminPlatform, console_browser
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser, forms_of

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


def test_the_home_page_shows_what_the_administrator_holds(admin_platform: AdminPlatform) -> None:
    _browser, home = console_browser(admin_platform, "tuanbv")
    assert home.status_code == 200 and home.url == admin_platform.base_url + "/admin/"
    assert 'data-role="unit-admin" data-unit="BNH"' in home.text
    assert "Bắc Ninh" in home.text  # the unit by its name, not only its code
    assert 'id="menu-officials"' in home.text and 'id="menu-clients"' not in home.text  # no client rights


def rows(html: str, attribute: str) -> list[str]:
    """The values of ``data-<attribute>`` on a page's table rows, in order."""
    import re

    return re.findall(rf'<tr [^>]*data-{attribute}="([^"]*)"', html)


def test_officials_are_found_with_or_without_diacritics_page_by_page(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "dungpt")
    base = admin_platform.base_url + "/admin/officials"
    with_marks = browser.go(base + "?q=Nguyễn Văn").page
    without = browser.go(base + "?q=nguyen van").page
    assert with_marks is not None and without is not None
    assert rows(with_marks.text, "login") and rows(with_marks.text, "login") == rows(without.text, "login")
    # every page of the whole directory, following the console's own links, lists each official once
    seen: list[str] = []
    url: str | None = base
    while url:
        listing = browser.go(url).page
        assert listing is not None and listing.status_code == 200
        seen += rows(listing.text, "login")
        link = listing.text.split('id="next-page" href="', 1)
        url = admin_platform.base_url + link[1].split('"', 1)[0].replace("&amp;", "&") if len(link) == 2 else None
    assert len(seen) == len(set(seen)) > 25  # more than one page of the demo directory


def test_a_provincial_administrator_sees_only_their_province(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "tuanbv")
    listing = browser.go(admin_platform.base_url + "/admin/officials?q=").page
    assert listing is not None and "toanvd" not in rows(listing.text, "login")
    for path in ("/admin/officials/toanvd", "/admin/officials?unit=HNI", "/admin/audit?subject=toanvd"):
        page = browser.go(admin_platform.base_url + path).page
        assert page is not None and page.status_code == 404, path
        assert 'data-code="not-found"' in page.text and "Traceback" not in page.text


def test_disable_with_a_confirmation_ends_the_officials_sessions_and_enable_again(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH", unique, full_name="Trần Thị Mai")
    official = Browser(admin_platform.base_url)  # the official signed in to their account pages
    account = official.go(admin_platform.base_url + "/account").page
    assert account is not None
    official.login(account, login, PASSWORD)
    person = admin_platform.ldap.get_person(login)
    assert len(admin_platform.provider.sessions.live_for(person.entry_uuid)) == 1

    browser, _home = console_browser(admin_platform, "tuanbv")
    page = browser.go(admin_platform.base_url + f"/admin/officials/{login}").page
    assert page is not None and "Trần Thị Mai" in page.text and rows(page.text, "sid")
    confirm = browser.go(admin_platform.base_url + f"/admin/officials/{login}/disable").page
    assert confirm is not None and "confirm-disable-form" in confirm.text
    assert admin_platform.ldap.get_person(login).active  # the confirmation page changes nothing
    done = browser.submit(confirm, "confirm-disable-form").page
    assert done is not None and done.status_code == 200 and 'id="flash"' in done.text
    assert admin_platform.ldap.get_person(login).status.value == "suspended"
    assert admin_platform.provider.sessions.live_for(person.entry_uuid) == []
    again = official.go(admin_platform.base_url + "/account").page  # the official is signed out at once
    assert again is not None and "login-form" in again.text
    events = [e.event for e in admin_platform.instance.audit.entries(subject=login, limit=5)]
    assert "directory:user:disable" in events
    enabled = browser.submit(done, "enable-form").page
    assert enabled is not None and 'id="official-status" class="status-active"' in enabled.text


def test_a_form_without_the_csrf_token_changes_nothing(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH", unique)
    browser, _home = console_browser(admin_platform, "tuanbv")
    forged = browser.session.post(admin_platform.base_url + f"/admin/officials/{login}/disable", timeout=10)
    assert forged.status_code == 400
    assert admin_platform.ldap.get_person(login).active


def test_an_officials_session_is_signed_out_from_their_page(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH", unique)
    official = Browser(admin_platform.base_url)
    official.login(official.go(admin_platform.base_url + "/account").page, login, PASSWORD)  # type: ignore[arg-type]
    browser, _home = console_browser(admin_platform, "tuanbv")
    page = browser.go(admin_platform.base_url + f"/admin/officials/{login}").page
    assert page is not None
    (sid,) = rows(page.text, "sid")
    form = next(f for f in forms_of(page.text).values() if f["action"].endswith(f"/sessions/{sid}/end"))
    done = browser.go(admin_platform.base_url + form["action"], method="POST", data=form["inputs"]).page
    assert done is not None and rows(done.text, "sid") == []
    (entry,) = admin_platform.instance.audit.entries(event="admin:session:end", subject=login, limit=1)
    assert entry.actor == admin_platform.ldap.get_person("tuanbv").entry_uuid and entry.details == {"sid": sid}
    # another official's session id in the URL ends nothing
    other = browser.go(
        admin_platform.base_url + f"/admin/officials/tuanbv/sessions/{sid}/end", method="POST", data=form["inputs"]
    ).page
    assert other is not None and other.status_code == 404


def test_the_audit_is_searched_exported_and_verified(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "dungpt")
    base = admin_platform.base_url + "/admin/audit"
    page = browser.go(base + "?event=admin:grant:add").page
    assert page is not None and page.status_code == 200
    assert set(rows(page.text, "event")) == {"admin:grant:add"}
    by_actor = browser.go(base + "?actor=tuanbv").page  # a login finds the entries that name the sub too
    assert by_actor is not None and "session:sso:start" in rows(by_actor.text, "event")
    exported = browser.session.get(base + "/export?format=csv&event=admin:grant:add", timeout=10)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert table and {r["event"] for r in table} == {"admin:grant:add"}
    assert json.loads(table[0]["details"])["role"]
    lines = browser.session.get(base + "/export?format=jsonl&event=admin:grant:add", timeout=10)
    assert [json.loads(line)["seq"] for line in lines.text.splitlines()] == [int(r["seq"]) for r in table]
    verified = browser.go(base + "/verify").page
    assert verified is not None and 'data-ok="true"' in verified.text
    # a time range, in whole days of Vietnam (as the page shows times): the newest grant's day holds it, the next not
    (newest,) = admin_platform.instance.audit.entries(event="admin:grant:add", limit=1)
    day = (newest.occurred_at.replace(tzinfo=newest.occurred_at.tzinfo or UTC) + timedelta(hours=7)).date()
    within = browser.go(base + f"?event=admin:grant:add&since={day}&until={day}").page
    assert within is not None and str(newest.seq) in rows(within.text, "seq")
    after = browser.go(base + f"?event=admin:grant:add&since={day + timedelta(days=1)}").page
    assert after is not None and rows(after.text, "seq") == []
    bad = browser.go(base + "?since=yesterday").page
    assert bad is not None and bad.status_code == 400 and "Traceback" not in bad.text


def test_a_unit_auditor_names_an_official_of_their_units(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "yenht")  # auditor of Bắc Ninh
    page = browser.go(admin_platform.base_url + "/admin/audit").page
    assert page is not None and page.status_code == 200 and 'id="name-an-official"' in page.text
    own = browser.go(admin_platform.base_url + "/admin/audit?subject=tuanbv").page
    assert own is not None and own.status_code == 200 and 'id="audit-entries"' in own.text
    # the whole log is not theirs to export: a page in their language says what to do instead
    address = admin_platform.base_url + "/admin/audit/export?format=csv"
    for language, title, words in (
        ("vi", "Cần nêu một cán bộ", "Hãy nêu một cán bộ thuộc đơn vị bạn quản lý"),
        ("en", "Name an official", "Name an official of your units as the actor or the subject"),
    ):
        export = browser.session.get(address, headers={"Accept-Language": language}, timeout=10)
        assert export.status_code == 400 and f'<h1 id="error-title">{title}</h1>' in export.text
        assert words in export.text and "name an official of your units" not in export.text  # the English detail
    verify = browser.go(admin_platform.base_url + "/admin/audit/verify").page  # nor to walk
    assert verify is not None and verify.status_code == 403 and 'id="verify-chain"' not in page.text


def test_clients_are_listed_disabled_and_given_a_new_secret_once(admin_platform: AdminPlatform) -> None:
    record, _secret = admin_platform.provider.clients.add(
        ClientSpec(name="Hồ sơ công việc", redirect_uris=("http://localhost:9/cb",))
    )
    browser, _home = console_browser(admin_platform, "dungpt")
    listed: list[str] = []
    address: str | None = "/admin/clients"
    while address:  # the session's platform holds other tests' clients too: the list is paged
        listing = browser.go(admin_platform.base_url + address).page
        assert listing is not None
        listed += rows(listing.text, "client-id")
        address = (
            listing.text.split('id="next-page" href="', 1)[1].split('"', 1)[0] if "next-page" in listing.text else None
        )
    assert record.client_id in listed
    confirm = browser.go(admin_platform.base_url + f"/admin/clients/{record.client_id}/rotate-secret").page
    assert confirm is not None
    shown = browser.submit(confirm, "confirm-client-form").page
    assert shown is not None and 'id="client-secret"' in shown.text
    secret = shown.text.split('id="client-secret">', 1)[1].split("<", 1)[0]
    fresh = admin_platform.provider.clients.get(record.client_id)
    assert fresh is not None and admin_platform.provider.clients.check_secret(fresh, secret) is not None
    again = browser.go(admin_platform.base_url + f"/admin/clients/{record.client_id}").page
    assert again is not None and secret not in again.text  # shown once
    disable = browser.go(admin_platform.base_url + f"/admin/clients/{record.client_id}/disable").page
    assert disable is not None
    browser.submit(disable, "confirm-client-form")
    assert admin_platform.provider.clients.get(record.client_id).disabled  # type: ignore[union-attr]
    # the console's own client cannot be disabled from the console: no button, and a crafted request is refused
    page = browser.go(admin_platform.base_url + "/admin/clients/antin-console").page
    assert page is not None and 'id="client-disable"' not in page.text
    own = browser.go(admin_platform.base_url + "/admin/clients/antin-console/disable").page
    assert own is not None
    refused = browser.submit(own, "confirm-client-form").page
    assert refused is not None and refused.status_code == 409
    assert not admin_platform.provider.clients.get("antin-console").disabled  # type: ignore[union-attr]


def test_grants_are_given_and_revoked_within_what_one_holds(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH", unique)
    browser, _home = console_browser(admin_platform, "tuanbv")
    page = browser.go(admin_platform.base_url + "/admin/grants").page
    assert page is not None
    offered = re.findall(r'<option value="([^"]+)"', page.text.split('id="grant-role"')[1].split("</select>")[0])
    assert "unit-admin" in offered and "auditor" in offered  # what tuanbv holds every power of
    assert "platform-admin" not in offered and "client-manager" not in offered  # the form offers no sure refusal
    revoke_links = re.findall(r"/admin/grants/(\d+)/revoke", page.text)
    kiendm = [g.id for g in admin_platform.service.delegation.grants(OPERATOR) if g.login == "kiendm"]
    assert kiendm and not set(map(str, kiendm)) & set(revoke_links)  # an application manager's: not tuanbv's to revoke
    done = browser.submit(page, "grant-form", {"login": login, "role": "auditor", "unit": "BNH"}).page
    assert done is not None and login in rows(done.text, "login")
    refused = browser.submit(done, "grant-form", {"login": login, "role": "auditor", "unit": "HNI"}).page
    assert refused is not None and refused.status_code == 404  # another province reads like no unit
    beyond = browser.submit(done, "grant-form", {"login": login, "role": "client-manager", "unit": "BNH"}).page
    assert beyond is not None and beyond.status_code == 403  # tuanbv holds no clients:manage
    (grant,) = [g for g in admin_platform.service.delegation.grants(OPERATOR) if g.login == login]
    confirm = browser.go(admin_platform.base_url + f"/admin/grants/{grant.id}/revoke").page
    assert confirm is not None
    browser.submit(confirm, "confirm-revoke-form")
    assert [g for g in admin_platform.service.delegation.grants(OPERATOR) if g.login == login] == []


@pytest.fixture
def phishing_resistant(admin_platform: AdminPlatform) -> None:
    """The console at its default level (the module's tests otherwise accept a password session)."""
    admin_platform.app.extensions[EXTENSION_KEY].required_acr = ACR_PHISHING_RESISTANT


def test_a_password_session_is_sent_to_step_up_and_told_what_is_missing(
    admin_platform: AdminPlatform, phishing_resistant: None
) -> None:
    browser = Browser(admin_platform.base_url)
    first = browser.session.get(admin_platform.base_url + "/admin/officials", allow_redirects=False, timeout=10)
    sent = urlsplit(first.headers["Location"])
    assert sent.path == "/authorize"
    assert parse_qs(sent.query)["acr_values"] == [ACR_PHISHING_RESISTANT]
    outcome = browser.go(admin_platform.base_url + "/admin/officials")
    assert outcome.page is not None
    outcome = browser.login(outcome.page, "dungpt", DEMO_PASSWORD)  # a platform administrator, with no key
    assert outcome.page is not None and outcome.page.status_code == 403
    assert 'id="level-required"' in outcome.page.text and 'id="results"' not in outcome.page.text
    # the password session stays one: the next page is sent to step up again, never shown
    again = browser.go(admin_platform.base_url + "/admin/officials").page
    assert again is not None and again.status_code == 403 and 'id="level-required"' in again.text


def test_the_console_speaks_vietnamese_first_and_english_on_request(admin_platform: AdminPlatform) -> None:
    browser, home = console_browser(admin_platform, "tuanbv")
    assert "Quyền bạn nắm giữ" in home.text and "quản trị đơn vị" in home.text
    english = browser.go(admin_platform.base_url + "/admin/?lang=en").page
    assert english is not None and "What you hold" in english.text and "unit administrator" in english.text


def test_second_factors_are_reset_after_a_confirmation(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    from idp.mfa import get_mfa_service

    login = admin_platform.new_official("BNH", unique)
    person = admin_platform.ldap.get_person(login)
    mfa = get_mfa_service(admin_platform.instance)
    mfa.enrol_known_totp(person.entry_uuid, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", name="Điện thoại", actor="test")
    browser, _home = console_browser(admin_platform, "tuanbv")
    page = browser.go(admin_platform.base_url + f"/admin/officials/{login}").page
    assert page is not None and 'data-kind="totp"' in page.text
    confirm = browser.go(admin_platform.base_url + f"/admin/officials/{login}/mfa/reset").page
    assert confirm is not None and mfa.factors(person.entry_uuid)  # nothing removed by the confirmation page
    done = browser.submit(confirm, "confirm-reset-form").page
    assert done is not None and 'id="no-factors"' in done.text
    assert mfa.factors(person.entry_uuid) == []
    (entry,) = admin_platform.instance.audit.entries(event="mfa:factors:reset", subject=person.entry_uuid, limit=1)
    assert entry.actor == admin_platform.ldap.get_person("tuanbv").entry_uuid


def test_bad_input_gets_a_clear_page_and_changes_nothing(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "tuanbv")
    for path, status in (
        ("/admin/officials/nobody-here", 404),
        ("/admin/officials?cursor=garbage", 400),
        ("/admin/officials?q=" + "x" * 200, 400),
        ("/admin/officials/thanhnc?before=abc", 400),
        ("/admin/audit?subject=thanhnc&since=2026-13-01", 400),
        ("/admin/audit/export?format=xml&subject=thanhnc", 400),
    ):
        page = browser.go(admin_platform.base_url + path).page
        assert page is not None
        assert page.status_code == status, (path, page.status_code)
        assert 'id="console-error"' in page.text and "Traceback" not in page.text


def test_the_lists_of_clients_and_grants_are_paged(admin_platform: AdminPlatform) -> None:
    state = admin_platform.app.extensions[EXTENSION_KEY]
    browser, _home = console_browser(admin_platform, "dungpt")
    size = state.page_size
    state.page_size = 2
    try:
        for path, attribute, expected in (
            ("/admin/clients", "client-id", [c.client_id for c in admin_platform.provider.clients.list()]),
            ("/admin/grants", "grant", [str(g.id) for g in admin_platform.service.delegation.grants(OPERATOR)]),
        ):
            seen: list[str] = []
            number = 1
            while True:
                listing = browser.go(admin_platform.base_url + f"{path}?page={number}").page
                assert listing is not None and listing.status_code == 200
                found = rows(listing.text, attribute)
                assert len(found) <= 2
                seen += found
                if 'id="next-page"' not in listing.text:
                    break
                number += 1
            assert seen == expected and number > 1, path
        bad = browser.go(admin_platform.base_url + "/admin/clients?page=0").page
        assert bad is not None and bad.status_code == 400
    finally:
        state.page_size = size


def test_signing_out_of_the_console_ends_the_sso_session(admin_platform: AdminPlatform) -> None:
    browser, home = console_browser(admin_platform, "tuanbv")
    browser.submit(home, "signout-form")
    again = browser.go(admin_platform.base_url + "/admin/").page
    assert again is not None and "login-form" in again.text


def test_the_console_and_the_portal_each_speak_their_own_catalog(admin_platform: AdminPlatform) -> None:
    """'Search' is 'Tìm kiếm' in the console's catalog and 'Tìm' in the portal's: each page says its own (one merge
    of every catalog had the portal's words on the console's buttons)."""
    browser, _home = console_browser(admin_platform, "dungpt")
    console = browser.go(admin_platform.base_url + "/admin/officials").page
    assert console is not None and console.status_code == 200
    assert re.search(r'id="search">\s*Tìm kiếm\s*<', console.text), console.text
    portal = browser.go(admin_platform.base_url + "/documents").page
    assert portal is not None and portal.status_code == 200 and "<form" in portal.text
    assert re.search(r'<button type="submit">\s*Tìm\s*</button>', portal.text), portal.text
