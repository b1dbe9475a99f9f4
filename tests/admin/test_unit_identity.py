"""Grants and OIDC clients are bound to their unit's identity (its entryUUID), not only its code, against the real
slapd: a unit deleted and a new one created with the same code inherits neither the old one's administrators nor its
clients (they are orphaned: they cover nothing, and only the platform sees and clears them up), while a unit renamed
or moved keeps both."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from admin.cli import admin as admin_cli
from admin.delegation import Actor
from admin.errors import NotPermittedError, OutOfReachError
from admin.models import AdminAction, AdminGrant
from admin.unit_identity import UNIT_GONE
from antin.kernel.audit import AuditEvent
from directory.models import NewPerson
from idp.oidc.clients import ClientSpec
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.admin.test_api import problem
from tests.admin.test_clients_api import CB, register

pytestmark = pytest.mark.slapd


def actor(platform: AdminPlatform, login: str) -> Actor:
    return Actor.administrator(platform.ldap.get_person(login).entry_uuid)


def new_unit(platform: AdminPlatform, code: str, parent: str) -> str:
    return platform.ldap.create_unit(code, f"Đơn vị {code}", "department", parent).entry_uuid


def listed(platform: AdminPlatform, *args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(admin_cli, ["list", "--json", *args], obj=platform.instance)
    assert result.exit_code == 0, result.output
    grants: list[dict[str, object]] = json.loads(result.output)
    return grants


def test_a_new_unit_given_a_deleted_units_code_inherits_none_of_its_grants(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    delegation = admin_platform.service.delegation
    code = unique("BNH-X").upper()
    new_unit(admin_platform, code, "BNH")
    login = admin_platform.new_official("BNH", unique)  # lives outside the unit, so that it can be deleted
    granted = delegation.grant(OPERATOR, login, "unit-admin", code)
    holder = actor(admin_platform, login)
    assert delegation.authorize_unit(holder, AdminAction.OFFICIALS_WRITE, code)[:2] == [code, "BNH"]

    admin_platform.ldap.delete_unit(code)
    new_unit(admin_platform, code, "HNI")  # the same code, elsewhere: Hà Nội's now

    with pytest.raises(NotPermittedError):  # their only grant is void: they hold nothing anywhere
        delegation.authorize_unit(holder, AdminAction.OFFICIALS_WRITE, code)
    with pytest.raises(NotPermittedError):
        delegation.authorize_unit(holder, AdminAction.OFFICIALS_READ, "HNI")
    assert delegation.reach(holder, AdminAction.OFFICIALS_READ) == []
    assert delegation.actions_held(holder) == set()
    # over HTTP too: the new unit's officials are not theirs to list
    problem(admin_platform.call("GET", "/api/admin/officials", login, params={"unit": code}), 403)

    # listed as orphaned, to the operator and to the holder; Hà Nội's administrator, whose subtree the code now
    # names, does not see it (nor may revoke it); a platform administrator does, and may
    (row,) = [g for g in listed(admin_platform, "--login", login)]
    assert (row["id"], row["unit"], row["orphaned"]) == (granted.id, code, True)
    text = CliRunner().invoke(admin_cli, ["list", "--login", login], obj=admin_platform.instance).output
    assert "ORPHANED" in text
    assert [g.orphaned for g in delegation.grants(holder)] == [True]
    hanoi = actor(admin_platform, "hieunm")
    assert granted.id not in {g.id for g in delegation.grants(hanoi)}
    with pytest.raises(OutOfReachError):
        delegation.revoke(hanoi, granted.id)
    platform_admin = actor(admin_platform, "dungpt")
    seen = {g.id: g.orphaned for g in delegation.grants(platform_admin)}
    assert seen[granted.id] is True
    assert delegation.revoke(platform_admin, granted.id).orphaned


def test_granting_again_on_the_new_unit_replaces_the_orphaned_grant(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    delegation = admin_platform.service.delegation
    code = unique("BNH-Y").upper()
    new_unit(admin_platform, code, "BNH")
    login = admin_platform.new_official("BNH", unique)
    old = delegation.grant(OPERATOR, login, "auditor", code)
    admin_platform.ldap.delete_unit(code)
    new_unit(admin_platform, code, "BNH")
    bac_ninh = actor(admin_platform, "tuanbv")
    renewed = delegation.grant(bac_ninh, login, "auditor", code)  # Bắc Ninh's to give: not "already holds"
    assert (renewed.granted_by, renewed.orphaned) == (bac_ninh.name, False)
    assert [g["id"] for g in listed(admin_platform, "--login", login)] == [renewed.id]
    delegation.authorize_unit(actor(admin_platform, login), AdminAction.OFFICIALS_READ, code)
    newest = next(admin_platform.instance.audit.entries(event=AuditEvent.ADMIN_GRANT_ADD, subject=login))
    assert (newest.details["grant"], newest.details["replaces_orphaned"]) == (renewed.id, old.id)


def test_a_renamed_or_moved_unit_keeps_its_grants(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    delegation = admin_platform.service.delegation
    code = unique("BNH-Z").upper()
    new_unit(admin_platform, code, "BNH")
    login = admin_platform.new_official(code, unique)  # an official of the unit, who moves with it
    administrator = unique("qt")
    admin_platform.ldap.create_person(NewPerson(uid=administrator, full_name="Lê Văn Quản", unit_code="BNH"))
    granted = delegation.grant(OPERATOR, administrator, "unit-admin", code)
    holder = Actor.administrator(granted.subject)

    admin_platform.ldap.modify_unit(code, name="Ban Tổ chức (tên mới)")
    admin_platform.ldap.move_unit(code, "HNI")  # a whole unit moved to another province, officials and all
    try:
        assert delegation.authorize_unit(holder, AdminAction.OFFICIALS_WRITE, code)[:2] == [code, "HNI"]
        person = admin_platform.ldap.get_person(login)
        path = [code, "HNI", "TW"]
        delegation.authorize(holder, AdminAction.OFFICIALS_WRITE, path, target=("official", person.uid))
        assert delegation.reach(holder, AdminAction.OFFICIALS_READ) == [code]
        assert [g.orphaned for g in delegation.grants(OPERATOR) if g.id == granted.id] == [False]
    finally:  # the other tests of the session count on Hà Nội's officials being in units named HNI…
        admin_platform.ldap.move_unit(code, "BNH")


def test_a_grant_made_before_units_were_bound_is_bound_at_first_check(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    """A row of an earlier version (no entryUUID): bound to the unit that has its code when first seen; one whose
    unit was already gone is marked orphaned then, so that a unit created later with that code gets nothing."""
    delegation = admin_platform.service.delegation
    live, gone = unique("BNH-L").upper(), unique("BNH-G").upper()
    live_uuid = new_unit(admin_platform, live, "BNH")
    login = admin_platform.new_official("BNH", unique)
    subject = admin_platform.ldap.get_person(login).entry_uuid
    now = admin_platform.instance.clock.now()
    with admin_platform.instance.database.session() as s:
        for code in (live, gone):
            s.add(AdminGrant(subject=subject, role="auditor", unit_code=code, granted_by="cli:old", granted_at=now))
    holder = Actor.administrator(subject)

    assert delegation.units_holding(holder, AdminAction.OFFICIALS_READ) == [live]
    with admin_platform.instance.database.reading() as s:
        stored = dict(
            s.execute(select(AdminGrant.unit_code, AdminGrant.unit_uuid).where(AdminGrant.subject == subject)).all()
        )
    assert stored == {live: live_uuid, gone: UNIT_GONE}
    new_unit(admin_platform, gone, "BNH")
    assert delegation.units_holding(holder, AdminAction.OFFICIALS_READ) == [live]


def test_a_new_unit_given_a_deleted_units_code_inherits_none_of_its_clients(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    code = unique("BNH-C").upper()
    new_unit(admin_platform, code, "BNH-KINHBAC")
    made = register(admin_platform, "kiendm", redirect_uris=[CB], unit=code)  # Bắc Ninh's client manager
    assert made.status_code == 201, made.text
    client_id = made.json()["client_id"]
    admin_platform.ldap.delete_unit(code)
    new_unit(admin_platform, code, "BNH")  # again in Bắc Ninh: still the province's, yet not the same unit

    path = f"/api/admin/clients/{client_id}"
    problem(admin_platform.call("GET", path, "kiendm"), 404)
    problem(admin_platform.call("POST", path + "/disable", "kiendm"), 404)
    listing = admin_platform.call("GET", "/api/admin/clients", "kiendm").json()["items"]
    assert client_id not in {c["client_id"] for c in listing}
    in_unit = admin_platform.call("GET", "/api/admin/clients", "kiendm", params={"unit": code}).json()["items"]
    assert client_id not in {c["client_id"] for c in in_unit}
    # the platform's client managers still manage it, see that it is orphaned, and may give it a unit again
    seen = admin_platform.call("GET", path, "dungpt")
    assert seen.status_code == 200 and seen.json()["orphaned"] is True
    everyone = admin_platform.call("GET", "/api/admin/clients", "dungpt", params={"q": client_id}).json()["items"]
    assert {c["client_id"]: c["orphaned"] for c in everyone}[client_id] is True
    clients = admin_platform.service.clients
    record = admin_platform.provider.clients.get(client_id)
    assert record is not None and clients.orphaned(record)
    current = admin_platform.call("GET", path, "dungpt")
    moved = admin_platform.call(
        "PATCH", path, "dungpt", headers={"If-Match": current.headers["ETag"]}, json={"unit": code}
    )
    assert moved.status_code == 200, moved.text
    again = admin_platform.call("GET", path, "kiendm")
    assert again.status_code == 200 and again.json()["orphaned"] is False


def test_a_renamed_or_moved_unit_keeps_its_clients(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    code = unique("BNH-D").upper()
    new_unit(admin_platform, code, "BNH")
    made = register(admin_platform, "kiendm", redirect_uris=[CB], unit=code)
    assert made.status_code == 201, made.text
    admin_platform.ldap.modify_unit(code, name="Văn phòng (tên mới)")
    admin_platform.ldap.move_unit(code, "BNH-KINHBAC")
    assert admin_platform.call("GET", made.headers["Location"], "kiendm").status_code == 200
    admin_platform.ldap.move_unit(code, "HNI")  # now Hà Nội's client managers' and no longer Bắc Ninh's
    try:
        problem(admin_platform.call("GET", made.headers["Location"], "kiendm"), 404)
        assert admin_platform.call("GET", made.headers["Location"], "quyenlt").status_code == 200
    finally:  # Hà Nội's client list, as the other tests of the session read it
        admin_platform.ldap.move_unit(code, "BNH")


def test_a_client_registered_before_units_were_bound_is_bound_at_first_sight(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    provider = admin_platform.provider
    old, _secret = provider.clients.add(ClientSpec(name="Cũ", redirect_uris=(CB,), unit_code="HNI-VP"))  # a code only
    assert old.unit_uuid is None
    assert admin_platform.call("GET", f"/api/admin/clients/{old.client_id}", "quyenlt").status_code == 200
    bound = provider.clients.get(old.client_id)
    assert bound is not None and bound.unit_uuid == admin_platform.ldap.get_unit("HNI-VP").entry_uuid

    gone = unique("HNI-G").upper()
    record, _secret = provider.clients.add(ClientSpec(name="Cũ", redirect_uris=(CB,), unit_code=gone))
    assert record.unit_uuid is None
    problem(admin_platform.call("GET", f"/api/admin/clients/{record.client_id}", "quyenlt"), 404)
    new_unit(admin_platform, gone, "HNI")  # made after the client was first seen: it does not get it
    problem(admin_platform.call("GET", f"/api/admin/clients/{record.client_id}", "quyenlt"), 404)
    again = provider.clients.get(record.client_id)
    assert again is not None and again.unit_uuid == UNIT_GONE


def test_the_cli_binds_a_client_to_its_units_identity(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    from idp.oidc.cli import clients as clients_cli

    code = unique("BNH-E").upper()
    unit_uuid = new_unit(admin_platform, code, "BNH")
    args = ["add", "--name", "Hồ sơ", "--redirect-uri", CB, "--unit", code.lower(), "--json"]
    result = CliRunner().invoke(clients_cli, args, obj=admin_platform.instance)
    assert result.exit_code == 0, result.output
    record = admin_platform.provider.clients.get(json.loads(result.output)["client_id"])
    assert record is not None and (record.unit_code, record.unit_uuid) == (code, unit_uuid)
