"""The console's application pages over real HTTP: registering a client (its secret shown once, a bad redirect URI
sent back with a clear message and what was typed), editing one against the version read (a colleague's change
meanwhile shown, not overwritten), and the delegation: Bắc Ninh's application manager registers in Bắc Ninh only,
cannot make a client trusted, and finds Hà Nội's client nowhere."""

from __future__ import annotations

import html
import re

import pytest
import requests

from tests.admin.conftest import HANOI_CLIENT, AdminPlatform, console_browser
from tests.idp.rp import Browser, forms_of

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]

CB = "https://motcua.bacninh.example/cb"


def form_post(platform: AdminPlatform, browser: Browser, path: str, fields: list[tuple[str, str]]) -> requests.Response:
    """Open the application form at ``path`` and post ``fields`` with its CSRF token and version (a real browser
    sends every ticked box of a name: the test's own list says which)."""
    page = browser.session.get(platform.base_url + path, timeout=30)
    assert page.status_code == 200, (path, page.status_code)
    form = forms_of(page.text)["client-form"]
    hidden = [(k, form["inputs"][k]) for k in ("csrf_token", "version") if k in form["inputs"]]
    response = browser.session.post(platform.base_url + form["action"], data=hidden + fields, timeout=30)
    assert "Traceback" not in response.text
    return response


def fields_of(
    name: str, unit: str, uris: str, *, scopes: tuple[str, ...] = ("openid", "profile")
) -> list[tuple[str, str]]:
    return [
        ("name", name),
        ("unit", unit),
        ("auth_method", "client_secret_basic"),
        ("redirect_uris", uris),
        ("post_logout_redirect_uris", ""),
        ("backchannel_logout_uri", ""),
        *[("scope", s) for s in scopes],
        ("grant_type", "authorization_code"),
        ("grant_type", "refresh_token"),
        ("required_acr", ""),
        ("home_url", ""),
    ]


def test_an_application_is_registered_its_secret_shown_once(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "dungpt")
    listing = browser.session.get(admin_platform.base_url + "/admin/clients", timeout=30)
    assert 'id="client-new"' in listing.text
    bad = form_post(admin_platform, browser, "/admin/clients/new", fields_of("Một cửa điện tử", "BNH", CB + "#top"))
    assert bad.status_code == 400 and 'id="form-problem"' in bad.text and "fragment" in bad.text
    assert html.escape(CB + "#top") in bad.text  # what was typed is still there
    assert not [c for c in admin_platform.provider.clients.list() if c.name == "Một cửa điện tử"]
    done = form_post(
        admin_platform, browser, "/admin/clients/new", fields_of("Một cửa điện tử", "BNH", CB + "\n" + CB + "/2")
    )
    assert done.status_code == 200 and done.headers["Cache-Control"].startswith("no-store")
    secret = re.search(r'id="client-secret">([^<]+)<', done.text)
    client_id = re.search(r'id="client-id">([^<]+)<', done.text)
    assert secret is not None and client_id is not None
    record = admin_platform.provider.clients.get(client_id.group(1))
    assert record is not None and record.unit_code == "BNH" and record.redirect_uris == (CB, CB + "/2")
    assert admin_platform.provider.clients.check_secret(record, secret.group(1)) is not None
    page = browser.session.get(admin_platform.base_url + f"/admin/clients/{record.client_id}", timeout=30)
    assert secret.group(1) not in page.text and 'id="client-edit"' in page.text and CB in page.text


def test_an_edit_made_against_an_old_version_shows_the_change_made_meanwhile(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "kiendm")
    made = admin_platform.call(
        "POST", "/api/admin/clients", "kiendm", json={"client_name": "Họp", "redirect_uris": [CB]}
    )
    client_id = made.json()["client_id"]
    path = f"/admin/clients/{client_id}/edit"
    saved = form_post(admin_platform, browser, path, fields_of("Họp trực tuyến", "BNH-VP", CB))
    assert saved.status_code == 200 and 'id="flash"' in saved.text  # followed to the client's page
    record = admin_platform.provider.clients.get(client_id)
    assert record is not None and record.name == "Họp trực tuyến" and record.unit_code == "BNH-VP"
    # the manager opens the form; a colleague changes the redirect URI meanwhile; the form is posted
    page = browser.session.get(admin_platform.base_url + path, timeout=30)
    version = forms_of(page.text)["client-form"]["inputs"]["version"]
    colleague = admin_platform.call("GET", f"/api/admin/clients/{client_id}", "dungpt")
    admin_platform.call(
        "PATCH",
        f"/api/admin/clients/{client_id}",
        "dungpt",
        headers={"If-Match": colleague.headers["ETag"]},
        json={"redirect_uris": ["https://moi.bacninh.example/cb"]},
    )
    csrf = forms_of(page.text)["client-form"]["inputs"]["csrf_token"]
    stale = browser.session.post(
        admin_platform.base_url + path,
        data=[("csrf_token", csrf), ("version", version), *fields_of("Họp cũ", "BNH-VP", CB)],
        timeout=30,
    )
    assert stale.status_code == 412 and 'id="edit-conflict"' in stale.text
    row = re.search(r'<tr data-field="redirect_uris" class="differs">(.*?)</tr>', stale.text, re.S)
    assert row is not None and CB in row.group(1) and "https://moi.bacninh.example/cb" in row.group(1)
    record = admin_platform.provider.clients.get(client_id)
    assert record is not None and record.name == "Họp trực tuyến"  # nothing of the stale form was saved
    assert record.redirect_uris == ("https://moi.bacninh.example/cb",)


def test_a_provincial_manager_registers_in_the_province_only_and_gives_no_trust(admin_platform: AdminPlatform) -> None:
    browser, home = console_browser(admin_platform, "kiendm")
    assert 'id="menu-clients"' in home.text and 'id="menu-officials"' not in home.text
    form = browser.session.get(admin_platform.base_url + "/admin/clients/new", timeout=30)
    assert re.search(r'<input type="checkbox" id="trusted" name="trusted" disabled>', form.text)
    assert re.search(r'value="signing:sign" disabled', form.text)
    assert 'value="BNH"' in form.text  # the unit it starts with: theirs
    hanoi = form_post(admin_platform, browser, "/admin/clients/new", fields_of("Thử", "HNI", CB))
    assert hanoi.status_code == 404 and 'id="form-problem"' in hanoi.text
    trusted = form_post(
        admin_platform, browser, "/admin/clients/new", [*fields_of("Thử", "BNH", CB), ("trusted", "on")]
    )
    assert trusted.status_code == 403 and 'id="form-problem"' in trusted.text
    assert not [c for c in admin_platform.provider.clients.list() if c.name == "Thử"]
    for path in (f"/admin/clients/{HANOI_CLIENT}", f"/admin/clients/{HANOI_CLIENT}/edit", "/admin/clients?unit=HNI"):
        assert browser.session.get(admin_platform.base_url + path, timeout=30).status_code == 404, path
    listing = browser.session.get(admin_platform.base_url + "/admin/clients", timeout=30)
    assert HANOI_CLIENT not in listing.text and "antin-console" not in listing.text


def test_a_public_application_has_no_secret_to_show(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "dungpt")
    fields = [
        (k, "none" if k == "auth_method" else v) for k, v in fields_of("Sổ tay di động", "BNH", "vn.dang.sotay:/cb")
    ]
    done = form_post(admin_platform, browser, "/admin/clients/new", fields)
    assert done.status_code == 200 and 'id="flash"' in done.text and 'id="client-secret"' not in done.text
    [record] = [c for c in admin_platform.provider.clients.list() if c.name == "Sổ tay di động"]
    assert record.public and record.token_endpoint_auth_method == "none" and record.secret_digest is None
    assert record.redirect_uris == ("vn.dang.sotay:/cb",)
