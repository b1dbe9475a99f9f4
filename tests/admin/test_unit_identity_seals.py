"""Units' seal certificates are bound to their unit's identity (its entryUUID), not only its code, against the real
slapd and SoftHSM2: a unit deleted and a new one created with the same code neither sees nor seals with the old one's
seal (orphaned: only the platform sees it, to revoke it), while a unit renamed or moved keeps its seal."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from sqlalchemy import update

from directory.models import NewPerson, UnitKind
from signing.models import PkiCertificate
from signing.samples import sample_pdf
from signing.service import SignRequest, signing_service
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.admin.test_api import problem
from tests.directory.conftest import PASSWORD

pytestmark = pytest.mark.slapd


@pytest.fixture
def seal_officers(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> dict[str, str]:
    """A certificate officer of Bắc Ninh (dungpt, the platform administrator, holds it on the root)."""
    login = admin_platform.new_official("BNH-VP", unique)
    admin_platform.service.delegation.grant(OPERATOR, login, "certificate-officer", "BNH")
    return {"BNH": login}


def unit_of_bac_ninh(platform: AdminPlatform, code: str, parent: str = "BNH-VP") -> str:
    return platform.ldap.create_unit(code, "Phòng Lưu trữ", UnitKind.DEPARTMENT, parent).entry_uuid


def test_a_new_unit_given_a_deleted_units_code_neither_sees_nor_seals_with_its_seal(
    admin_platform: AdminPlatform, seal_officers: dict[str, str], unique: Callable[[str], str]
) -> None:
    officer, call = seal_officers["BNH"], admin_platform.call
    code = unique("BNH-SX").upper()
    unit_of_bac_ninh(admin_platform, code)
    old = call("POST", f"/api/admin/units/{code}/seals", officer)
    assert old.status_code == 201, old.text
    serial = old.json()["serial"]
    admin_platform.ldap.delete_unit(code)
    unit_of_bac_ninh(admin_platform, code)  # the same code, the same province: still not the same unit

    assert call("GET", f"/api/admin/units/{code}/seals", officer).json()["items"] == []
    [row] = call("GET", "/api/admin/seals", officer, params={"unit": code}).json()["items"]
    assert row["seal"] is None
    problem(call("GET", f"/api/admin/seals/{serial}", officer), 404)  # the officer's province no longer holds it
    problem(call("POST", f"/api/admin/seals/{serial}/renew", officer), 404)
    # the platform sees it, as orphaned, may revoke it and may not renew it (no unit to renew it for)
    seen = call("GET", f"/api/admin/seals/{serial}", "dungpt")
    assert seen.status_code == 200 and seen.json()["orphaned"] is True
    listed = call("GET", "/api/admin/seals", "dungpt").json()
    assert serial in {s["serial"] for s in listed["orphaned"]}
    assert serial not in {r["seal"]["serial"] for r in listed["items"] if r["seal"]}
    assert serial not in {s["serial"] for s in call("GET", "/api/admin/seals", officer).json()["orphaned"]}
    problem(call("POST", f"/api/admin/seals/{serial}/renew", "dungpt"), 409)

    # the new unit's clerk seals with a seal of the new unit (made for it), never with the old key
    clerk = unique("vt")
    admin_platform.ldap.create_person(NewPerson(uid=clerk, full_name="Lê Thị Thư", unit_code=code, password=PASSWORD))
    admin_platform.ldap.add_member("van-thu-bnh", uid=clerk)
    try:
        first = call("POST", f"/api/admin/units/{code}/seals", officer)  # a first seal, not a 409 "renew it"
        assert first.status_code == 201, first.text
        outcome = signing_service(admin_platform.instance).sign(
            io.BytesIO(sample_pdf(title="Quyet dinh")), io.BytesIO(), SignRequest(clerk, level="B-B", seal_unit=code)
        )
        assert outcome.certificate_serial == first.json()["serial"] != serial
        # the old seal was not superseded by the new unit's: it is the platform's to revoke, with a reason
        assert call("GET", f"/api/admin/seals/{serial}", "dungpt").json()["status"] == "valid"
        revoked = call("POST", f"/api/admin/seals/{serial}/revoke", "dungpt", json={"reason": "cessationOfOperation"})
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked", revoked.text
    finally:
        admin_platform.ldap.delete_person(clerk)


def test_a_renamed_or_moved_unit_keeps_its_seal(
    admin_platform: AdminPlatform, seal_officers: dict[str, str], unique: Callable[[str], str]
) -> None:
    officer, call = seal_officers["BNH"], admin_platform.call
    code = unique("BNH-SY").upper()
    unit_of_bac_ninh(admin_platform, code)
    serial = call("POST", f"/api/admin/units/{code}/seals", officer).json()["serial"]
    admin_platform.ldap.modify_unit(code, name="Phòng Lưu trữ (tên mới)")
    admin_platform.ldap.move_unit(code, "BNH-KINHBAC")
    [seal] = call("GET", f"/api/admin/units/{code}/seals", officer).json()["items"]
    assert (seal["serial"], seal["status"], seal["orphaned"]) == (serial, "valid", False)
    [row] = call("GET", "/api/admin/seals", officer, params={"unit": code}).json()["items"]
    assert row["seal"]["serial"] == serial
    assert (
        signing_service(admin_platform.instance)
        .ca.signing_certificate(unit_code=code, unit_uuid=admin_platform.ldap.get_unit(code).entry_uuid)
        .serial
        == serial
    )  # type: ignore[union-attr]


def test_a_seal_issued_before_seals_were_bound_is_bound_at_first_sight(
    admin_platform: AdminPlatform, seal_officers: dict[str, str], unique: Callable[[str], str]
) -> None:
    """A seal of an earlier version (no entryUUID): bound to the unit that has its code when first seen; one whose
    unit was already gone is bound to none, so that a unit created later with that code does not get it."""
    officer, call = seal_officers["BNH"], admin_platform.call
    live, gone = unique("BNH-SL").upper(), unique("BNH-SG").upper()
    live_uuid = unit_of_bac_ninh(admin_platform, live)
    unit_of_bac_ninh(admin_platform, gone)
    serials = {code: call("POST", f"/api/admin/units/{code}/seals", officer).json()["serial"] for code in (live, gone)}
    with admin_platform.instance.database.session() as s:  # as an earlier version stored them
        s.execute(update(PkiCertificate).where(PkiCertificate.serial.in_(serials.values())).values(unit_uuid=None))
    admin_platform.ldap.delete_unit(gone)
    service = signing_service(admin_platform.instance)
    service._seals_bound = False  # a process started after the upgrade

    assert [c["serial"] for c in call("GET", f"/api/admin/units/{live}/seals", officer).json()["items"]] == [
        serials[live]
    ]
    assert service.ca.get(serials[live]).unit_uuid == live_uuid
    assert service.ca.get(serials[gone]).unit_uuid == ""
    unit_of_bac_ninh(admin_platform, gone)
    assert call("GET", f"/api/admin/units/{gone}/seals", officer).json()["items"] == []
