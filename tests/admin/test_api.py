"""``/api/admin``: officials searched, read, disabled and enabled through the delegation, by real access tokens of
the platform's provider; the delegation attacks of issue 12 item 14 as tests (another province, no rights, every
route)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from antin.kernel.audit import AuditEvent
from directory.demo_data import DEMO_OFFICIALS, DEMO_UNITS
from directory.errors import NotFoundError
from idp.oidc import resource_server_checks
from signing.service import signing_service
from tests.admin.conftest import HANOI_CLIENT, OPERATOR, AdminPlatform, console_browser
from tests.admin.test_console_imports import finished
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser, RelyingParty, forms_of

pytestmark = pytest.mark.slapd

PROBLEM = "application/problem+json"


def problem(response: requests.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status and "Traceback" not in response.text
    return body


def subtree(top: str) -> set[str]:
    units = {top}
    for code, _name, _kind, parent in DEMO_UNITS * 4:  # enough passes for the demo tree's depth
        if parent in units:
            units.add(code)
    return units


def logins_under(top: str) -> set[str]:
    return {uid for uid, _name, unit, _pos, _roles in DEMO_OFFICIALS if unit in subtree(top)}


def walk(platform: AdminPlatform, login: str, **params: str) -> list[dict[str, object]]:
    """Every page of a search, following next_cursor."""
    items: list[dict[str, object]] = []
    cursor = ""
    while True:
        response = platform.call("GET", "/api/admin/officials", login, params={**params, "cursor": cursor})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def test_a_provincial_administrator_lists_their_province_page_by_page(admin_platform: AdminPlatform) -> None:
    found = walk(admin_platform, "tuanbv", size="4")
    logins = [str(p["login"]) for p in found]
    assert len(logins) == len(set(logins))  # no one twice across pages
    assert logins_under("BNH") <= set(logins)
    assert all("BNH" in p["unit_path"] for p in found)  # type: ignore[operator]
    assert not set(logins) & logins_under("HNI")


def test_names_are_found_with_or_without_diacritics(admin_platform: AdminPlatform) -> None:
    for query in ("Hương", "huong", "DANG THI", "đặng thị hương", "huongdt"):
        found = walk(admin_platform, "dungpt", q=query)
        assert "huongdt" in [p["login"] for p in found], query
    [hoa] = [p for p in walk(admin_platform, "tuanbv", q="hoa") if p["login"] == "hoalt"]
    assert hoa["full_name"] == "Lê Thị Hoa" and hoa["unit"] == {"code": "BNH", "name": "Tỉnh ủy Bắc Ninh"}
    # the same search by Bắc Ninh's administrator does not reach the centre's Đặng Thị Hương
    assert walk(admin_platform, "tuanbv", q="dang thi huong") == []


def test_a_search_in_a_unit_stays_in_that_unit_and_in_the_callers_reach(admin_platform: AdminPlatform) -> None:
    found = walk(admin_platform, "tuanbv", unit="BNH-PHATTICH")
    # the platform is shared by the session: other tests add officials to this unit, never outside it
    assert logins_under("BNH-PHATTICH") <= {p["login"] for p in found}
    assert all("BNH-PHATTICH" in p["unit_path"] for p in found)  # type: ignore[operator]
    assert not {p["login"] for p in found} & (logins_under("BNH") - logins_under("BNH-PHATTICH"))
    problem(admin_platform.call("GET", "/api/admin/officials", "tuanbv", params={"unit": "HNI"}), 404)
    problem(admin_platform.call("GET", "/api/admin/officials", "tuanbv", params={"unit": "*"}), 404)


def test_bad_search_parameters_get_a_problem(admin_platform: AdminPlatform) -> None:
    for params in ({"size": "0"}, {"size": "x"}, {"size": "201"}, {"cursor": "not-a-cursor"}, {"q": "x" * 200}):
        problem(admin_platform.call("GET", "/api/admin/officials", "tuanbv", params=params), 400)
    first = admin_platform.call("GET", "/api/admin/officials", "tuanbv", params={"size": "2"}).json()
    # a cursor of one search is not accepted for another (here: another province's administrator)
    other = admin_platform.call("GET", "/api/admin/officials", "hieunm", params={"cursor": first["next_cursor"]})
    problem(other, 400)


def test_an_administrator_of_one_province_cannot_read_disable_or_enable_an_official_of_another(
    admin_platform: AdminPlatform,
) -> None:
    assert admin_platform.call("GET", "/api/admin/officials/phonglt", "hieunm").status_code == 200
    stranger = problem(admin_platform.call("GET", "/api/admin/officials/phonglt", "tuanbv"), 404)
    nobody = problem(admin_platform.call("GET", "/api/admin/officials/khongco", "tuanbv"), 404)
    assert stranger["type"] == nobody["type"] == "urn:antin:problem:not-found"  # a guess teaches nothing
    problem(admin_platform.call("POST", "/api/admin/officials/phonglt/disable", "tuanbv"), 404)
    assert admin_platform.ldap.get_person("phonglt").active
    admin_platform.ldap.disable("tungdv")
    try:
        problem(admin_platform.call("POST", "/api/admin/officials/tungdv/enable", "tuanbv"), 404)
        assert not admin_platform.ldap.get_person("tungdv").active
    finally:
        admin_platform.ldap.enable("tungdv")


def test_an_official_without_grants_is_refused_everything(admin_platform: AdminPlatform) -> None:
    for method, path in (
        ("GET", "/api/admin/officials"),
        ("GET", "/api/admin/officials/huongdt"),
        ("GET", "/api/admin/officials/phonglt"),
        ("POST", "/api/admin/officials/phonglt/disable"),
        ("POST", "/api/admin/officials/phonglt/enable"),
    ):
        body = problem(admin_platform.call(method, path, "huongdt"), 403)
        assert body["type"] == "urn:antin:problem:not-permitted"
    assert admin_platform.ldap.get_person("phonglt").active


def test_an_auditor_reads_but_cannot_disable(admin_platform: AdminPlatform) -> None:
    assert admin_platform.call("GET", "/api/admin/officials/minhnq", "yenht").json()["login"] == "minhnq"
    problem(admin_platform.call("POST", "/api/admin/officials/minhnq/disable", "yenht"), 403)
    assert admin_platform.ldap.get_person("minhnq").active


def test_tokens_without_the_admin_scope_or_of_no_one_are_refused(admin_platform: AdminPlatform) -> None:
    response = requests.get(admin_platform.base_url + "/api/admin/officials", timeout=10)
    problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith(("Bearer", "DPoP"))
    wrong_scope = admin_platform.token("dungpt", scope="openid profile")
    response = requests.get(
        admin_platform.base_url + "/api/admin/officials", headers={"Authorization": f"Bearer {wrong_scope}"}, timeout=10
    )
    problem(response, 403)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    garbage = requests.get(
        admin_platform.base_url + "/api/admin/officials", headers={"Authorization": "Bearer a.b.c"}, timeout=10
    )
    problem(garbage, 401)


def test_disabling_ends_sessions_and_revokes_tokens_and_certificates_at_once(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    uid = admin_platform.new_official("BNH-PHATTICH-CB1", unique, full_name="Trần Thị Bích")
    instance = admin_platform.instance
    certificate = signing_service(instance).issue_certificate(uid)
    # they sign in to an application in a browser: an SSO session, an access token and a refresh token
    rp = RelyingParty.register(admin_platform)  # type: ignore[arg-type]
    browser = Browser(admin_platform.issuer)
    tokens = rp.code_flow(browser, username=uid, password=PASSWORD)
    jti = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "==").decode())["jti"]
    checks = resource_server_checks(instance)
    assert not checks.access_token_revoked(jti)
    assert rp.authorize(browser, prompt="none").params.get("code")

    response = admin_platform.call("POST", f"/api/admin/officials/{uid}/disable", "tuanbv", json={"status": "retired"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "retired"
    assert not admin_platform.ldap.get_person(uid).active
    assert checks.access_token_revoked(jti)  # the provider now refuses what it issued them
    assert rp.authorize(browser, prompt="none").params["error"] == "login_required"  # the SSO session is over
    refresh = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    [revoked] = [c for c in signing_service(instance).ca.certificates() if c.serial == certificate.serial]
    assert revoked.status == "revoked"
    tuanbv = admin_platform.ldap.get_person("tuanbv").entry_uuid
    [entry] = instance.audit.entries(event=AuditEvent.DIRECTORY_USER_DISABLE, subject=uid)
    assert entry.actor == tuanbv and entry.details["status"] == "retired"
    assert entry.details["certificates_revoked"] == [certificate.serial]

    response = admin_platform.call("POST", f"/api/admin/officials/{uid}/enable", "tuanbv")
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert admin_platform.ldap.get_person(uid).active
    [entry] = instance.audit.entries(event=AuditEvent.DIRECTORY_USER_ENABLE, subject=uid)
    assert entry.actor == tuanbv


def test_bad_disable_requests_change_nothing(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    uid = admin_platform.new_official("BNH-VP", unique)
    problem(admin_platform.call("POST", f"/api/admin/officials/{uid}/disable", "tuanbv", json={"status": "x"}), 400)
    problem(admin_platform.call("POST", f"/api/admin/officials/{uid}/disable", "tuanbv", json=[1]), 400)
    problem(admin_platform.call("POST", "/api/admin/officials/tuanbv/disable", "tuanbv"), 409)  # not oneself
    assert admin_platform.ldap.get_person(uid).active and admin_platform.ldap.get_person("tuanbv").active


def test_a_disabled_administrators_token_stops_working_at_once(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    uid = admin_platform.new_official("HNI-VP", unique)
    admin_platform.service.delegation.grant(OPERATOR, uid, "auditor", "HNI")
    token = admin_platform.token(uid)
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(admin_platform.base_url + "/api/admin/officials", headers=headers, timeout=10).ok
    admin_platform.ldap.disable(uid)  # as `antin directory users disable` would, without the provider's help
    problem(requests.get(admin_platform.base_url + "/api/admin/officials", headers=headers, timeout=10), 401)


# -- every route --------------------------------------------------------------------------------------------


def admin_routes(platform: AdminPlatform) -> list[tuple[str, str]]:
    routes = []
    for rule in platform.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/admin"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return routes


# an official, a unit, a group, an OIDC client of Hà Nội
HANOI = {"login": "toanvd", "code": "HNI-VP", "cn": "ky-so-hni", "client_id": HANOI_CLIENT}
# a body for every write, aimed at Hà Nội: create there, move there, add Hà Nội's official…
HANOI_BODY = {
    "login": "toanvd",
    "full_name": "Thử Nghiệm",
    "unit": "HNI",
    "code": "HNI-THU",
    "name": "Thử",
    "kind": "department",
    "parent": "HNI",
    "reason": "keyCompromise",
    "client_name": "Thử",
    "redirect_uris": ["https://thu.example/cb"],
    "action": "move",  # the bulk edit: move Hà Nội's official into Hà Nội's unit
    "logins": ["toanvd"],
}


def concrete(rule: str, serial: str = "1", seal: str = "1") -> str:
    """A rule with its variables filled in with Hà Nội's (HANOI, ``serial``: a certificate of Hà Nội's official,
    ``seal`` in a /seals/ route: the seal certificate of Hà Nội's unit), "1" for any other."""
    values = {**HANOI, "serial": seal if "/seals/" in rule else serial}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values.get(m.group(1), "1"), rule)


def hanoi_certificate(platform: AdminPlatform) -> str:
    """The serial of a valid signing certificate of Hà Nội's official (issued once)."""
    ca = signing_service(platform.instance).ca
    valid = ca.certificates(uid=HANOI["login"], valid_only=True)
    return valid[-1].serial if valid else signing_service(platform.instance).issue_certificate(HANOI["login"]).serial


def ca_serials(platform: AdminPlatform) -> list[str]:
    """The CA's own certificates (issuing CA, OCSP responder, TSA): no refused renewal may add one."""
    ca = signing_service(platform.instance).ca
    return [c.serial for role in ("issuing-ca", "ocsp", "tsa") for c in ca.certificates(role=role)]


def hanoi_seal(platform: AdminPlatform) -> str:
    """The serial of the valid seal certificate of Hà Nội's unit (issued once)."""
    ca = signing_service(platform.instance).ca
    valid = ca.certificates(unit_code=HANOI["code"], valid_only=True)
    if valid:
        return valid[-1].serial
    return platform.service.seals.issue(OPERATOR, HANOI["code"]).serial


# routes that take a CSV file: aimed at Hà Nội, Bắc Ninh's administrator gets every Hà Nội row refused
CSV_ROUTES = {"/api/admin/imports", "/api/admin/units/imports", "/api/admin/import-jobs"}
# powers held on the whole directory alone (the chain's verification, renewing the CA's certificates: the platform
# administrator's): Bắc Ninh's administrator holds them nowhere, so 403, no Hà Nội target to hide
HELD_ON_THE_WHOLE_DIRECTORY_ONLY = {"/api/admin/audit/verify", "/api/admin/pki/renew/<role>"}
HANOI_CSV = "uid,name,unit\ntoanvd,Thử Nghiệm,HNI-VP\nthunghiemhn,Thử Nghiệm,HNI\nthunghiembn,Thử Nghiệm,BNH-VP\n"


HANOI_UNITS = (
    "code,name,kind,parent\nHNI-THU,Thử,department,HNI\nHNI-VP,Văn phòng,department,BNH\nBNH-THU,Thử,other,BNH\n"
)
REFUSED_OFFICIALS = {"toanvd": "unit HNI-VP is outside your reach", "thunghiemhn": "unit HNI is outside your reach"}
REFUSED_UNITS = {"HNI-THU": "unit HNI is outside your reach", "HNI-VP": "unit HNI-VP is outside your reach"}


def refused_rows(platform: AdminPlatform, caller: str | None, path: str) -> None:
    """A real run of a CSV moving Hà Nội's official, creating one in Hà Nội, and one in Bắc Ninh moving nobody (of
    units: one created under Hà Nội, Hà Nội's moved into Bắc Ninh, one in Bắc Ninh); as a job: checked, then run."""
    headers = {"Content-Type": "text/csv"}
    units = path.endswith("/units/imports")
    body = (HANOI_UNITS if units else HANOI_CSV).encode()
    job = path.endswith("/import-jobs")
    params = {"kind": "officials"} if job else {"dry_run": "false"}
    response = platform.call("POST", path, caller, params=params, data=body, headers=headers)
    if caller == "tuanbv":
        assert response.status_code == (201 if job else 200), response.text
        if job:
            started = platform.call("POST", response.headers["Location"] + "/start", caller)
            assert started.status_code == 202, started.text
            for _ in range(300):  # a wait for the background run, not a measure of it
                answer = platform.call("GET", response.headers["Location"], caller).json()
                if answer["finished"]:
                    break
                time.sleep(0.05)
            report = answer["report"]
        else:
            report = response.json()
        assert report["status"] == "nothing-applied" and report["applied"] == 0
        refused = {r["login"]: r["reason"] for r in report["rows"] if r["action"] == "refused"}
        assert refused == (REFUSED_UNITS if units else REFUSED_OFFICIALS)
        return
    assert response.status_code == (401 if caller is None else 403), response.text
    assert response.headers["Content-Type"] == PROBLEM
    with pytest.raises(NotFoundError):
        platform.ldap.get_person("thunghiembn")


def test_there_are_admin_routes_to_try(admin_platform: AdminPlatform) -> None:
    assert len(admin_routes(admin_platform)) >= 17


def client_route(rule: str) -> bool:
    return rule.startswith("/api/admin/clients")


@pytest.mark.parametrize("caller", [None, "huongdt", "tuanbv", "kiendm"])
def test_every_admin_route_refuses_a_caller_without_rights_over_the_target(
    admin_platform: AdminPlatform, caller: str | None
) -> None:
    """Anonymous, an official with no grants, Bắc Ninh's administrator and Bắc Ninh's client manager aimed at Hà Nội
    (a Hà Nội login or client in the path, ?unit=HNI for reads): each route of /api/admin, whatever a later session
    adds, must refuse them (401, 403, 404 that reads like "nobody") and change nothing."""
    hanoi_client = admin_platform.provider.clients.get(HANOI_CLIENT)
    serial, seal = hanoi_certificate(admin_platform), hanoi_seal(admin_platform)
    ca_before = ca_serials(admin_platform)
    for method, rule in admin_routes(admin_platform):
        path = concrete(rule, serial, seal)
        if rule in CSV_ROUTES:
            refused_rows(admin_platform, caller, path)
            continue
        params = {"unit": "HNI", "subject": "toanvd"} if method == "GET" else None
        body = None if method == "GET" else HANOI_BODY
        headers = {"If-Match": "*"}  # so that a missing If-Match cannot be the only refusal
        response = admin_platform.call(method, path, caller, params=params, json=body, headers=headers)
        expected = {None: 401, "huongdt": 403, "tuanbv": 404, "kiendm": 403}[caller]
        if caller == "tuanbv" and (rule in HELD_ON_THE_WHOLE_DIRECTORY_ONLY or client_route(rule)):
            expected = 403  # a power held only on *, or not held at all (clients): no Hà Nội target to hide
        if caller == "kiendm" and client_route(rule):
            expected = 404  # Bắc Ninh's client manager: Hà Nội's client and units read like none
        assert response.status_code == expected, (method, rule, response.status_code, response.text)
        assert response.headers["Content-Type"] == PROBLEM
    toanvd = admin_platform.ldap.get_person("toanvd")
    assert toanvd.active and toanvd.unit is not None and toanvd.unit.code == "HNI-VP"
    assert "ky-so-hni" in toanvd.groups and toanvd.full_name == "Vũ Đức Toàn"
    assert admin_platform.ldap.get_unit("HNI-VP").name == "Văn phòng Thành ủy Hà Nội"
    with pytest.raises(NotFoundError):
        admin_platform.ldap.get_unit("HNI-THU")
    assert [
        c.serial for c in signing_service(admin_platform.instance).ca.certificates(uid="toanvd", valid_only=True)
    ] == [serial]
    assert [
        c.serial for c in signing_service(admin_platform.instance).ca.certificates(unit_code="HNI-VP", valid_only=True)
    ] == [seal]
    for nobody in ("thunghiemhn", "thunghiembn"):
        with pytest.raises(NotFoundError):
            admin_platform.ldap.get_person(nobody)
    for nothing in ("HNI-THU", "BNH-THU"):
        with pytest.raises(NotFoundError):
            admin_platform.ldap.get_unit(nothing)
    assert admin_platform.ldap.get_unit("HNI-VP").parent_code == "HNI"
    assert admin_platform.provider.clients.get(HANOI_CLIENT) == hanoi_client
    assert not [c for c in admin_platform.provider.clients.list() if c.name in ("Thử", "Thử Nghiệm")]
    assert ca_serials(admin_platform) == ca_before


def test_every_admin_route_is_described_in_the_openapi_document(admin_platform: AdminPlatform) -> None:
    doc = requests.get(admin_platform.base_url + "/api/openapi.json", timeout=10).json()
    for method, rule in admin_routes(admin_platform):
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)
        operation = doc["paths"][path][method.lower()]
        assert operation["security"] == [{"adminBearer": []}]
        assert "403" in operation["responses"]
    assert doc["components"]["securitySchemes"]["adminBearer"]["scheme"] == "bearer"


def test_filter_probes_in_a_login_or_a_query_find_nobody(admin_platform: AdminPlatform) -> None:
    for login in ("*", "*)(uid=*", "phonglt)(|(uid=*"):
        problem(admin_platform.call("GET", f"/api/admin/officials/{login}", "tuanbv"), 404)
        problem(admin_platform.call("GET", f"/api/admin/officials/{login}", "dungpt"), 404)
    assert walk(admin_platform, "tuanbv", q="*)(uid=*") == []
    assert walk(admin_platform, "dungpt", q="*") == []


def test_the_admin_scope_is_given_to_a_client_only_when_an_operator_names_it(admin_platform: AdminPlatform) -> None:
    from idp.oidc.clients import ClientSpec

    clients = admin_platform.provider.clients
    plain, _ = clients.add(ClientSpec(name="Tra cứu", redirect_uris=("http://localhost:9/cb",), trusted=True))
    assert "admin" not in plain.scopes
    named, _ = clients.add(
        ClientSpec(name="Quản trị", redirect_uris=("http://localhost:9/cb",), scopes=("openid", "admin"))
    )
    assert named.scopes == ("openid", "admin")
    metadata = requests.get(admin_platform.issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert "admin" in metadata["scopes_supported"]


# -- every console route ------------------------------------------------------------------------------------

# the console's only routes reachable without an administrator's session; every other must refuse
CONSOLE_PUBLIC = {
    ("GET", "/admin/signin"),
    ("GET", "/admin/signin/callback"),
    ("POST", "/admin/signout"),
    ("GET", "/admin/assets/<path:filename>"),
}
# routes about no target in a province: Bắc Ninh's administrator may open them (their own home, their grants); aimed
# at Hà Nội, every other route must refuse them: 404, or 403 for the powers held only on the whole directory (the CA's
# page too: it exists, and says whose it is)
# a path's variables aimed at Hà Nội: an official, a unit, a group of Hà Nội's
HANOI_CONSOLE = {"login": "toanvd", "code": "HNI-VP", "name": "ky-so-hni", "client_id": HANOI_CLIENT}
CONSOLE_HELD_ON_THE_WHOLE_DIRECTORY = {"/admin/audit/verify", "/admin/pki", "/admin/pki/renew/<role>"}
CONSOLE_UNTARGETED = {
    ("GET", "/admin/"),
    ("GET", "/admin/grants"),
    ("GET", "/admin/import"),
    ("GET", "/admin/units/import"),
}
# routes that take a CSV file: Bắc Ninh's administrator uploads one aimed at Hà Nội and gets every row refused (the
# Bắc Ninh row waits for the others): officials created in or moved out of Hà Nội; units created under Hà Nội's or
# Hà Nội's moved into Bắc Ninh
HANOI_UNITS_CSV = (
    "code,name,kind,parent\nHNI-THU,Thử,department,HNI\nHNI-VP,Văn phòng,department,BNH\nBNH-THU,Thử,other,BNH\n"
)
CONSOLE_CSV = {("POST", "/admin/import"): HANOI_CSV, ("POST", "/admin/units/import"): HANOI_UNITS_CSV}


def console_routes(platform: AdminPlatform) -> list[tuple[str, str]]:
    routes = []
    for rule in platform.app.url_map.iter_rules():
        if rule.rule == "/admin" or rule.rule.startswith("/admin/"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                routes.append((method, rule.rule))
    return routes


def test_there_are_console_routes_to_try(admin_platform: AdminPlatform) -> None:
    assert len(console_routes(admin_platform)) >= 20


@pytest.mark.usefixtures("any_level")
@pytest.mark.parametrize("caller", [None, "huongdt", "tuanbv", "kiendm"])
def test_every_console_route_refuses_a_caller_without_rights_over_the_target(
    admin_platform: AdminPlatform, caller: str | None
) -> None:
    """Anonymous (sent to sign in), an official with no grants (403 page), Bắc Ninh's administrator and Bắc Ninh's
    application manager aimed at Hà Nội (a Hà Nội login or client, Hà Nội's grant, ?unit=HNI, ?subject=toanvd, a form
    naming HNI: 404, or 403 for powers they hold nowhere): each route of /admin, whatever a later session adds, and
    nothing changes."""
    hanoi_client = admin_platform.provider.clients.get(HANOI_CLIENT)
    hanoi_grant = next(g.id for g in admin_platform.service.delegation.grants(OPERATOR) if g.login == "hieunm")
    serial, seal = hanoi_certificate(admin_platform), hanoi_seal(admin_platform)
    ca_before = ca_serials(admin_platform)
    if caller is None:
        browser = Browser(admin_platform.base_url)
        login_page = browser.go(admin_platform.base_url + "/admin/").page  # the provider's login page
        assert login_page is not None
        csrf = forms_of(login_page.text)["login-form"]["inputs"]["csrf_token"]
    else:
        browser, home = console_browser(admin_platform, caller)
        if caller == "huongdt":
            assert home.status_code == 403 and 'data-code="not-permitted"' in home.text
        csrf = _csrf_of(browser, admin_platform)
    for method, rule in console_routes(admin_platform):
        if (method, rule) in CONSOLE_PUBLIC:
            continue
        values = {**HANOI_CONSOLE, "grant_id": str(hanoi_grant), "serial": seal if "/seals/" in rule else serial}
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values.get(m.group(1), "1"), rule)  # noqa: B023 (used at once)
        params = {"unit": "HNI", "subject": "toanvd"} if method == "GET" else None
        data = (
            {
                "csrf_token": csrf,
                "login": "toanvd",
                "role": "auditor",
                "unit": "HNI",
                "reason": "key-compromise",
                "action": "move",  # the bulk edit: Hà Nội's official ticked, moved into Hà Nội
            }
            if method == "POST"
            else None
        )
        csv_body = CONSOLE_CSV.get((method, rule))
        files = {"file": ("ha-noi.csv", csv_body.encode(), "text/csv")} if csv_body is not None else None
        response = browser.session.request(
            method,
            admin_platform.base_url + path,
            params=params,
            data=data,
            files=files,
            allow_redirects=False,
            timeout=30,
        )
        if caller == "tuanbv" and (method, rule) in CONSOLE_CSV:
            assert response.status_code == 302, where_of(caller, method, rule, response)
            preview = browser.session.get(admin_platform.base_url + response.headers["Location"], timeout=30)
            assert preview.status_code == 200 and 'id="import-form"' in preview.text
            actions = re.findall(r'data-action="([a-z]+)"', preview.text)
            assert actions == ["refused", "refused", "create"], actions  # the Bắc Ninh row waits for the others
            form = forms_of(preview.text)["import-form"]
            unticked = {k: v for k, v in form["inputs"].items() if k != "skip_refused"}
            done = finished(
                browser, browser.session.post(admin_platform.base_url + form["action"], data=unticked, timeout=30)
            )
            assert done.status_code == 200 and 'data-status="nothing-applied"' in done.text
            continue
        where = (caller, method, rule, response.status_code)
        assert "Traceback" not in response.text, where
        if caller is None:
            assert response.status_code == 302, where
            assert urlsplit(response.headers["Location"]).path == "/authorize", where
            assert parse_qs(urlsplit(response.headers["Location"]).query)["client_id"] == ["antin-console"]
        elif caller == "huongdt":
            assert response.status_code == 403, where
        elif caller == "kiendm" and "/clients" in rule:
            assert response.status_code == 404, where_of(caller, method, rule, response)
        elif caller == "kiendm":  # holds clients:manage alone: every other page is refused, or is their own
            assert response.status_code in (403, 404) or (method, rule) in CONSOLE_UNTARGETED, where
        elif (method, rule) in CONSOLE_UNTARGETED:
            assert response.status_code == 200, where
        else:
            assert response.status_code in (403, 404), where
            # 403 only for what is held on the whole directory alone: clients, the chain's verification, renewing
            # the CA's certificates (the platform administrator's)
            assert response.status_code == 404 or "client" in rule or rule in CONSOLE_HELD_ON_THE_WHOLE_DIRECTORY, where
    assert admin_platform.ldap.get_person("toanvd").active
    assert any(g.id == hanoi_grant for g in admin_platform.service.delegation.grants(OPERATOR))
    assert admin_platform.ldap.get_unit("HNI-VP").name == "Văn phòng Thành ủy Hà Nội"
    assert "ky-so-hni" in admin_platform.ldap.get_person("toanvd").groups
    assert signing_service(admin_platform.instance).ca.get(serial).status == "valid"
    assert signing_service(admin_platform.instance).ca.get(seal).status == "valid"
    assert [c.serial for c in signing_service(admin_platform.instance).ca.certificates(unit_code="HNI-VP")] == [seal]
    for nobody in ("thunghiemhn", "thunghiembn"):
        with pytest.raises(NotFoundError):
            admin_platform.ldap.get_person(nobody)
    for nothing in ("HNI-THU", "BNH-THU"):  # the units CSV aimed at Hà Nội wrote nothing either
        with pytest.raises(NotFoundError):
            admin_platform.ldap.get_unit(nothing)
    assert admin_platform.ldap.get_unit("HNI-VP").parent_code == "HNI"
    assert admin_platform.provider.clients.get(HANOI_CLIENT) == hanoi_client
    assert ca_serials(admin_platform) == ca_before


def where_of(caller: str | None, method: str, rule: str, response: requests.Response) -> tuple[object, ...]:
    return (caller, method, rule, response.status_code, response.text[:500])


def _csrf_of(browser: Browser, platform: AdminPlatform) -> str:
    """The CSRF token of a signed-in browser, from its account page's forms."""
    account = browser.go(platform.base_url + "/account").page
    assert account is not None
    return str(next(f["inputs"]["csrf_token"] for f in forms_of(account.text).values() if "csrf_token" in f["inputs"]))
