"""An admin platform for tests: a real slapd with the demo tree, the whole app served on localhost, access tokens
minted by the platform's own OpenID provider (and checked against its published JWKS by the API).

Grants made once for the module: a platform administrator (dungpt, on the root), a unit administrator of Bắc Ninh
(tuanbv, on BNH) and of Hà Nội (hieunm, on HNI), a read-only auditor of Bắc Ninh (yenht), the client managers of
Bắc Ninh (kiendm) and Hà Nội (quyenlt); huongdt holds nothing. Hà Nội has one OIDC client, ``HANOI_CLIENT``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from admin.delegation import Actor
from admin.service import AdminService, admin_service
from antin.kernel.instance import Instance
from antin.settings import load_settings
from directory.demo_data import DEMO_PASSWORD, seed_demo
from directory.instance import use_directory
from directory.models import NewPerson
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from idp.oidc.clients import ClientSpec
from idp.oidc.grants import GrantContext
from idp.oidc.service import OidcProvider, get_provider, replace_directory
from signing.pki import CertificateAuthority
from tests.directory.conftest import PASSWORD, config_for, start_slapd
from tests.idp.oidc_harness import _Late
from tests.idp.rp import Browser

OPERATOR = Actor("cli:test", operator=True)
ADMINS = {"dungpt": ("platform-admin", "*"), "tuanbv": ("unit-admin", "BNH"), "hieunm": ("unit-admin", "HNI")}
AUDITORS = {"yenht": ("auditor", "BNH")}
CLIENT_MANAGERS = {"kiendm": ("client-manager", "BNH"), "quyenlt": ("client-manager", "HNI")}
HANOI_CLIENT = "ha-noi-van-ban"  # a client of Hà Nội's (unit HNI-VP)


@dataclass
class AdminPlatform:
    base_url: str
    app: Flask
    instance: Instance
    ldap: LdapDirectory
    ldap_server: ManagedSlapd

    @property
    def issuer(self) -> str:  # what tests.idp.rp needs of a provider
        return self.base_url

    @property
    def provider(self) -> OidcProvider:
        return get_provider(self.instance)

    @property
    def service(self) -> AdminService:
        return admin_service(self.instance)

    def instance_ca(self) -> CertificateAuthority:
        """The platform's CA (its keys in SoftHSM2), as the signing service holds it."""
        from signing.service import signing_service

        return signing_service(self.instance).ca

    def token(self, login: str, scope: str = "openid admin") -> str:
        """An access token the provider really issues to the console client for ``login``."""
        provider = get_provider(self.instance)
        client = provider.clients.get("admin-console")
        assert client is not None
        person = self.ldap.get_person(login)
        response, _grant = provider.tokens.issue(GrantContext(client=client, subject=person.entry_uuid, scope=scope))
        return str(response["access_token"])

    def call(
        self, method: str, path: str, login: str | None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(headers or {})
        if login:
            headers["Authorization"] = f"Bearer {self.token(login)}"
        return requests.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def new_official(self, unit: str, unique: Callable[[str], str], full_name: str = "Nguyễn Thị Hoa") -> str:
        uid = unique("cb")
        self.ldap.create_person(NewPerson(uid=uid, full_name=full_name, unit_code=unit, password=PASSWORD))
        return uid


@pytest.fixture(scope="session")
def admin_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminPlatform]:
    slapd = start_slapd(tmp_path_factory.mktemp("admin-slapd"))
    ldap = LdapDirectory(config_for(slapd))
    seed_demo(ldap)
    late = _Late()
    server = make_server("localhost", 0, late, threaded=True)
    base_url = f"http://localhost:{server.server_port}"
    settings = load_settings(
        {},
        overrides={
            "core": {"data_dir": str(tmp_path_factory.mktemp("admin-data")), "issuer": base_url, "env": "test"},
            "log": {"level": "WARNING"},
        },
    )
    instance = Instance(settings)
    import antin.models
    from antin.app import create_app

    antin.models.metadata.create_all(instance.database.engine)
    use_directory(instance, ldap)
    replace_directory(instance, ldap)
    app = create_app(settings, instance=instance)
    late.app = app
    get_provider(instance).clients.add(
        ClientSpec(
            name="Bàn quản trị", client_id="admin-console", grant_types=("client_credentials",), scopes=("admin",)
        )
    )
    get_provider(instance).clients.add(
        ClientSpec(
            name="Văn bản Hà Nội",
            client_id=HANOI_CLIENT,
            redirect_uris=("https://vanban.hanoi.example/cb",),
            unit_code="HNI-VP",
            unit_uuid=ldap.get_unit("HNI-VP").entry_uuid,  # bound to the unit, as the CLI and the console do
        )
    )
    delegation = admin_service(instance).delegation
    for login, (role, unit) in {**ADMINS, **AUDITORS, **CLIENT_MANAGERS}.items():
        delegation.grant(OPERATOR, login, role, unit)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield AdminPlatform(base_url, app, instance, ldap, slapd)
    finally:
        server.shutdown()
        thread.join(5)
        instance.close()
        ldap.close()
        slapd.stop()


@pytest.fixture
def unique() -> Callable[[str], str]:
    import uuid

    run = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}{run}"


@pytest.fixture
def any_level(admin_platform: AdminPlatform) -> Iterator[None]:
    """The console accepts a password session (for tests not about the level; the level has its own tests)."""
    from admin.console.pages import EXTENSION_KEY

    state = admin_platform.app.extensions[EXTENSION_KEY]
    required = state.required_acr
    state.required_acr = None
    try:
        yield
    finally:
        state.required_acr = required


def console_browser(platform: AdminPlatform, login: str) -> tuple[Browser, requests.Response]:
    """A browser signed in to the console as ``login`` through the provider's login page; the home page."""
    browser = Browser(platform.base_url)
    outcome = browser.go(platform.base_url + "/admin/")
    assert outcome.page is not None and "login-form" in outcome.page.text, outcome
    outcome = browser.login(outcome.page, login, DEMO_PASSWORD)
    assert outcome.page is not None, outcome
    return browser, outcome.page
