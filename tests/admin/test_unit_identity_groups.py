"""Groups scoped to a unit are bound to the unit's identity (``antinScopeUnitUUID``, its entryUUID), not only its code
(``antinScopeUnitCode``), against the real slapd: a unit deleted and a new one created with the same code, in another
province, does not make the old unit's group that province's (its administrators neither see nor change it: orphaned,
the platform's alone), while a unit renamed or moved keeps its groups."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from directory.ldap_client import Modification
from directory.models import GROUP_UNIT_GONE, UnitKind
from tests.admin.conftest import AdminPlatform
from tests.admin.test_api import problem

pytestmark = pytest.mark.slapd


def make_unit(platform: AdminPlatform, code: str, parent: str) -> str:
    return platform.ldap.create_unit(code, "Ban Tuyên giáo", UnitKind.DEPARTMENT, parent).entry_uuid


def test_a_new_unit_given_a_deleted_units_code_does_not_get_its_groups(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    call = admin_platform.call
    code = unique("BNH-GX").upper()
    unit_uuid = make_unit(admin_platform, code, "BNH")
    name = f"lanh-dao-{code.lower()}"
    made = call("POST", "/api/admin/groups", "tuanbv", json={"name": name, "unit": code, "role": True})
    assert made.status_code == 201 and made.json()["orphaned"] is False, made.text
    assert admin_platform.ldap.get_group(name).unit_uuid == unit_uuid
    member = admin_platform.new_official("BNH-VP", unique)
    admin_platform.ldap.add_member(name, uid=member)

    admin_platform.ldap.delete_unit(code)
    make_unit(admin_platform, code, "HNI")  # the same code, now Hà Nội's

    # Hà Nội's administrator, whose subtree the code now names, neither sees nor changes the group
    problem(call("GET", f"/api/admin/groups/{name}", "hieunm"), 404)
    assert name not in {g["name"] for g in call("GET", "/api/admin/groups", "hieunm").json()["items"]}
    in_unit = call("GET", "/api/admin/groups", "hieunm", params={"unit": code}).json()["items"]
    assert name not in {g["name"] for g in in_unit}
    problem(call("POST", f"/api/admin/groups/{name}/members", "hieunm", json={"login": "toanvd"}), 404)
    problem(call("DELETE", f"/api/admin/groups/{name}", "hieunm"), 404)
    # nor does Bắc Ninh's (the unit it was given on is gone); the platform sees it, orphaned, and may delete it
    problem(call("GET", f"/api/admin/groups/{name}", "tuanbv"), 404)
    seen = call("GET", f"/api/admin/groups/{name}", "dungpt")
    assert seen.status_code == 200 and seen.json()["orphaned"] is True and seen.json()["unit"] == code
    everything = {g["name"]: g["orphaned"] for g in call("GET", "/api/admin/groups", "dungpt").json()["items"]}
    assert everything[name] is True
    gone = call("DELETE", f"/api/admin/groups/{name}", "dungpt", headers={"If-Match": seen.headers["ETag"]})
    assert gone.status_code == 204, gone.text
    # the new unit's administrators make its own group of that name
    again = call("POST", "/api/admin/groups", "hieunm", json={"name": name, "unit": code, "role": True})
    assert again.status_code == 201 and again.json()["orphaned"] is False, again.text


def test_a_renamed_or_moved_unit_keeps_its_groups(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    call = admin_platform.call
    code = unique("BNH-GY").upper()
    make_unit(admin_platform, code, "BNH")
    name = f"van-thu-{code.lower()}"
    assert call("POST", "/api/admin/groups", "tuanbv", json={"name": name, "unit": code}).status_code == 201
    admin_platform.ldap.modify_unit(code, name="Ban Tuyên giáo (tên mới)")
    admin_platform.ldap.move_unit(code, "BNH-KINHBAC")
    seen = call("GET", f"/api/admin/groups/{name}", "tuanbv")
    assert seen.status_code == 200 and seen.json()["orphaned"] is False
    admin_platform.ldap.move_unit(code, "HNI")  # Hà Nội's now, with its group
    try:
        problem(call("GET", f"/api/admin/groups/{name}", "tuanbv"), 404)
        assert call("GET", f"/api/admin/groups/{name}", "hieunm").json()["orphaned"] is False
    finally:  # Hà Nội's group lists, as the other tests of the session read them
        admin_platform.ldap.move_unit(code, "BNH")


def test_a_group_scoped_before_groups_were_bound_is_bound_at_first_sight(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    ldap = admin_platform.ldap
    live, gone = unique("BNH-GL").upper(), unique("BNH-GG").upper()
    live_uuid = make_unit(admin_platform, live, "BNH")
    make_unit(admin_platform, gone, "BNH")
    names = {code: f"nhom-{code.lower()}" for code in (live, gone)}
    for code, name in names.items():
        group = ldap.create_group(name, "Nhóm cũ", unit_code=code)
        # as an earlier version made it: the code alone
        ldap.pool.run(lambda c, dn=group.dn: c.modify(dn, [Modification("replace", "antinScopeUnitUUID", [])]))
        assert ldap.get_group(name).unit_uuid is None
    ldap.delete_unit(gone)
    admin_platform.service.groups._scopes_bound = False  # a process started after the upgrade

    assert admin_platform.call("GET", f"/api/admin/groups/{names[live]}", "tuanbv").json()["orphaned"] is False
    assert ldap.get_group(names[live]).unit_uuid == live_uuid
    assert ldap.get_group(names[gone]).unit_uuid == GROUP_UNIT_GONE
    make_unit(admin_platform, gone, "BNH")  # made after the group was bound: it does not get it
    problem(admin_platform.call("GET", f"/api/admin/groups/{names[gone]}", "tuanbv"), 404)
