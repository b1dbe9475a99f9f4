"""Delegation in the service layer, against the real slapd's demo tree: a role on a unit covers its subtree and
nothing else; one grants only within what one holds; every grant and revocation is in the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from admin.cli import admin as admin_cli
from admin.delegation import Actor, covers
from admin.errors import GrantRefusedError, NotPermittedError, OutOfReachError
from admin.models import AdminAction
from antin.kernel.audit import AuditEvent
from tests.admin.conftest import OPERATOR, AdminPlatform

pytestmark = pytest.mark.slapd


def actor(platform: AdminPlatform, login: str) -> Actor:
    return Actor.administrator(platform.ldap.get_person(login).entry_uuid)


def test_a_grant_covers_the_units_whole_subtree_and_nothing_beside_it() -> None:
    assert covers(["BNH"], ["BNH-PHATTICH-CB1", "BNH-PHATTICH", "BNH", "TW"])
    assert not covers(["BNH"], ["HNI-SOCSON", "HNI", "TW"])
    assert not covers(["BNH"], [])  # an official outside every unit
    assert covers(["*"], [])
    assert not covers(["BNH-VP"], ["BNH", "TW"])  # a department does not cover its committee


def test_a_provincial_administrator_may_act_deep_in_the_province_only(admin_platform: AdminPlatform) -> None:
    delegation = admin_platform.service.delegation
    bac_ninh = actor(admin_platform, "tuanbv")
    path = delegation.authorize_unit(bac_ninh, AdminAction.OFFICIALS_DISABLE, "BNH-PHATTICH-CB1")
    assert path == ["BNH-PHATTICH-CB1", "BNH-PHATTICH", "BNH", "TW"]
    with pytest.raises(OutOfReachError):
        delegation.authorize_unit(bac_ninh, AdminAction.OFFICIALS_DISABLE, "HNI-SOCSON")
    with pytest.raises(OutOfReachError):
        delegation.authorize_unit(bac_ninh, AdminAction.OFFICIALS_READ, "TW")  # the parent is not theirs
    with pytest.raises(OutOfReachError):
        delegation.authorize_unit(bac_ninh, AdminAction.OFFICIALS_READ, "NO-SUCH-UNIT")
    with pytest.raises(NotPermittedError):  # a unit administrator manages no OIDC clients anywhere
        delegation.authorize_unit(bac_ninh, AdminAction.CLIENTS_MANAGE, "BNH")
    with pytest.raises(NotPermittedError):
        delegation.authorize_unit(actor(admin_platform, "huongdt"), AdminAction.OFFICIALS_READ, "BTCTW")
    assert delegation.reach(bac_ninh, AdminAction.OFFICIALS_READ) == ["BNH"]
    assert delegation.reach(actor(admin_platform, "dungpt"), AdminAction.OFFICIALS_READ) is None  # everything


def test_one_grants_only_within_what_one_holds(admin_platform: AdminPlatform) -> None:
    delegation = admin_platform.service.delegation
    bac_ninh = actor(admin_platform, "tuanbv")
    granted = delegation.grant(bac_ninh, "cuongnh", "auditor", "BNH-KINHBAC")
    assert (granted.login, granted.role.value, granted.unit_code) == ("cuongnh", "auditor", "BNH-KINHBAC")
    assert granted.granted_by == bac_ninh.name
    with pytest.raises(OutOfReachError):  # a unit of another province reads like no unit at all
        delegation.grant(bac_ninh, "cuongnh", "auditor", "HNI")
    with pytest.raises(GrantRefusedError):
        delegation.grant(bac_ninh, "cuongnh", "unit-admin", "*")
    with pytest.raises(GrantRefusedError):  # platform administrators are made on the root, by one
        delegation.grant(bac_ninh, "cuongnh", "platform-admin", "*")
    with pytest.raises(GrantRefusedError):  # certificates:manage is not a unit administrator's to give
        delegation.grant(bac_ninh, "cuongnh", "certificate-officer", "BNH")
    with pytest.raises(NotPermittedError):  # an auditor grants nothing
        delegation.grant(actor(admin_platform, "yenht"), "cuongnh", "auditor", "BNH-VP")
    with pytest.raises(OutOfReachError):  # Hà Nội's administrator cannot take away a Bắc Ninh grant
        delegation.revoke(actor(admin_platform, "hieunm"), granted.id)
    with pytest.raises(GrantRefusedError):
        delegation.grant(bac_ninh, "cuongnh", "auditor", "BNH-KINHBAC")  # already held
    assert [g.id for g in delegation.grants(bac_ninh, login="cuongnh")] == [granted.id]
    assert delegation.grants(actor(admin_platform, "hieunm"), login="cuongnh") == []
    delegation.revoke(bac_ninh, granted.id)
    assert delegation.grants(OPERATOR, login="cuongnh") == []


def test_every_grant_and_revocation_is_audited(admin_platform: AdminPlatform) -> None:
    delegation = admin_platform.service.delegation
    granted = delegation.grant(OPERATOR, "khanhlv", "auditor", "BNH-KINHBAC-CB1")
    delegation.revoke(OPERATOR, granted.id)
    audit = admin_platform.instance.audit
    [added] = audit.entries(event=AuditEvent.ADMIN_GRANT_ADD, subject="khanhlv")
    [revoked] = audit.entries(event=AuditEvent.ADMIN_GRANT_REVOKE, subject="khanhlv")
    for entry in (added, revoked):
        assert entry.actor == OPERATOR.name
        assert entry.details["grant"] == granted.id
        assert (entry.details["role"], entry.details["unit"]) == ("auditor", "BNH-KINHBAC-CB1")
    assert audit.verify().ok


def test_the_cli_grants_lists_and_revokes(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    runner = CliRunner()
    obj = admin_platform.instance

    def run(*args: str) -> list[dict[str, object]]:
        result = runner.invoke(admin_cli, [*args, "--json"], obj=obj)
        assert result.exit_code == 0, result.output
        data: list[dict[str, object]] = json.loads(result.output)
        return data

    [made] = run("grant", "namtv", "--role", "unit-admin", "--unit", "BNH-PHATTICH")
    assert made["login"] == "namtv" and made["unit"] == "BNH-PHATTICH"
    assert str(made["granted_by"]).startswith("cli:")
    assert [g["id"] for g in run("list", "--login", "namtv")] == [made["id"]]
    assert made["id"] in [g["id"] for g in run("list")]
    run("revoke", str(made["id"]))
    assert run("list", "--login", "namtv") == []
    refused = runner.invoke(admin_cli, ["grant", "namtv", "--role", "platform-admin", "--unit", "BNH"], obj=obj)
    assert refused.exit_code != 0 and "root" in refused.output
    unknown = runner.invoke(admin_cli, ["grant", unique("nobody"), "--role", "auditor", "--unit", "BNH"], obj=obj)
    assert unknown.exit_code != 0 and "no official" in unknown.output
    assert runner.invoke(admin_cli, ["revoke", "999999"], obj=obj).exit_code != 0


def test_the_cli_binds_a_provisioning_client_to_a_unit(admin_platform: AdminPlatform) -> None:
    from idp.oidc.clients import ClientSpec

    runner = CliRunner()
    obj = admin_platform.instance
    record, _ = admin_platform.provider.clients.add(
        ClientSpec(name="Nhân sự Bắc Ninh", grant_types=("client_credentials",), scopes=("scim",))
    )
    args = ["grant", "--client", record.client_id, "--role", "provisioner", "--unit", "BNH", "--json"]
    result = runner.invoke(admin_cli, args, obj=obj)
    assert result.exit_code == 0, result.output
    [made] = json.loads(result.output)
    assert made["subject"] == f"client:{record.client_id}" and made["role"] == "provisioner" and made["unit"] == "BNH"
    [entry] = admin_platform.instance.audit.entries(event="admin:grant:add", subject=record.client_id)
    assert entry.details["administrator"] == f"client:{record.client_id}"
    both = runner.invoke(
        admin_cli, ["grant", "namtv", "--client", record.client_id, "--role", "provisioner", "--unit", "BNH"], obj=obj
    )
    assert both.exit_code != 0 and "either" in both.output
    official = runner.invoke(admin_cli, ["grant", "namtv", "--role", "provisioner", "--unit", "BNH"], obj=obj)
    assert official.exit_code != 0 and "clients" in official.output
    nobody = runner.invoke(
        admin_cli, ["grant", "--client", "khong-co", "--role", "provisioner", "--unit", "BNH"], obj=obj
    )
    assert nobody.exit_code != 0 and "no OIDC client" in nobody.output


def test_the_demo_grants_its_administrators_once(admin_platform: AdminPlatform) -> None:
    from admin.demo import grant_demo_administrators

    for _ in range(2):
        shown = grant_demo_administrators(admin_platform.instance)
    assert ("dungpt", "platform-admin", "*") in shown and ("tuanbv", "unit-admin", "BNH") in shown
    held = [(g.login, g.role.value, g.unit_code) for g in admin_platform.service.delegation.grants(OPERATOR)]
    for grant in shown:
        assert held.count(grant) == 1


def test_every_demo_official_is_found_by_any_part_of_their_name_without_diacritics(
    admin_platform: AdminPlatform,
) -> None:
    """The directory narrows a folded search on the server (the runs no diacritic changes); it must never drop a
    real match: each demo official is found by the folded end of their name, and by the exact one."""
    from admin.officials import fold
    from directory.demo_data import DEMO_OFFICIALS

    officials = admin_platform.service.officials
    everyone = actor(admin_platform, "dungpt")
    for uid, full_name, _unit, _position, _roles in DEMO_OFFICIALS:
        words = full_name.split()
        for text in (fold(" ".join(words[-2:])), full_name.upper(), fold(words[0])[:3], "ß" + words[-1]):
            found: list[str] = []
            cursor = None
            while True:
                page = officials.search(everyone, text, cursor=cursor, size=200)
                found += [p.uid for p in page.items]
                if page.cursor is None:
                    break
                cursor = page.cursor
            assert (uid in found) == (not text.startswith("ß")), (uid, text)
