"""``POST /api/admin/officials/bulk``: one action on many officials, each changed by the single action's own
operation (delegation per official, audit before/after, disabling's consequences), each reported; a login out of the
caller's units refused for its row only; the unit or group out of reach refusing the whole request."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from antin.kernel.audit import AuditEvent
from directory.models import AccountStatus, NewPerson, PersonChanges
from idp.oidc import resource_server_checks
from signing.service import signing_service
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.admin.test_api import problem
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser, RelyingParty

pytestmark = pytest.mark.slapd

BULK = "/api/admin/officials/bulk"


def officials(platform: AdminPlatform, unique: Callable[[str], str], unit: str, count: int) -> list[str]:
    """``count`` new officials in ``unit``, made for this test."""
    logins = [unique(f"hl{n}") for n in range(count)]
    for n, login in enumerate(logins):
        platform.ldap.create_person(
            NewPerson(uid=login, full_name=f"Nguyễn Văn Hàng {n}", unit_code=unit, password=PASSWORD)
        )
    return logins


def bulk(platform: AdminPlatform, caller: str | None, **body: Any) -> requests.Response:
    return platform.call("POST", BULK, caller, json=body)


def results(response: requests.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {row["login"]: row for row in response.json()["results"]}


def unit_of(platform: AdminPlatform, login: str) -> str | None:
    unit = platform.ldap.get_person(login).unit
    return unit.code if unit else None


def test_three_officials_are_moved_after_a_dry_run_each_audited(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    logins = officials(admin_platform, unique, "BNH-VP", 3)
    planned = bulk(admin_platform, "tuanbv", action="move", logins=logins, unit="BNH-BTC", dry_run=True)
    rows = results(planned)
    assert planned.json()["dry_run"] is True and planned.json()["to_change"] == 3
    assert [rows[login]["outcome"] for login in logins] == ["change"] * 3
    assert rows[logins[0]]["before"] == {"unit": "BNH-VP", "unit_name": "Văn phòng Tỉnh ủy Bắc Ninh"}
    assert rows[logins[0]]["after"] == {"unit": "BNH-BTC", "unit_name": "Ban Tổ chức Tỉnh ủy Bắc Ninh"}
    assert [unit_of(admin_platform, login) for login in logins] == ["BNH-VP"] * 3  # a dry run changes nothing

    done = bulk(admin_platform, "tuanbv", action="move", logins=logins, unit="BNH-BTC")
    rows = results(done)
    assert done.json()["changed"] == 3 and done.json()["refused"] == 0
    assert [rows[login]["outcome"] for login in logins] == ["changed"] * 3
    assert [unit_of(admin_platform, login) for login in logins] == ["BNH-BTC"] * 3
    tuanbv = admin_platform.ldap.get_person("tuanbv").entry_uuid
    for login in logins:  # each official audited on their own, as the single move is
        [entry] = admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_USER_MOVE, subject=login)
        assert entry.actor == tuanbv
        assert entry.details["before"] == {"unit_path": ["BNH-VP", "BNH", "TW"]}
        assert entry.details["after"] == {"unit_path": ["BNH-BTC", "BNH", "TW"]}

    again = results(bulk(admin_platform, "tuanbv", action="move", logins=logins, unit="BNH-BTC"))
    assert {row["reason"] for row in again.values()} == {"already-in-unit"}


def test_a_login_outside_the_subtree_is_refused_for_its_row_only(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    [mine] = officials(admin_platform, unique, "BNH-KINHBAC", 1)
    wanted = [mine, "toanvd", "khongaiday", "*)(uid=*"]  # Hà Nội's, nobody, a filter probe
    rows = results(bulk(admin_platform, "tuanbv", action="disable", logins=wanted))
    assert rows[mine]["outcome"] == "changed"
    for stranger in wanted[1:]:
        row = rows[stranger]
        # Hà Nội's official reads exactly like nobody: no name, no version, the same reason
        assert (row["outcome"], row["reason"], row["full_name"], row["version"]) == ("refused", "not-found", None, None)
        assert row["before"] == row["after"] == {}
    assert not admin_platform.ldap.get_person(mine).active
    toanvd = admin_platform.ldap.get_person("toanvd")
    assert toanvd.active
    assert not list(admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_USER_DISABLE, subject="toanvd"))


def test_a_bulk_disable_ends_sessions_and_revokes_tokens_and_certificates_as_the_single_one(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    first, second = officials(admin_platform, unique, "BNH-PHATTICH", 2)
    instance = admin_platform.instance
    certificate = signing_service(instance).issue_certificate(first)
    rp = RelyingParty.register(admin_platform)  # type: ignore[arg-type]
    browser = Browser(admin_platform.issuer)
    tokens = rp.code_flow(browser, username=first, password=PASSWORD)
    jti = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "==").decode())["jti"]
    checks = resource_server_checks(instance)
    assert not checks.access_token_revoked(jti)

    rows = results(bulk(admin_platform, "tuanbv", action="disable", logins=[first, second], status="retired"))
    assert rows[first]["before"] == {"status": "active"} and rows[first]["after"] == {"status": "retired"}
    assert {row["outcome"] for row in rows.values()} == {"changed"}
    assert admin_platform.ldap.get_person(first).status is AccountStatus.RETIRED
    assert checks.access_token_revoked(jti)
    assert rp.authorize(browser, prompt="none").params["error"] == "login_required"
    refresh = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert signing_service(instance).ca.get(certificate.serial).status == "revoked"
    [entry] = instance.audit.entries(event=AuditEvent.DIRECTORY_USER_DISABLE, subject=first)
    assert entry.details["certificates_revoked"] == [certificate.serial] and entry.details["before"] == "active"

    again = results(bulk(admin_platform, "tuanbv", action="disable", logins=[first], status="retired"))
    assert again[first]["reason"] == "already-disabled"
    enabled = results(bulk(admin_platform, "tuanbv", action="enable", logins=[first, second, "tuanbv"]))
    assert (enabled[first]["outcome"], enabled[second]["outcome"]) == ("changed", "changed")
    assert enabled["tuanbv"]["reason"] == "already-active"
    assert admin_platform.ldap.get_person(first).active and admin_platform.ldap.get_person(second).active
    assert len(list(instance.audit.entries(event=AuditEvent.DIRECTORY_USER_ENABLE, subject=first))) == 1


def test_an_administrator_cannot_disable_themselves_in_a_list(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    [other] = officials(admin_platform, unique, "BNH-VP", 1)
    rows = results(bulk(admin_platform, "tuanbv", action="disable", logins=["TuanBV", other]))
    assert rows["tuanbv"]["reason"] == "self" and rows[other]["outcome"] == "changed"
    assert admin_platform.ldap.get_person("tuanbv").active


def test_officials_are_added_to_and_removed_from_a_group(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    group = admin_platform.service.groups.create(OPERATOR, unique("nhom"), "BNH", "Tổ công tác").group.name
    logins = officials(admin_platform, unique, "BNH-BTC", 2)
    rows = results(bulk(admin_platform, "tuanbv", action="add_to_group", group=group, logins=[*logins, "toanvd"]))
    assert [rows[login]["outcome"] for login in logins] == ["changed", "changed"]
    assert rows["toanvd"]["reason"] == "not-found"
    assert set(admin_platform.service.groups.get(OPERATOR, group).logins) == set(logins)
    for login in logins:
        [entry] = admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_GROUP_MEMBER_ADD, subject=login)
        assert entry.details == {"group": group, "before": {"member": False}, "after": {"member": True}}

    again = results(bulk(admin_platform, "tuanbv", action="add_to_group", group=group, logins=logins))
    assert {row["reason"] for row in again.values()} == {"already-member"}
    removed = results(bulk(admin_platform, "tuanbv", action="remove_from_group", group=group, logins=logins[:1]))
    assert removed[logins[0]]["outcome"] == "changed"
    assert admin_platform.service.groups.get(OPERATOR, group).logins == (logins[1],)
    gone = results(bulk(admin_platform, "tuanbv", action="remove_from_group", group=group, logins=logins[:1]))
    assert gone[logins[0]]["reason"] == "not-member"


def test_a_unit_or_group_out_of_reach_refuses_the_whole_request(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    logins = officials(admin_platform, unique, "BNH-VP", 2)
    problem(bulk(admin_platform, "tuanbv", action="move", logins=logins, unit="HNI-VP"), 404)
    problem(bulk(admin_platform, "tuanbv", action="move", logins=logins, unit="KHONG-CO"), 404)
    problem(bulk(admin_platform, "tuanbv", action="add_to_group", logins=logins, group="ky-so-hni"), 404)
    assert [unit_of(admin_platform, login) for login in logins] == ["BNH-VP", "BNH-VP"]
    assert not any(
        "ky-so-hni" in admin_platform.ldap.get_person(login).groups for login in logins
    )  # nothing changed for anyone


def test_callers_without_the_power_are_refused_whole(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    logins = officials(admin_platform, unique, "BNH-VP", 1)
    problem(bulk(admin_platform, None, action="disable", logins=logins), 401)
    problem(bulk(admin_platform, "huongdt", action="disable", logins=logins), 403)  # no grants
    problem(bulk(admin_platform, "yenht", action="disable", logins=logins), 403)  # Bắc Ninh's auditor: reads only
    problem(bulk(admin_platform, "kiendm", action="move", logins=logins, unit="BNH-BTC"), 403)  # clients only
    assert admin_platform.ldap.get_person(logins[0]).active and unit_of(admin_platform, logins[0]) == "BNH-VP"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "delete", "logins": ["x"]}, "action"),
        ({"logins": ["x"]}, "action"),
        ({"action": "disable", "logins": "x"}, "logins"),
        ({"action": "disable", "logins": []}, "logins"),
        ({"action": "disable", "logins": [1, 2]}, "logins"),
        ({"action": "disable", "logins": ["x"], "status": "active"}, "status"),
        ({"action": "move", "logins": ["x"]}, "unit"),
        ({"action": "move", "logins": ["x"], "unit": 7}, "unit"),
        ({"action": "add_to_group", "logins": ["x"]}, "group"),
        ({"action": "disable", "logins": ["x"], "dry_run": "yes"}, "dry_run"),
        ({"action": "disable", "logins": ["x"], "versions": ["v"]}, "versions"),
    ],
)
def test_a_bad_body_is_a_clear_400(admin_platform: AdminPlatform, body: dict[str, Any], field: str) -> None:
    refused = problem(admin_platform.call("POST", BULK, "tuanbv", json=body), 400)
    assert field in str(refused["detail"])


def test_more_logins_than_the_setting_allows_is_refused_whole(admin_platform: AdminPlatform) -> None:
    limit = admin_platform.service.bulk_edits.max_logins
    assert limit == 200  # [admin] bulk_max_logins' default
    too_many = [f"khongco{n}" for n in range(limit + 1)]
    refused = problem(bulk(admin_platform, "tuanbv", action="disable", logins=too_many), 400)
    assert refused["type"] == "urn:antin:problem:too-many-logins" and "at most 200" in str(refused["detail"])
    # the same login twice (in any case) counts once
    rows = bulk(admin_platform, "tuanbv", action="disable", logins=["khongco1"] * (limit + 1) + ["KHONGCO1"])
    assert len(results(rows)) == 1


def test_an_official_changed_since_the_dry_run_is_refused_with_the_versions(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    first, second = officials(admin_platform, unique, "BNH-VP", 2)
    planned = results(bulk(admin_platform, "tuanbv", action="disable", logins=[first, second], dry_run=True))
    versions = {login: row["version"] for login, row in planned.items()}
    admin_platform.ldap.modify_person(second, PersonChanges(position="Phó Chánh Văn phòng"))  # someone else's edit
    rows = results(bulk(admin_platform, "tuanbv", action="disable", logins=[first, second], versions=versions))
    assert rows[first]["outcome"] == "changed"
    assert (rows[second]["outcome"], rows[second]["reason"]) == ("refused", "changed-meanwhile")
    assert admin_platform.ldap.get_person(second).active


def test_the_bulk_edit_is_in_the_openapi_document(admin_platform: AdminPlatform) -> None:
    doc = requests.get(admin_platform.base_url + "/api/openapi.json", timeout=10).json()
    operation = doc["paths"][BULK]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AdminBulkEdit"
    }
    actions = doc["components"]["schemas"]["AdminBulkEdit"]["properties"]["action"]["enum"]
    assert actions == ["disable", "enable", "move", "add_to_group", "remove_from_group"]
    report = doc["components"]["schemas"]["AdminBulkEditReport"]["properties"]
    # what the API answers is what the document describes, field by field
    answer = bulk(admin_platform, "tuanbv", action="enable", logins=["sonpx", "toanvd"], dry_run=True).json()
    assert set(answer) <= set(report) and answer["results"]
    for row in answer["results"]:
        assert set(row) == set(report["results"]["items"]["properties"])
        assert row["outcome"] in report["results"]["items"]["properties"]["outcome"]["enum"]


def test_a_directory_that_is_down_is_a_clear_error_and_changes_nothing(admin_platform: AdminPlatform) -> None:
    """The plan reads every official in one search before anything changes: with the directory down it raises (the
    API's 503 directory-unavailable, the console's 503 page) and no row is half-done."""
    from directory.errors import DirectoryUnavailableError
    from tests.admin.test_writes import service_without_directory

    service = service_without_directory(admin_platform)
    dungpt = service.actor(admin_platform.ldap.get_person("dungpt").entry_uuid)
    wanted = service.bulk_edits.parse("disable", ["sonpx"])
    with pytest.raises(DirectoryUnavailableError):
        service.bulk_edits.apply(dungpt, wanted)
    assert admin_platform.ldap.get_person("sonpx").active
    service.officials.directory.close()
