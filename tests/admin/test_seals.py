"""Units' seal certificates through ``/api/admin``: a province's certificate officer issues, renews and revokes the
seals of its units (keys in SoftHSM2; the certificates, OCSP answers and CRLs read with ``cryptography``, not our own
code; a seal used to sign and the signature validated with pyHanko), never another province's; the CA's status with
a real request to the OCSP responder and the TSA."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from admin.delegation import Actor
from admin.pki_status import Expiry, PkiMonitor
from admin.seals import Seals
from antin.kernel.audit import AuditEvent
from directory.models import NewPerson, UnitKind
from signing.pki.probes import probe_ocsp, probe_tsa
from signing.samples import sample_pdf
from signing.service import SignRequest, signing_service
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.admin.test_api import problem
from tests.admin.test_certificates import _ocsp_status
from tests.directory.conftest import PASSWORD
from tests.signing.independent import ades_verdicts

pytestmark = pytest.mark.slapd


@pytest.fixture(scope="module")
def seal_officers(admin_platform: AdminPlatform) -> dict[str, str]:
    """A certificate officer of Bắc Ninh and one of Hà Nội."""
    made = {}
    for province in ("BNH", "HNI"):
        login = admin_platform.new_official(f"{province}-VP", lambda p, province=province: f"seal{province.lower()}")
        admin_platform.service.delegation.grant(OPERATOR, login, "certificate-officer", province)
        made[province] = login
    return made


def new_unit(platform: AdminPlatform, parent: str, unique: Callable[[str], str], name: str) -> str:
    """A new department under ``parent`` (each test its own, so that no test finds another's seal)."""
    code = f"{parent}-{unique('S').upper()}"
    platform.ldap.create_unit(code, name, UnitKind.DEPARTMENT, parent)
    return code


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def test_an_officer_issues_renews_and_revokes_a_units_seal(
    admin_platform: AdminPlatform, seal_officers: dict[str, str], unique: Callable[[str], str]
) -> None:
    code = new_unit(admin_platform, "BNH-VP", unique, "Phòng Lưu trữ")
    officer = seal_officers["BNH"]
    listed = admin_platform.call("GET", f"/api/admin/units/{code}/seals", officer)
    assert listed.status_code == 200 and listed.json() == {"unit": code, "items": []}

    issued = admin_platform.call("POST", f"/api/admin/units/{code}/seals", officer)
    assert issued.status_code == 201, issued.text
    first = issued.json()
    cert = _cert(first["pem"])
    assert format(cert.serial_number, "x") == first["serial"] and first["status"] == "valid"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Phòng Lưu trữ"
    # the path above the unit is in the subject: the province, then its office
    above = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    assert above[-2:] == ["Tỉnh ủy Bắc Ninh", "Văn phòng Tỉnh ủy Bắc Ninh"]
    assert first["unit"] == code and first["expiry"] == "ok" and first["days_left"] > 300
    [row] = admin_platform.instance_ca().certificates(unit_code=code)
    assert row.role == "seal" and row.key_label and admin_platform.instance_ca().keystore.has_key(row.key_label)
    problem(admin_platform.call("POST", f"/api/admin/units/{code}/seals", officer), 409)  # renew it instead

    renewed = admin_platform.call("POST", f"/api/admin/seals/{first['serial']}/renew", officer)
    assert renewed.status_code == 201, renewed.text
    second = renewed.json()
    assert second["serial"] != first["serial"] and _cert(second["pem"]).public_key() != cert.public_key()
    items = admin_platform.call("GET", f"/api/admin/units/{code}/seals", officer).json()["items"]
    assert [i["serial"] for i in items] == [second["serial"], first["serial"]]  # newest first
    assert items[1]["status"] == "revoked" and items[1]["revocation_reason"] == "superseded"
    assert _ocsp_status(admin_platform, cert).certificate_status == ocsp.OCSPCertStatus.REVOKED
    problem(admin_platform.call("POST", f"/api/admin/seals/{first['serial']}/renew", officer), 409)

    new = _cert(second["pem"])
    assert _ocsp_status(admin_platform, new).certificate_status == ocsp.OCSPCertStatus.GOOD
    revoke = f"/api/admin/seals/{second['serial']}/revoke"
    for body in ({}, {"reason": "because"}, {"reason": "certificateHold"}):
        problem(admin_platform.call("POST", revoke, officer, json=body), 400)
    revoked = admin_platform.call("POST", revoke, officer, json={"reason": "keyCompromise"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revocation_reason"] == "key-compromise"
    answer = _ocsp_status(admin_platform, new)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise
    crl = x509.load_der_x509_crl(requests.get(admin_platform.base_url + "/pki/crl/issuing.crl", timeout=10).content)
    assert crl.get_revoked_certificate_by_serial_number(new.serial_number) is not None
    problem(admin_platform.call("POST", revoke, officer, json={"reason": "superseded"}), 409)
    # a unit whose seal was revoked gets a new one by issuing
    assert admin_platform.call("POST", f"/api/admin/units/{code}/seals", officer).status_code == 201

    officer_sub = admin_platform.ldap.get_person(officer).entry_uuid
    audit = admin_platform.instance.audit
    issues = audit.entries(event=AuditEvent.PKI_CERTIFICATE_ISSUE, subject=f"unit:{code}")
    by_serial = {e.details["serial"]: e for e in issues}
    assert by_serial[first["serial"]].actor == officer_sub
    assert by_serial[first["serial"]].details["before"] == {"valid": []}
    renewal = by_serial[second["serial"]].details
    assert renewal["renews"] == first["serial"] and renewal["before"] == {"valid": [first["serial"]]}
    assert renewal["after"]["valid"] == [second["serial"]]
    [revocation] = [
        e
        for e in audit.entries(event=AuditEvent.PKI_CERTIFICATE_REVOKE, subject=f"unit:{code}")
        if e.details["reason"] == "key-compromise"
    ]
    assert revocation.actor == officer_sub and revocation.details["before"] == {"status": "valid"}
    assert revocation.details["after"] == {"status": "revoked", "reason": "key-compromise"}


def test_another_provinces_officer_can_neither_see_nor_touch_a_seal(
    admin_platform: AdminPlatform, seal_officers: dict[str, str], unique: Callable[[str], str]
) -> None:
    code = new_unit(admin_platform, "HNI-VP", unique, "Phòng Hành chính")
    seal = admin_platform.call("POST", f"/api/admin/units/{code}/seals", seal_officers["HNI"]).json()
    bac_ninh = seal_officers["BNH"]
    problem(admin_platform.call("GET", f"/api/admin/units/{code}/seals", bac_ninh), 404)
    problem(admin_platform.call("POST", f"/api/admin/units/{code}/seals", bac_ninh), 404)
    for path, body in (
        (f"/api/admin/seals/{seal['serial']}", None),
        (f"/api/admin/seals/{seal['serial']}/renew", None),
        (f"/api/admin/seals/{seal['serial']}/revoke", {"reason": "keyCompromise"}),
        (f"/api/admin/seals/{seal['serial']}/revoke", {}),  # refused before the body is judged
    ):
        found = problem(
            admin_platform.call("GET" if body is None and "/r" not in path else "POST", path, bac_ninh, json=body), 404
        )
        assert code not in str(found["detail"])  # the unit's code is not told either
    # an unknown serial, and an official's certificate named as a seal, read alike
    problem(admin_platform.call("GET", "/api/admin/seals/abcdef", bac_ninh), 404)
    listed = admin_platform.call("GET", "/api/admin/seals", bac_ninh).json()["items"]
    assert listed and all(i["unit"].startswith("BNH") for i in listed)
    assert code not in {i["unit"] for i in listed}
    [row] = admin_platform.instance_ca().certificates(unit_code=code)
    assert row.status == "valid"
    # a unit administrator reads their province's seals but cannot issue one; an official without rights: 403
    local = new_unit(admin_platform, "BNH-VP", unique, "Phòng Tổng hợp")
    assert admin_platform.call("GET", f"/api/admin/units/{local}/seals", "tuanbv").status_code == 200
    problem(admin_platform.call("POST", f"/api/admin/units/{local}/seals", "tuanbv"), 403)
    problem(admin_platform.call("GET", "/api/admin/seals", "huongdt"), 403)
    problem(admin_platform.call("POST", "/api/admin/units/NOSUCH/seals", bac_ninh), 404)


def test_a_seal_issued_by_an_officer_seals_a_document_that_pyhanko_validates(
    admin_platform: AdminPlatform, seal_officers: dict[str, str], unique: Callable[[str], str]
) -> None:
    code = new_unit(admin_platform, "BNH-VP", unique, "Phòng Văn thư")
    clerk = unique("vt")
    admin_platform.ldap.create_person(NewPerson(uid=clerk, full_name="Lê Thị Thư", unit_code=code, password=PASSWORD))
    admin_platform.ldap.add_member("van-thu-bnh", uid=clerk)
    seal = admin_platform.call("POST", f"/api/admin/units/{code}/seals", seal_officers["BNH"]).json()

    signing = signing_service(admin_platform.instance)
    output = io.BytesIO()
    outcome = signing.sign(
        io.BytesIO(sample_pdf(title="Quyet dinh")), output, SignRequest(clerk, level="B-LT", seal_unit=code)
    )
    assert outcome.kind == "seal" and outcome.certificate_serial == seal["serial"]
    root = admin_platform.instance_ca().chain().root.dump()
    [verdict] = ades_verdicts(output.getvalue(), [root])
    assert verdict.status == "PASSED", verdict


def test_the_pki_status_asks_the_ocsp_responder_and_the_tsa(
    admin_platform: AdminPlatform, seal_officers: dict[str, str]
) -> None:
    status = admin_platform.call("GET", "/api/admin/pki", "dungpt")
    assert status.status_code == 200, status.text
    body = status.json()
    parts = {p["role"]: p for p in body["certificates"]}
    assert {"root", "issuing", "ocsp", "tsa"} <= set(parts)
    chain = admin_platform.instance_ca().chain()
    assert parts["issuing"]["serial"] == format(chain.issuing.serial_number, "x")
    assert parts["root"]["expiry"] == "ok" and parts["root"]["warning"] is False
    assert parts["root"]["not_before"] < parts["root"]["not_after"]
    assert body["ocsp"]["answering"] is True and body["ocsp"]["detail"] == "good"
    assert body["ocsp"]["url"] == admin_platform.base_url + "/pki/ocsp"
    assert body["tsa"]["answering"] is True and body["tsa"]["url"] == admin_platform.base_url + "/tsa"
    crls = {c["ca"]: c for c in body["crls"]}
    issuing_crl = x509.load_der_x509_crl(requests.get(crls["issuing"]["url"], timeout=10).content)
    assert crls["issuing"]["next_update"] == issuing_crl.next_update_utc.isoformat()
    assert body["warning"] is False
    problem(admin_platform.call("GET", "/api/admin/pki", seal_officers["BNH"]), 404)  # a province only
    problem(admin_platform.call("GET", "/api/admin/pki", "huongdt"), 403)


def test_a_dead_responder_reads_as_not_answering() -> None:
    """Nothing listens on the port: the probe says so within its timeout, and never raises."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = probe_tsa(f"http://127.0.0.1:{port}/tsa", timeout=0.5)
    assert dead.answering is False and dead.detail == "cannot connect"


def test_a_responder_that_never_answers_reads_as_a_timeout() -> None:
    """The port accepts the connection (the kernel's backlog) but nobody reads it: the probe gives up in time."""
    import socket

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)
        port = listening.getsockname()[1]
        hung = probe_tsa(f"http://127.0.0.1:{port}/tsa", timeout=0.5)
    assert hung.answering is False and hung.detail == "no answer within the timeout"


def test_a_probe_that_gets_html_reads_as_not_answering(admin_platform: AdminPlatform) -> None:
    chain = admin_platform.instance_ca().chain()
    answer = probe_ocsp(admin_platform.base_url + "/admin/signin", chain.issuing, 1, timeout=5)
    assert answer.answering is False


def test_expiry_turns_amber_then_red(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    """The same services over the platform's CA and grants, their clock moved near and past the OCSP certificate's
    end (amber under [admin] pki_warning_days, red once expired), and a seal's."""
    service = admin_platform.service
    chain = admin_platform.instance_ca().chain()
    assert chain.ocsp is not None
    dungpt = Actor.administrator(admin_platform.ldap.get_person("dungpt").entry_uuid)

    def monitor(days_before_end: int) -> dict[str, Expiry]:
        moment = chain.ocsp.not_valid_after - timedelta(days=days_before_end)  # type: ignore[union-attr]
        pki = PkiMonitor(
            service.delegation,
            lambda: signing_service(admin_platform.instance),
            lambda: moment,
            warning_days=30,
            probe_timeout=1,
        )
        return {c.role: c.expiry for c in pki.ca_certificates(dungpt)}

    assert monitor(40)["ocsp"] is Expiry.OK
    assert monitor(20)["ocsp"] is Expiry.EXPIRING
    late = monitor(-1)
    assert late["ocsp"] is Expiry.EXPIRED and late["root"] is Expiry.OK

    code = new_unit(admin_platform, "BNH-VP", unique, "Phòng Kiểm tra")
    cert = service.seals.issue(dungpt, code)
    seals = Seals(
        service.seals.directory,
        service.delegation,
        admin_platform.instance.audit,
        lambda: signing_service(admin_platform.instance),
        lambda: cert.not_after - timedelta(days=5),
        warning_days=30,
    )
    [row] = [u for u in seals.expiring(dungpt) if u.unit.code == code]
    assert row.days_left == 5 and row.expiry is Expiry.EXPIRING


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ANTIN_ADMIN_PKI_WARNING_DAYS", "0"),
        ("ANTIN_ADMIN_PKI_PROBE_TIMEOUT", "0"),
        ("ANTIN_ADMIN_PKI_PROBE_TIMEOUT", "120"),
    ],
)
def test_bad_pki_settings_stop_the_start(tmp_path: Path, name: str, value: str) -> None:
    from antin.kernel.settings import SettingsError
    from antin.settings import load_settings

    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_DATA_DIR": str(tmp_path), name: value})
    assert name in err.value.problems
