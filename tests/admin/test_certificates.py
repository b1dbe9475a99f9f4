"""Officials' signing certificates through ``/api/admin``: a certificate officer of a province lists, issues and
revokes them within it (keys in SoftHSM2, the CRL and OCSP served by the platform saying so, read with
``cryptography``, not our own code), never another province's; the CA's status is the platform's alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from antin.kernel.audit import AuditEvent
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.admin.test_api import problem

pytestmark = pytest.mark.slapd


@pytest.fixture(scope="module")
def officers(admin_platform: AdminPlatform) -> dict[str, str]:
    """A certificate officer of Bắc Ninh and one of Hà Nội (officials of their provinces)."""
    made = {}
    for province, unit in (("BNH", "BNH-VP"), ("HNI", "HNI-VP")):
        login = admin_platform.new_official(unit, lambda p, province=province: f"cso{province.lower()}")
        admin_platform.service.delegation.grant(OPERATOR, login, "certificate-officer", province)
        made[province] = login
    return made


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _ocsp_status(platform: AdminPlatform, cert: x509.Certificate) -> ocsp.OCSPResponse:
    issuer = x509.load_der_x509_certificate(requests.get(platform.base_url + "/pki/ca/issuing.cer", timeout=10).content)
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    response = requests.post(
        platform.base_url + "/pki/ocsp",
        data=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
        timeout=10,
    )
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    return answer


def test_a_certificate_officer_issues_lists_and_revokes_within_their_province(
    admin_platform: AdminPlatform, officers: dict[str, str], unique: Callable[[str], str]
) -> None:
    uid = admin_platform.new_official("BNH-PHATTICH-CB1", unique, full_name="Phạm Văn Ký")
    officer = officers["BNH"]
    listed = admin_platform.call("GET", f"/api/admin/officials/{uid}/certificates", officer)
    assert listed.status_code == 200 and listed.json() == {"items": []}

    first = admin_platform.call("POST", f"/api/admin/officials/{uid}/certificates", officer)
    assert first.status_code == 201, first.text
    second = admin_platform.call("POST", f"/api/admin/officials/{uid}/certificates", officer).json()
    cert = _cert(second["pem"])
    assert format(cert.serial_number, "x") == second["serial"] and second["status"] == "valid"
    assert "Phạm Văn Ký" in cert.subject.rfc4514_string()
    # the key is in the token (SoftHSM2), as the signing service's own issuance makes it
    [row] = [c for c in admin_platform.instance_ca().certificates(uid=uid) if c.serial == second["serial"]]
    assert row.key_label is not None and admin_platform.instance_ca().keystore.has_key(row.key_label)

    items = admin_platform.call("GET", f"/api/admin/officials/{uid}/certificates", officer).json()["items"]
    assert [i["serial"] for i in items] == [second["serial"], first.json()["serial"]]  # newest first
    assert items[1]["status"] == "revoked" and items[1]["revocation_reason"] == "superseded"

    assert _ocsp_status(admin_platform, cert).certificate_status == ocsp.OCSPCertStatus.GOOD
    revoked = admin_platform.call(
        "POST", f"/api/admin/certificates/{second['serial']}/revoke", officer, json={"reason": "keyCompromise"}
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revocation_reason"] == "key-compromise"
    answer = _ocsp_status(admin_platform, cert)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise
    crl = x509.load_der_x509_crl(requests.get(admin_platform.base_url + "/pki/crl/issuing.crl", timeout=10).content)
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise

    officer_sub = admin_platform.ldap.get_person(officer).entry_uuid
    [issued, *_] = admin_platform.instance.audit.entries(event=AuditEvent.PKI_CERTIFICATE_ISSUE, subject=uid, limit=1)
    assert issued.actor == officer_sub and issued.details["before"] == {"valid": [first.json()["serial"]]}
    [entry_] = [
        e
        for e in admin_platform.instance.audit.entries(event=AuditEvent.PKI_CERTIFICATE_REVOKE, subject=uid)
        if e.details["reason"] == "key-compromise"
    ]
    assert entry_.actor == officer_sub
    assert entry_.details["before"] == {"status": "valid"} and entry_.details["after"]["status"] == "revoked"

    again = admin_platform.call(
        "POST", f"/api/admin/certificates/{second['serial']}/revoke", officer, json={"reason": "superseded"}
    )
    problem(again, 409)


def test_another_provinces_officer_cannot_see_issue_or_revoke(
    admin_platform: AdminPlatform, officers: dict[str, str], unique: Callable[[str], str]
) -> None:
    uid = admin_platform.new_official("HNI-VP", unique, full_name="Hoàng Thị Hà")
    cert = admin_platform.call("POST", f"/api/admin/officials/{uid}/certificates", officers["HNI"]).json()
    bac_ninh = officers["BNH"]
    problem(admin_platform.call("GET", f"/api/admin/officials/{uid}/certificates", bac_ninh), 404)
    problem(admin_platform.call("POST", f"/api/admin/officials/{uid}/certificates", bac_ninh), 404)
    revoke = f"/api/admin/certificates/{cert['serial']}/revoke"
    problem(admin_platform.call("POST", revoke, bac_ninh, json={"reason": "keyCompromise"}), 404)
    problem(admin_platform.call("POST", revoke, bac_ninh, json={}), 404)  # refused before the body is judged
    # an unknown serial reads like another province's
    problem(admin_platform.call("POST", "/api/admin/certificates/abcdef/revoke", bac_ninh, json={"reason": "x"}), 404)
    [row] = [c for c in admin_platform.instance_ca().certificates(uid=uid)]
    assert row.status == "valid"
    # a unit administrator reads their province's certificates but cannot issue or revoke
    local = admin_platform.new_official("BNH-VP", lambda p: unique(p + "l"))
    assert admin_platform.call("GET", f"/api/admin/officials/{local}/certificates", "tuanbv").status_code == 200
    problem(admin_platform.call("POST", f"/api/admin/officials/{local}/certificates", "tuanbv"), 403)


def test_bad_revocations_get_a_problem_and_change_nothing(
    admin_platform: AdminPlatform, officers: dict[str, str], unique: Callable[[str], str]
) -> None:
    uid = admin_platform.new_official("HNI-VP", unique)
    officer = officers["HNI"]
    serial = admin_platform.call("POST", f"/api/admin/officials/{uid}/certificates", officer).json()["serial"]
    revoke = f"/api/admin/certificates/{serial}/revoke"
    for body in ({}, {"reason": "because"}, {"reason": 3}, {"reason": "certificateHold"}):
        problem(admin_platform.call("POST", revoke, officer, json=body), 400)
    problem(admin_platform.call("POST", revoke, officer, data="x"), 400)
    assert admin_platform.instance_ca().get(serial).status == "valid"
    admin_platform.ldap.disable(uid)
    problem(admin_platform.call("POST", f"/api/admin/officials/{uid}/certificates", officer), 409)


def test_the_ca_status_is_the_platforms_alone(admin_platform: AdminPlatform, officers: dict[str, str]) -> None:
    status = admin_platform.call("GET", "/api/admin/pki", "dungpt")
    assert status.status_code == 200, status.text
    parts = {p["role"]: p for p in status.json()["certificates"]}
    assert {"root", "issuing"} <= set(parts)
    chain = admin_platform.instance_ca().chain()
    assert parts["issuing"]["serial"] == format(chain.issuing.serial_number, "x")
    assert parts["root"]["days_left"] > 90 and parts["root"]["warning"] is False
    assert status.json()["warning"] is any(p["warning"] for p in parts.values())
    problem(admin_platform.call("GET", "/api/admin/pki", officers["BNH"]), 404)  # held on a province only
    problem(admin_platform.call("GET", "/api/admin/pki", "huongdt"), 403)
