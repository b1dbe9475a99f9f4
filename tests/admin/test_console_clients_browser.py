"""Registering an application in real Chromium: Bắc Ninh's application manager fills the form (a redirect URI with
a # part refused with a clear message, what was typed kept), registers the application in the province, copies the
secret shown once, and edits a redirect URI. Screenshots go to $ANTIN_SCREENSHOTS (looked at; one is in docs/)."""

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


def test_register_an_application_and_edit_its_redirect_uri(
    chromium: Any,  # noqa: F811
    admin_platform: AdminPlatform,
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    ldap, base = admin_platform.ldap, admin_platform.base_url
    manager = unique("ud")
    ldap.create_person(NewPerson(uid=manager, full_name="Trịnh Văn Khải", unit_code="BNH-VP", password=DEMO_PASSWORD))
    grant = admin_platform.service.delegation.grant(OPERATOR, manager, "client-manager", "BNH")
    name = "Một cửa điện tử Bắc Ninh " + unique("")[-4:]

    context = chromium.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        page.goto(base + "/admin/")
        page.fill("#username", manager)
        page.fill("#password", DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.locator("#menu-clients").click()
        page.locator("#client-new").click()
        page.locator("#client-form").wait_for()
        assert page.input_value("#unit") == "BNH"  # their unit, to start with
        assert page.locator("#trusted").is_disabled()  # trust is the whole platform's to give
        assert page.locator("input[name=scope][value='signing:sign']").is_disabled()
        page.fill("#name", name)
        page.fill("#redirect_uris", "https://motcua.bacninh.example/cb#top")
        page.fill("#home_url", "https://motcua.bacninh.example/")
        page.select_option("#required_acr", "urn:antin:acr:mfa")
        page.locator("#save").click()
        page.locator("#form-problem").wait_for()
        assert "phần #" in page.locator("#form-problem").inner_text()  # said in Vietnamese, the field named beside
        assert page.input_value("#redirect_uris") == "https://motcua.bacninh.example/cb#top"  # kept as typed
        assert page.input_value("#home_url") == "https://motcua.bacninh.example/"
        assert not [c for c in admin_platform.provider.clients.list() if c.name == name]
        page.screenshot(path=str(shots / "console-client-refused.png"), full_page=True)

        page.fill("#redirect_uris", "https://motcua.bacninh.example/cb")
        page.fill("#unit", "BNH-VP")
        page.screenshot(path=str(shots / "console-client-new.png"), full_page=True)
        page.locator("#save").click()
        page.locator("#client-secret").wait_for()
        secret = page.locator("#client-secret").inner_text().strip()
        client_id = page.locator("#client-id").inner_text().strip()
        page.screenshot(path=str(shots / "console-client-registered.png"), full_page=True)
        record = admin_platform.provider.clients.get(client_id)
        assert record is not None and record.name == name and record.unit_code == "BNH-VP"
        assert record.required_acr == "urn:antin:acr:mfa" and record.home_url == "https://motcua.bacninh.example/"
        assert admin_platform.provider.clients.check_secret(record, secret) is not None

        # the application's page, then its form: a second redirect URI
        page.locator("text=Xong").click()
        page.locator("#client-name").wait_for()
        assert secret not in page.content()  # shown that once
        page.locator("#client-edit").click()
        page.locator("#client-form").wait_for()
        page.fill("#redirect_uris", "https://motcua.bacninh.example/cb\nhttps://motcua.bacninh.example/cb2")
        page.locator("#save").click()
        page.locator("#flash").wait_for()
        assert "https://motcua.bacninh.example/cb2" in page.locator("#client-redirect-uris").inner_text()
        page.screenshot(path=str(shots / "console-client.png"), full_page=True)
        record = admin_platform.provider.clients.get(client_id)
        assert record is not None and record.redirect_uris[-1] == "https://motcua.bacninh.example/cb2"

        # the same form in English
        page.locator("#client-edit").click()
        page.locator("#client-form").wait_for()
        page.locator("#lang-en").click()
        page.locator("html[lang=en] #client-form").wait_for()
        assert page.locator("label[for=redirect_uris]").inner_text().startswith("Redirect URIs")
        page.screenshot(path=str(shots / "console-client-edit-en.png"), full_page=True)
    finally:
        context.close()
        admin_platform.service.delegation.revoke(OPERATOR, grant.id)
