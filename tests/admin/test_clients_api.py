"""``/api/admin/clients``: registering and editing OIDC clients by real access tokens, delegated by unit (a client
manager of Bắc Ninh manages Bắc Ninh's clients and no other), the provider's checks on redirect URIs as clear
problems, ETags against silent overwrites; and a client registered here signing an official in through PyPI ``oic``
(an independent relying party that checks the ID token's signature against the published JWKS)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests
from oic.oic import Client
from oic.oic.message import AccessTokenResponse, AuthorizationResponse, OpenIDSchema, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from directory.demo_data import DEMO_PASSWORD
from tests.admin.conftest import HANOI_CLIENT, AdminPlatform
from tests.admin.test_api import problem
from tests.idp.rp import Browser

pytestmark = pytest.mark.slapd

CB = "https://app.bacninh.example/cb"


def register(platform: AdminPlatform, login: str, **fields: object) -> requests.Response:
    return platform.call("POST", "/api/admin/clients", login, json={"client_name": "Ứng dụng", **fields})


def test_a_client_is_registered_with_its_secret_shown_once(admin_platform: AdminPlatform) -> None:
    made = register(
        admin_platform,
        "dungpt",
        redirect_uris=[CB],
        post_logout_redirect_uris=["https://app.bacninh.example/bye"],
        backchannel_logout_uri="https://app.bacninh.example/logout",
        scope="openid profile email",
        required_acr="urn:antin:acr:mfa",
        home_url="https://app.bacninh.example/",
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["client_secret"] and made.headers["Cache-Control"] == "no-store"
    assert made.headers["Location"] == f"/api/admin/clients/{body['client_id']}"
    assert body["unit"] == "*" and body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["required_acr"] == "urn:antin:acr:mfa" and body["home_url"] == "https://app.bacninh.example/"
    record = admin_platform.provider.clients.get(body["client_id"])
    assert record is not None and admin_platform.provider.clients.check_secret(record, body["client_secret"])
    again = admin_platform.call("GET", made.headers["Location"], "dungpt")
    assert again.status_code == 200 and "client_secret" not in again.json()
    assert again.headers["ETag"] == made.headers["ETag"]
    [entry] = [
        e
        for e in admin_platform.instance.audit.entries(event="oauth:client:create")
        if e.client_id == body["client_id"]
    ]
    assert entry.details["after"]["redirect_uris"] == [CB] and body["client_secret"] not in str(entry.details)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("redirect_uris", ["https://app.example/cb#frag"], "fragment"),
        ("redirect_uris", ["/cb"], "not an absolute"),
        ("redirect_uris", ["javascript:alert(1)"], "not an absolute"),
        ("redirect_uris", "https://app.example/cb", "array of strings"),
        ("post_logout_redirect_uris", ["app.example/bye"], "not an absolute"),
        ("backchannel_logout_uri", "ftp://app.example/logout", "not an absolute"),
        ("scope", "openid everything", "'everything' is not one of"),
        ("grant_types", ["implicit"], "'implicit' is not one of"),
        ("required_acr", "very-high", "unknown level"),
        ("home_url", "javascript:alert(1)", "http(s)"),
        ("trusted", "yes", "true or false"),
        ("colour", "red", "not a field"),
        ("redirect_uris", [f"https://app.example/{i}" for i in range(51)], "at most 50 URIs"),
        ("backchannel_logout_uri", "https://app.example/" + "a" * 2000, "at most 2000"),
        ("client_name", "x" * 201, "at most 200"),
    ],
)
def test_a_registration_the_provider_would_refuse_is_a_clear_problem(
    admin_platform: AdminPlatform, field: str, value: object, named: str
) -> None:
    before = len(admin_platform.provider.clients.list())
    fields: dict[str, object] = {"redirect_uris": [CB], field: value}
    body = problem(register(admin_platform, "dungpt", **fields), 400)
    assert body["type"] == "urn:antin:problem:invalid-client-metadata"
    assert named in str(body["detail"]) and str(body["detail"]).startswith(field + ":"), body
    assert len(admin_platform.provider.clients.list()) == before


def test_a_taken_client_id_is_a_conflict_and_a_public_client_has_no_secret(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    client_id = unique("ung-dung-")
    made = register(
        admin_platform, "dungpt", client_id=client_id, redirect_uris=["http://127.0.0.1:8400/cb"], public=True
    )
    assert made.status_code == 201, made.text
    assert "client_secret" not in made.json() and made.json()["token_endpoint_auth_method"] == "none"
    problem(register(admin_platform, "dungpt", client_id=client_id, redirect_uris=[CB]), 409)
    problem(
        register(admin_platform, "dungpt", redirect_uris=[CB], public=True, grant_types=["client_credentials"]), 400
    )


def test_an_edit_names_the_version_it_was_made_against(admin_platform: AdminPlatform) -> None:
    made = register(admin_platform, "dungpt", redirect_uris=[CB])
    path, first = made.headers["Location"], made.headers["ETag"]
    problem(admin_platform.call("PATCH", path, "dungpt", json={"client_name": "Không phiên bản"}), 428)
    for bad in ({"unit": None}, {"client_name": None}, {"client_id": "khac"}):
        problem(admin_platform.call("PATCH", path, "dungpt", headers={"If-Match": first}, json=bad), 400)
    edited = admin_platform.call(
        "PATCH",
        path,
        "dungpt",
        headers={"If-Match": first},
        json={"client_name": "Một cửa", "redirect_uris": [CB, "https://app.bacninh.example/cb2"], "home_url": None},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["client_name"] == "Một cửa" and len(edited.json()["redirect_uris"]) == 2
    assert edited.headers["ETag"] != first and "client_secret" not in edited.json()
    # a second administrator still holding the first version is refused, told the current one, and nothing changes
    stale = admin_platform.call("PATCH", path, "dungpt", headers={"If-Match": first}, json={"client_name": "Cũ"})
    problem(stale, 412)
    assert stale.headers["ETag"] == edited.headers["ETag"]
    assert admin_platform.call("GET", path, "dungpt").json()["client_name"] == "Một cửa"
    client_id = path.rsplit("/", 1)[1]
    [entry] = [
        e for e in admin_platform.instance.audit.entries(event="oauth:client:update") if e.client_id == client_id
    ]
    assert entry.details["before"]["client_name"] == "Ứng dụng" and entry.details["after"]["client_name"] == "Một cửa"
    # a rotation is a change too: the version read before it no longer edits
    rotated = admin_platform.call("POST", path + "/secret", "dungpt")
    assert rotated.status_code == 200 and rotated.json()["client_secret"]
    problem(admin_platform.call("PATCH", path, "dungpt", headers={"If-Match": edited.headers["ETag"]}, json={}), 412)


def test_a_client_turned_public_loses_its_secret_and_one_turned_confidential_gets_one(
    admin_platform: AdminPlatform,
) -> None:
    made = register(admin_platform, "dungpt", redirect_uris=[CB])
    path = made.headers["Location"]
    public = admin_platform.call(
        "PATCH", path, "dungpt", headers={"If-Match": made.headers["ETag"]}, json={"public": True}
    )
    assert public.status_code == 200, public.text
    assert public.json()["token_endpoint_auth_method"] == "none" and "client_secret" not in public.json()
    record = admin_platform.provider.clients.get(made.json()["client_id"])
    assert record is not None and record.secret_digest is None
    problem(admin_platform.call("POST", path + "/secret", "dungpt"), 409)
    back = admin_platform.call(
        "PATCH", path, "dungpt", headers={"If-Match": public.headers["ETag"]}, json={"public": False}
    )
    assert back.status_code == 200 and back.json()["client_secret"] and back.headers["Cache-Control"] == "no-store"


def test_a_provincial_client_manager_manages_the_provinces_clients_only(admin_platform: AdminPlatform) -> None:
    made = register(admin_platform, "kiendm", redirect_uris=[CB])  # their one unit: no need to name it
    assert made.status_code == 201, made.text
    assert made.json()["unit"] == "BNH"
    deep = register(admin_platform, "kiendm", redirect_uris=[CB], unit="bnh-kinhbac")
    assert deep.status_code == 201 and deep.json()["unit"] == "BNH-KINHBAC"  # the directory's spelling
    listed = {c["client_id"] for c in admin_platform.call("GET", "/api/admin/clients", "kiendm").json()["items"]}
    assert {made.json()["client_id"], deep.json()["client_id"]} <= listed
    assert HANOI_CLIENT not in listed and "antin-console" not in listed
    kinhbac = admin_platform.call("GET", "/api/admin/clients", "kiendm", params={"unit": "BNH-KINHBAC"}).json()
    assert [c["client_id"] for c in kinhbac["items"]] == [deep.json()["client_id"]]
    # Hà Nội's client, the platform's own, Hà Nội's units: like nothing at all
    for path in (f"/api/admin/clients/{HANOI_CLIENT}", "/api/admin/clients/antin-console", "/api/admin/clients/khong"):
        problem(admin_platform.call("GET", path, "kiendm"), 404)
        problem(admin_platform.call("POST", path + "/disable", "kiendm"), 404)
    problem(admin_platform.call("GET", "/api/admin/clients", "kiendm", params={"unit": "HNI"}), 404)
    problem(register(admin_platform, "kiendm", redirect_uris=[CB], unit="HNI-VP"), 404)
    problem(register(admin_platform, "kiendm", redirect_uris=[CB], unit="*"), 404)
    moved = admin_platform.call(
        "PATCH", made.headers["Location"], "kiendm", headers={"If-Match": made.headers["ETag"]}, json={"unit": "HNI"}
    )
    problem(moved, 404)
    # trust and the scopes that act in officials' names are the whole platform's to give
    body = problem(register(admin_platform, "kiendm", redirect_uris=[CB], trusted=True), 403)
    assert body["type"] == "urn:antin:problem:platform-only"
    problem(register(admin_platform, "kiendm", redirect_uris=[CB], scope="openid signing:sign"), 403)
    # nor may a province aim the platform's own requests (back-channel logout) at its internal network
    for inside in (
        "http://localhost:6379/",
        "https://10.1.2.3/logout",
        "https://[::1]/logout",
        "https://169.254.169.254/",
    ):
        body = problem(register(admin_platform, "kiendm", redirect_uris=[CB], backchannel_logout_uri=inside), 403)
        assert body["type"] == "urn:antin:problem:platform-only", inside
    outside = register(
        admin_platform, "kiendm", redirect_uris=[CB], backchannel_logout_uri="https://a.bacninh.example/bc"
    )
    assert outside.status_code == 201, outside.text
    signing = admin_platform.call(
        "PATCH",
        made.headers["Location"],
        "kiendm",
        headers={"If-Match": made.headers["ETag"]},
        json={"scope": "openid admin"},
    )
    problem(signing, 403)
    # Hà Nội's client manager sees Hà Nội's client and not Bắc Ninh's; a unit administrator manages no client
    hanoi = {c["client_id"] for c in admin_platform.call("GET", "/api/admin/clients", "quyenlt").json()["items"]}
    assert HANOI_CLIENT in hanoi and made.json()["client_id"] not in hanoi
    problem(admin_platform.call("GET", "/api/admin/clients", "tuanbv"), 403)
    hanoi_client = admin_platform.provider.clients.get(HANOI_CLIENT)
    assert hanoi_client is not None and not hanoi_client.disabled and hanoi_client.unit_code == "HNI-VP"


def test_the_platforms_own_clients_are_neither_edited_nor_disabled(admin_platform: AdminPlatform) -> None:
    from idp.oidc.first_party import ensure_all_registered

    ensure_all_registered(admin_platform.instance)
    console = admin_platform.call("GET", "/api/admin/clients/antin-console", "dungpt")
    assert console.status_code == 200 and console.json()["unit"] == "*"
    edit = admin_platform.call(
        "PATCH",
        "/api/admin/clients/antin-console",
        "dungpt",
        headers={"If-Match": console.headers["ETag"]},
        json={"redirect_uris": ["https://evil.example/cb"]},
    )
    assert problem(edit, 409)["type"] == "urn:antin:problem:first-party-client"
    problem(admin_platform.call("POST", "/api/admin/clients/antin-console/disable", "dungpt"), 409)
    record = admin_platform.provider.clients.get("antin-console")
    assert record is not None and "https://evil.example/cb" not in record.redirect_uris and not record.disabled


def test_a_disabled_client_is_refused_and_enabled_again(admin_platform: AdminPlatform) -> None:
    made = register(admin_platform, "kiendm", redirect_uris=[CB], grant_types=["client_credentials"])
    client_id, secret = made.json()["client_id"], made.json()["client_secret"]

    def token() -> int:
        return requests.post(
            admin_platform.base_url + "/token",
            data={"grant_type": "client_credentials", "scope": "profile"},
            auth=(client_id, secret),
            timeout=10,
        ).status_code

    assert token() == 200
    disabled = admin_platform.call("POST", made.headers["Location"] + "/disable", "kiendm")
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert token() == 401
    problem(
        admin_platform.call("POST", made.headers["Location"] + "/enable", "kiendm", headers={"If-Match": '"x"'}), 412
    )
    assert admin_platform.call("POST", made.headers["Location"] + "/enable", "kiendm").json()["disabled"] is False
    assert token() == 200


def test_a_client_registered_here_signs_an_official_in_with_an_independent_library(
    admin_platform: AdminPlatform,
) -> None:
    """PyPI ``oic`` (pyoidc): discovery, code + PKCE, the ID token's signature checked against the JWKS, userinfo."""
    redirect_uri = "http://localhost:9/cb"  # loopback: allowed in development, where the browser stops anyway
    made = register(
        admin_platform, "kiendm", client_name="Một cửa Bắc Ninh", redirect_uris=[redirect_uri], unit="BNH-VP"
    )
    assert made.status_code == 201, made.text
    client_id, secret = made.json()["client_id"], made.json()["client_secret"]
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(admin_platform.issuer)
    client.store_registration_info(
        RegistrationResponse(client_id=client_id, client_secret=secret, redirect_uris=[redirect_uri])
    )
    state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    pkce, verifier = client.add_code_challenge()
    args = {
        "client_id": client_id,
        "response_type": "code",
        "scope": ["openid", "profile"],
        "nonce": nonce,
        "redirect_uri": redirect_uri,
        "state": state,
        **pkce,
    }
    url = client.construct_AuthorizationRequest(request_args=args).request(client.authorization_endpoint)
    browser = Browser(admin_platform.issuer)
    outcome = browser.go(url)
    assert outcome.page is not None
    outcome = browser.login(outcome.page, "minhnq", DEMO_PASSWORD)
    assert outcome.page is not None and 'id="consent-form"' in outcome.page.text  # not trusted: the official is asked
    assert "Một cửa Bắc Ninh" in outcome.page.text
    outcome = browser.submit(outcome.page, "consent-form", {"decision": "allow"})
    assert outcome.location is not None and outcome.location.startswith(redirect_uri)
    response = client.parse_response(AuthorizationResponse, info=urlsplit(outcome.location).query, sformat="urlencoded")
    assert response["state"] == state
    tokens = client.do_access_token_request(
        state=state,
        request_args={"code": response["code"], "code_verifier": verifier},
        authn_method="client_secret_basic",
    )
    assert isinstance(tokens, AccessTokenResponse), tokens
    sub = admin_platform.ldap.get_person("minhnq").entry_uuid
    id_token = tokens["id_token"]  # its signature verified by oic against the provider's JWKS
    assert id_token["sub"] == sub and id_token["aud"] == [client_id] and id_token["nonce"] == nonce
    info = client.do_user_info_request(state=state, method="GET")
    assert isinstance(info, OpenIDSchema) and info["sub"] == sub
    # a redirect URI not registered exactly is refused before any sign-in
    wrong = {**args, "redirect_uri": redirect_uri + "/other", "state": "s2"}
    refused = browser.go(
        client.construct_AuthorizationRequest(request_args=wrong).request(client.authorization_endpoint)
    )
    assert refused.location is None and refused.page is not None and refused.page.status_code == 400


def test_the_cli_registers_a_client_in_a_unit(admin_platform: AdminPlatform) -> None:
    """``antin clients add --unit``: the province's client managers then manage it; no such unit, nothing made."""
    import json

    from click.testing import CliRunner

    from idp.oidc.cli import clients as clients_cli

    runner = CliRunner()
    args = ["add", "--name", "Hồ sơ Bắc Ninh", "--redirect-uri", CB, "--unit", "bnh-vp", "--json"]
    result = runner.invoke(clients_cli, args, obj=admin_platform.instance)
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert made["unit"] == "BNH-VP"
    listed = admin_platform.call("GET", "/api/admin/clients", "kiendm").json()["items"]
    assert made["client_id"] in {c["client_id"] for c in listed}
    before = len(admin_platform.provider.clients.list())
    nowhere = runner.invoke(
        clients_cli, ["add", "--name", "Không", "--redirect-uri", CB, "--unit", "KHONG"], obj=admin_platform.instance
    )
    assert nowhere.exit_code != 0 and "no unit 'KHONG'" in nowhere.output
    assert len(admin_platform.provider.clients.list()) == before


def test_a_change_landing_after_the_version_check_is_refused_not_overwritten(admin_platform: AdminPlatform) -> None:
    """The registry writes an edit only if the row is still the one the version was checked against."""
    import dataclasses

    from idp.oidc.errors import ClientChangedError

    made = register(admin_platform, "dungpt", redirect_uris=[CB])
    clients = admin_platform.provider.clients
    read = clients.get(made.json()["client_id"])
    assert read is not None
    clients.set_home_url(read.client_id, "https://moi.bacninh.example/")  # a colleague, between check and write
    with pytest.raises(ClientChangedError) as refused:
        clients.replace(dataclasses.replace(read.as_spec(), name="Ghi đè"), expected=read)
    assert refused.value.current.home_url == "https://moi.bacninh.example/"
    fresh = clients.get(read.client_id)
    assert fresh is not None and fresh.name == "Ứng dụng" and fresh.home_url == "https://moi.bacninh.example/"
