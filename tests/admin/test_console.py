"""The console at /admin over real HTTP: signed in through the platform's provider (the first-party client
antin-console), officials searched, read, disabled and enabled with a confirmation, their sessions signed out, the
audit searched, exported and verified, clients and grants managed; every action through the admin service."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from admin.console.pages import EXTENSION_KEY
from idp.oidc.acr import ACR_PHISHING_RESISTANT
from idp.oidc.clients import ClientSpec
from tests.admin.conftest import AdminPlatform, console_browser
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser, forms_of

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


def test_the_home_page_shows_what_the_administrator_holds(admin_platform: AdminPlatform) -> None:
    _browser, home = console_browser(admin_platform, "tuanbv")
    assert home.status_code == 200 and home.url == admin_platform.base_url + "/admin/"
    assert 'data-role="unit-admin" data-unit="BNH"' in home.text
    assert "Bắc Ninh" in home.text  # the unit by its name, not only its code
    assert 'id="menu-officials"' in home.text and 'id="menu-clients"' not in home.text  # no client rights

