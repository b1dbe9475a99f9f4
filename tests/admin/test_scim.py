"""SCIM 2.0 at /scim/v2 against the live platform and the real slapd: checked by the independent scim2-tester
(RFC 7643/7644 compliance, discovery, CRUD, PATCH, attribute selection) with a real client_credentials token, and by
our own tests of the scoping (a Hà Nội provisioning client neither sees nor changes a Huế official), filters, paging,
ETags and the error shapes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from admin.models import ROOT_UNIT
from directory.errors import NotFoundError
from directory.models import AccountStatus, NewPerson, UnitKind
from idp.oidc.clients import ClientSpec
from tests.admin.conftest import OPERATOR, AdminPlatform

pytestmark = pytest.mark.slapd

SCIM = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Provisioner:
    """A provisioning client: registered at the provider, bound to a unit, with a token of its own."""

    platform: AdminPlatform
    client_id: str
    token: str

    @property
    def url(self) -> str:
        return self.platform.base_url + "/scim/v2"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)


def provisioner(platform: AdminPlatform, unit: str, name: str) -> Provisioner:
    record, secret = platform.provider.clients.add(
        ClientSpec(name=name, grant_types=("client_credentials",), scopes=("scim",))
    )
    platform.service.delegation.grant_client(OPERATOR, record.client_id, "provisioner", unit)
    answer = requests.post(
        platform.base_url + "/token",
        data={"grant_type": "client_credentials", "scope": "scim"},
        auth=(record.client_id, str(secret)),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return Provisioner(platform, record.client_id, answer.json()["access_token"])


@pytest.fixture(scope="module")
def hue(admin_platform: AdminPlatform) -> str:
    """A province outside Hà Nội with one official: Thừa Thiên Huế and lanhtt."""
    ldap = admin_platform.ldap
    try:
        ldap.get_unit("HUE")
    except NotFoundError:
        ldap.create_unit("HUE", "Tỉnh ủy Thừa Thiên Huế", UnitKind.PROVINCIAL_COMMITTEE, "TW")
        ldap.create_person(NewPerson(uid="lanhtt", full_name="Hoàng Thị Lan", unit_code="HUE", mail="lan@hue.vn"))
    return ldap.get_person("lanhtt").entry_uuid


@pytest.fixture(scope="module")
def hanoi(admin_platform: AdminPlatform) -> Provisioner:
    return provisioner(admin_platform, "HNI", "Phần mềm nhân sự Hà Nội")


def scim_error(response: requests.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(SCIM)
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    return body


def new_user(login: str, **more: Any) -> dict[str, Any]:
    return {
        "schemas": [USER, ENTERPRISE],
        "userName": login,
        "displayName": "Ngô Thị Thu",
        "name": {"familyName": "Ngô", "givenName": "Thu"},
        "emails": [{"value": f"{login}@hanoi.vn", "type": "work", "primary": True}],
        **more,
    }


# -- the independent checker ----------------------------------------------------------------------------------


def test_scim2_tester_finds_the_server_compliant(admin_platform: AdminPlatform, hanoi: Provisioner) -> None:
    from httpx2 import Client
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    with Client(base_url=hanoi.url, headers={"Authorization": f"Bearer {hanoi.token}"}, timeout=30) as http:
        results = check_server(SyncSCIMClient(http))
    ran = [r for r in results if r.status is not Status.SKIPPED]
    failed = [(r.title, r.resource_type, r.reason) for r in ran if r.status in (Status.ERROR, Status.CRITICAL)]
    assert len(ran) > 30  # discovery, CRUD and PATCH of both resource types did run
    assert not failed, "\n".join(map(str, failed))


# -- scoping --------------------------------------------------------------------------------------------------


def test_a_hanoi_client_cannot_see_or_change_a_hue_official(
    admin_platform: AdminPlatform, hanoi: Provisioner, hue: str
) -> None:
    stranger = scim_error(hanoi.call("GET", f"/Users/{hue}"), 404)
    nobody = scim_error(hanoi.call("GET", "/Users/00000000-0000-0000-0000-000000000000"), 404)
    assert stranger["detail"] == nobody["detail"]  # a guessed id teaches nothing
    listed = hanoi.call("GET", "/Users", params={"filter": 'userName eq "lanhtt"'}).json()
    assert listed["totalResults"] == 0 and listed["Resources"] == []
    everyone = hanoi.call("GET", "/Users", params={"count": "500"}).json()["Resources"]
    assert everyone and all(u[ENTERPRISE]["department"].startswith("HNI") for u in everyone)
    assert "lanhtt" not in {u["userName"] for u in everyone}
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Bị sửa"}]}
    scim_error(hanoi.call("PATCH", f"/Users/{hue}", json=patch), 404)
    scim_error(hanoi.call("PUT", f"/Users/{hue}", json=new_user("lanhtt")), 404)
    scim_error(hanoi.call("DELETE", f"/Users/{hue}"), 404)
    # nor move one of its own officials there, nor create one there, nor put a Huế official in its groups
    toanvd = admin_platform.ldap.get_person("toanvd").entry_uuid
    move = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": f"{ENTERPRISE}:department", "value": "HUE"}]}
    scim_error(hanoi.call("PATCH", f"/Users/{toanvd}", json=move), 404)
    scim_error(hanoi.call("POST", "/Users", json=new_user("hue-moi", **{ENTERPRISE: {"department": "HUE"}})), 404)
    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": hue}]}]}
    scim_error(hanoi.call("PATCH", "/Groups/ky-so-hni", json=add), 404)
    lan = admin_platform.ldap.get_person("lanhtt")
    assert lan.active and lan.position is None and lan.unit.code == "HUE"  # type: ignore[union-attr]
    assert admin_platform.ldap.get_person("toanvd").unit.code == "HNI-VP"  # type: ignore[union-attr]
    assert admin_platform.ldap.find_by_uid("hue-moi") is None and "ky-so-hni" not in lan.groups
    groups = {g["id"] for g in hanoi.call("GET", "/Groups").json()["Resources"]}
    assert "ky-so-hni" in groups and not groups & {"ky-so-bnh", "ky-so", "quan-tri-tw"}


def test_tokens_that_are_not_a_bound_clients_are_refused(admin_platform: AdminPlatform, hanoi: Provisioner) -> None:
    assert scim_error(requests.get(hanoi.url + "/Users", timeout=10), 401)
    an_officials = admin_platform.token("dungpt", scope="openid scim")  # an official's token, not a client's
    scim_error(requests.get(hanoi.url + "/Users", headers={"Authorization": f"Bearer {an_officials}"}, timeout=10), 403)
    admin_token = admin_platform.token("dungpt")  # the admin scope is not the scim scope
    response = requests.get(hanoi.url + "/Users", headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    scim_error(response, 403)
    # a client with the scope but no grant holds no unit
    record, secret = admin_platform.provider.clients.add(
        ClientSpec(name="Không đơn vị", grant_types=("client_credentials",), scopes=("scim",))
    )
    token = requests.post(
        admin_platform.base_url + "/token",
        data={"grant_type": "client_credentials", "scope": "scim"},
        auth=(record.client_id, str(secret)),
        timeout=10,
    ).json()["access_token"]
    unbound = requests.get(hanoi.url + "/Users", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    scim_error(unbound, 403)
    # a client the operator disables stops at once, whatever its tokens say
    disabled = provisioner(admin_platform, "HNI", "Sắp tắt")
    assert disabled.call("GET", "/Users", params={"count": "1"}).status_code == 200
    admin_platform.provider.clients.set_disabled(disabled.client_id)
    scim_error(disabled.call("GET", "/Users", params={"count": "1"}), 401)


def test_a_client_is_bound_only_by_someone_holding_the_unit(admin_platform: AdminPlatform, hanoi: Provisioner) -> None:
    from admin.errors import GrantRefusedError, OutOfReachError

    delegation = admin_platform.service.delegation
    tuanbv = admin_platform.service.actor(admin_platform.ldap.get_person("tuanbv").entry_uuid)
    with pytest.raises(OutOfReachError):
        delegation.grant_client(tuanbv, hanoi.client_id, "provisioner", "HNI")  # Bắc Ninh's cannot bind to Hà Nội
    with pytest.raises(GrantRefusedError):
        delegation.grant_client(OPERATOR, "khong-co-client", "provisioner", "HNI")
    with pytest.raises(GrantRefusedError):
        delegation.grant_client(OPERATOR, hanoi.client_id, "platform-admin", ROOT_UNIT)
    with pytest.raises(GrantRefusedError):
        delegation.grant(OPERATOR, "huongdt", "provisioner", "HNI")  # the role is a client's


# -- users ----------------------------------------------------------------------------------------------------


def test_a_user_is_provisioned_changed_and_retired(
    admin_platform: AdminPlatform, hanoi: Provisioner, unique: Callable[[str], str]
) -> None:
    login = unique("thu")
    created = hanoi.call(
        "POST", "/Users", json=new_user(login, externalId=f"hr-{login}", **{ENTERPRISE: {"employeeNumber": "HN-1"}})
    )
    [entry] = admin_platform.instance.audit.entries(event="directory:user:create", subject=login)
    assert entry.actor == f"client:{hanoi.client_id}"  # the client's changes are audited as the client's
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["Location"] == user["meta"]["location"] == f"{hanoi.url}/Users/{user['id']}"
    assert created.headers["ETag"] == user["meta"]["version"]
    assert user[ENTERPRISE] == {"department": "HNI", "employeeNumber": "HN-1"}  # the client's unit by default
    person = admin_platform.ldap.get_person(login)
    assert person.entry_uuid == user["id"] and person.full_name == "Ngô Thị Thu" and person.mail == f"{login}@hanoi.vn"
    scim_error(hanoi.call("POST", "/Users", json=new_user(login)), 409, "uniqueness")

    path = f"/Users/{user['id']}"
    ops = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "path": "title", "value": "Chuyên viên"},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": f"{login}@hn.vn"},
            {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "HNI-BTC"},
            {"op": "add", "value": {"phoneNumbers": [{"value": "+84 24 1234 5678", "type": "work"}]}},
        ],
    }
    scim_error(hanoi.call("PATCH", path, json=ops, headers={"If-Match": 'W/"old"'}), 412)
    patched = hanoi.call("PATCH", path, json=ops, headers={"If-Match": user["meta"]["version"]})
    assert patched.status_code == 200, patched.text
    person = admin_platform.ldap.get_person(login)
    assert (person.position, person.mail, person.phone) == ("Chuyên viên", f"{login}@hn.vn", "+84 24 1234 5678")
    assert person.unit.code == "HNI-BTC"  # type: ignore[union-attr]
    assert patched.json()["meta"]["version"] != user["meta"]["version"]

    # a new full name with the same family and given names: they stay as given, not split from the full name
    names = {"formatted": "Ngô Thị Thu Hà", "familyName": "Ngô", "givenName": "Thu Hà"}
    renamed = hanoi.call(
        "PATCH", path, json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name", "value": names}]}
    )
    assert renamed.status_code == 200, renamed.text
    person = admin_platform.ldap.get_person(login)
    assert (person.full_name, person.surname, person.given_name) == ("Ngô Thị Thu Hà", "Ngô", "Thu Hà")
    formatted = {"op": "replace", "path": "name.formatted", "value": "Ngô Thị Thu Hà Anh"}
    assert hanoi.call("PATCH", path, json={"schemas": [PATCH], "Operations": [formatted]}).status_code == 200
    person = admin_platform.ldap.get_person(login)
    assert (person.full_name, person.surname, person.given_name) == ("Ngô Thị Thu Hà Anh", "Ngô", "Thu Hà")
    replaced = hanoi.call("PUT", path, json=new_user(login, active=False, **{ENTERPRISE: {"department": "HNI-BTC"}}))
    assert replaced.status_code == 200, replaced.text
    person = admin_platform.ldap.get_person(login)
    assert person.status is AccountStatus.SUSPENDED and person.position is None and person.phone is None
    assert hanoi.call("GET", path).json()["active"] is False

    assert hanoi.call("DELETE", path).status_code == 204
    assert admin_platform.ldap.get_person(login).status is AccountStatus.RETIRED  # kept, disabled
    scim_error(hanoi.call("GET", path), 404)
    found = hanoi.call("GET", "/Users", params={"filter": f'externalId eq "hr-{login}"'}).json()
    assert found["totalResults"] == 0


def test_filters_and_paging(admin_platform: AdminPlatform, hanoi: Provisioner) -> None:
    def ids(filter_text: str) -> set[str]:
        body = hanoi.call("GET", "/Users", params={"filter": filter_text, "count": "500"}).json()
        assert body["totalResults"] == len(body["Resources"]), body
        return {u["userName"] for u in body["Resources"]}

    assert ids('userName eq "TOANVD"') == {"toanvd"}  # userName is case-insensitive
    assert ids('name.familyName eq "Vũ"') >= {"toanvd"}
    assert ids('emails co "toanvd@"') == {"toanvd"}
    assert ids('emails.value sw "toanvd"') == {"toanvd"}
    assert ids('displayName sw "Vũ Đức" and title pr') == {"toanvd"}
    assert ids('userName eq "toanvd" or userName eq "phonglt"') == {"toanvd", "phonglt"}
    assert ids(f'{ENTERPRISE}:department eq "HNI-SOCSON-CB1"') == {"phucdh", "hienlt", "taihv"}
    assert ids('meta.lastModified gt "2000-01-01T00:00:00Z"') >= {"toanvd", "phonglt"}
    assert ids('meta.lastModified lt "2000-01-01T00:00:00Z"') == set()
    assert ids('not (userName ne "toanvd")') == {"toanvd"}
    for bad in ("userName eq", 'userName zz "x"', '(userName eq "x"', "userName eq x"):
        scim_error(hanoi.call("GET", "/Users", params={"filter": bad}), 400, "invalidFilter")
    first = hanoi.call("GET", "/Users", params={"startIndex": "1", "count": "3"}).json()
    second = hanoi.call("GET", "/Users", params={"startIndex": "4", "count": "3"}).json()
    assert first["itemsPerPage"] == 3 and first["startIndex"] == 1 and second["startIndex"] == 4
    assert first["totalResults"] == second["totalResults"] > 6
    assert not {u["id"] for u in first["Resources"]} & {u["id"] for u in second["Resources"]}
    selected = hanoi.call("GET", "/Users", params={"filter": 'userName eq "toanvd"', "attributes": "userName"})
    [only] = selected.json()["Resources"]
    assert set(only) == {"schemas", "id", "userName"}


def test_errors_are_scim_errors_and_change_nothing(
    admin_platform: AdminPlatform, hanoi: Provisioner, unique: Callable[[str], str]
) -> None:
    login = unique("loi")
    scim_error(hanoi.call("POST", "/Users", json={"userName": login}), 400, "invalidValue")  # no schemas
    scim_error(hanoi.call("POST", "/Users", json={"schemas": [USER], "userName": login}), 400, "invalidValue")
    scim_error(hanoi.call("POST", "/Users", data="{not json", headers={"Content-Type": SCIM}), 400, "invalidValue")
    scim_error(hanoi.call("POST", "/Users", json=new_user("Có Dấu")), 400, "invalidValue")
    scim_error(hanoi.call("POST", "/Users", json=new_user(login, password="ngan")), 400, "invalidValue")
    scim_error(hanoi.call("POST", "/Users", json=new_user(login, **{ENTERPRISE: {"department": "KHONGCO"}})), 404)
    assert admin_platform.ldap.find_by_uid(login) is None
    toanvd = admin_platform.ldap.get_person("toanvd").entry_uuid
    rename = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": "khac"}]}
    scim_error(hanoi.call("PATCH", f"/Users/{toanvd}", json=rename), 400, "mutability")
    bad_op = {"schemas": [PATCH], "Operations": [{"op": "move", "path": "title", "value": "x"}]}
    scim_error(hanoi.call("PATCH", f"/Users/{toanvd}", json=bad_op), 400, "invalidValue")
    bad_path = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "a.b.c", "value": "x"}]}
    scim_error(hanoi.call("PATCH", f"/Users/{toanvd}", json=bad_path), 400, "invalidPath")
    no_target = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": 'emails[type eq "home"]', "value": {}}]}
    scim_error(hanoi.call("PATCH", f"/Users/{toanvd}", json=no_target), 400, "noTarget")
    scim_error(hanoi.call("GET", "/Nothing"), 404)
    assert admin_platform.ldap.get_person("toanvd").uid == "toanvd"


def test_groups_and_their_members(
    admin_platform: AdminPlatform, hanoi: Provisioner, unique: Callable[[str], str]
) -> None:
    name = unique("nhom-")
    made = hanoi.call("POST", "/Groups", json={"schemas": [GROUP], "displayName": name, "externalId": f"g-{name}"})
    assert made.status_code == 201, made.text
    assert admin_platform.ldap.get_group(name).unit_code == "HNI"
    member = admin_platform.ldap.get_person("tuyetct").entry_uuid
    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]}
    added = hanoi.call("PATCH", f"/Groups/{name}", json=add, headers={"If-Match": made.headers["ETag"]})
    assert added.status_code == 200, added.text
    assert [m["value"] for m in added.json()["members"]] == [member]
    assert name in admin_platform.ldap.get_person("tuyetct").groups
    remove = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{member}"]'}]}
    scim_error(hanoi.call("PATCH", f"/Groups/{name}", json=remove, headers={"If-Match": made.headers["ETag"]}), 412)
    removed = hanoi.call("PATCH", f"/Groups/{name}", json=remove)
    assert removed.status_code == 200 and "members" not in removed.json()
    assert name not in admin_platform.ldap.get_person("tuyetct").groups
    # a group nested through SCIM: within reach only
    child = unique("con-")
    assert hanoi.call("POST", "/Groups", json={"schemas": [GROUP], "displayName": child}).status_code == 201
    nest = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": child, "type": "Group"}]}],
    }
    nested = hanoi.call("PATCH", f"/Groups/{name}", json=nest)
    assert nested.status_code == 200, nested.text
    assert [m["value"] for m in nested.json()["members"]] == [child]
    bnh = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": "ky-so-bnh", "type": "Group"}]}],
    }
    scim_error(hanoi.call("PATCH", f"/Groups/{name}", json=bnh), 404)
    unnest = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{child}"]'}]}
    assert "members" not in hanoi.call("PATCH", f"/Groups/{name}", json=unnest).json()
    assert admin_platform.ldap.get_group(name).members == ()
    found = hanoi.call("GET", "/Groups", params={"filter": f'externalId eq "g-{name}"'}).json()
    assert [g["id"] for g in found["Resources"]] == [name]
    assert hanoi.call("DELETE", f"/Groups/{name}").status_code == 204
    with pytest.raises(NotFoundError):
        admin_platform.ldap.get_group(name)


def test_discovery_documents(hanoi: Provisioner) -> None:
    config = hanoi.call("GET", "/ServiceProviderConfig").json()
    assert config["patch"]["supported"] and config["etag"]["supported"] and config["filter"]["supported"]
    assert "retires" in config["authenticationSchemes"][0]["description"]  # DELETE = disable, said so
    types = {t["id"]: t for t in hanoi.call("GET", "/ResourceTypes").json()["Resources"]}
    assert types["User"]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": True}]
    schemas = {s["id"] for s in hanoi.call("GET", "/Schemas").json()["Resources"]}
    assert schemas == {USER, GROUP, ENTERPRISE}
    assert hanoi.call("GET", f"/Schemas/{ENTERPRISE}").json()["attributes"][1]["name"] == "department"


def test_a_directory_that_is_down_answers_a_scim_503(admin_platform: AdminPlatform, hanoi: Provisioner) -> None:
    from flask import Flask

    from admin.scim.groups import ScimGroups
    from admin.scim.store import ExternalIds
    from admin.scim.users import ScimUsers
    from admin.scim.views import EXTENSION_KEY, ScimState, register
    from tests.admin.test_writes import service_without_directory

    service = service_without_directory(admin_platform)
    external_ids = ExternalIds(admin_platform.instance.database)
    live = admin_platform.app.extensions[EXTENSION_KEY]
    state = ScimState(
        ScimUsers(service, external_ids, hanoi.url),
        ScimGroups(service, external_ids, hanoi.url),
        service.units,
        live.verifier,
        service.delegation.client_exists,
    )
    app = Flask("down")
    register(app, state)
    answer = app.test_client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {hanoi.token}"})
    assert answer.status_code == 503 and answer.content_type.startswith(SCIM)
    assert answer.json == {"schemas": [ERROR], "status": "503", "detail": "the directory cannot be reached; try again"}
    service.officials.directory.close()


# -- every route ----------------------------------------------------------------------------------------------

DISCOVERY = ("/scim/v2/ServiceProviderConfig", "/scim/v2/Schemas", "/scim/v2/ResourceTypes")


def test_every_scim_route_refuses_a_client_of_another_province(admin_platform: AdminPlatform) -> None:
    """Each route of /scim/v2 (whatever a later session adds), tried anonymously and by a Bắc Ninh provisioning
    client aimed at Hà Nội's official and group: 401, or the 404 of a resource that is not there; nothing changes."""
    bac_ninh = provisioner(admin_platform, "BNH", "Phần mềm nhân sự Bắc Ninh")
    toanvd = admin_platform.ldap.get_person("toanvd").entry_uuid
    targets = {"Users": toanvd, "Groups": "ky-so-hni"}
    user_body = new_user("toanvd", **{ENTERPRISE: {"department": "HNI"}})
    bodies = {
        "Users": user_body,
        "Groups": {"schemas": [GROUP], "displayName": "ky-so-hni", "members": [{"value": toanvd}]},
    }
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Bị sửa"}]}
    tried = 0
    for rule in admin_platform.app.url_map.iter_rules():
        if not rule.rule.startswith("/scim/v2") or rule.rule.startswith(DISCOVERY) or "<path:" in rule.rule:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for kind, target in targets.items():
                path = rule.rule.replace("<any(Users, Groups):kind>", kind).replace("<resource_id>", target)
                wanted = 'userName eq "toanvd"' if kind == "Users" else 'displayName eq "ky-so-hni"'
                search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": wanted}
                body = patch if method == "PATCH" else search if path.endswith(".search") else bodies[kind]
                anonymous = requests.request(method, admin_platform.base_url + path, json=body, timeout=10)
                scim_error(anonymous, 401)
                if method == "POST" and path.endswith(("/Users", "/Groups")):
                    continue  # creating is tried below, where it would land in Hà Nội
                params = {"filter": wanted} if method == "GET" else None
                answer = bac_ninh.call(method, path.removeprefix("/scim/v2"), json=body, params=params)
                if (method == "GET" and "<resource_id>" not in rule.rule) or path.endswith(".search"):
                    # listing and searching: an empty page, never Hà Nội's
                    assert answer.status_code == 200, (method, path, answer.text)
                    assert answer.json()["totalResults"] == 0 and toanvd not in answer.text, (method, path)
                    continue
                scim_error(answer, 404)
                tried += 1
    assert tried >= 6
    scim_error(bac_ninh.call("POST", "/Users", json=user_body), 404)
    toan = admin_platform.ldap.get_person("toanvd")
    assert toan.position == "Chánh Văn phòng Thành ủy" and toan.active and "ky-so-hni" in toan.groups
