"""The console's seal pages over real HTTP: a province's certificate officer issues a unit's seal from its page (then
a records-office clerk seals a document with it and pyHanko validates the signature), renews it and revokes it behind
confirmation pages (OCSP then says revoked, read with ``cryptography``); another province's officer finds nothing; a
seal near its end is flagged on the home page; the CA's status page shows the OCSP responder and the TSA answering."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.x509 import ocsp

from directory.models import NewPerson
from signing.samples import sample_pdf
from signing.service import SignRequest, signing_service
from tests.admin.conftest import OPERATOR, AdminPlatform, console_browser
from tests.admin.test_certificates import _ocsp_status
from tests.admin.test_console import rows
from tests.admin.test_console_certificates import officer_browser
from tests.admin.test_seals import new_unit
from tests.directory.conftest import PASSWORD
from tests.idp.rp import forms_of
from tests.signing.independent import ades_verdicts

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


def test_an_officer_issues_a_seal_that_seals_a_document_then_renews_and_revokes_it(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    base = admin_platform.base_url
    code = new_unit(admin_platform, "BNH-VP", unique, "Phòng Văn thư Lưu trữ")
    browser = officer_browser(admin_platform, unique, "BNH")
    listing = browser.go(f"{base}/admin/seals?unit=BNH-VP").page
    assert listing is not None and listing.status_code == 200 and code in rows(listing.text, "unit")
    assert 'id="menu-seals"' in listing.text
    page = browser.go(f"{base}/admin/units/{code}/seal").page
    assert page is not None and 'id="no-seal"' in page.text
    form = forms_of(page.text)["issue-seal-form"]
    issued = browser.go(base + form["action"], method="POST", data=form["inputs"]).page
    assert issued is not None and issued.status_code == 200
    [serial] = rows(issued.text, "serial")
    assert 'data-status="valid"' in issued.text and "issue-seal-form" not in issued.text

    # a records-office clerk of the unit seals a document with it; pyHanko, trusting only our root, validates it
    clerk = unique("vtc")
    admin_platform.ldap.create_person(NewPerson(uid=clerk, full_name="Trần Thị Lưu", unit_code=code, password=PASSWORD))
    admin_platform.ldap.add_member("van-thu-bnh", uid=clerk)
    sealed = io.BytesIO()
    outcome = signing_service(admin_platform.instance).sign(
        io.BytesIO(sample_pdf(title="Thong bao")), sealed, SignRequest(clerk, level="B-LT", seal_unit=code)
    )
    assert outcome.certificate_serial == serial
    [verdict] = ades_verdicts(sealed.getvalue(), [admin_platform.instance_ca().chain().root.dump()])
    assert verdict.status == "PASSED", verdict

    confirm = browser.go(f"{base}/admin/seals/{serial}/renew").page
    assert confirm is not None and confirm.status_code == 200 and "Phòng Văn thư Lưu trữ" in confirm.text
    form = forms_of(confirm.text)["confirm-seal-form"]
    renewed = browser.go(base + form["action"], method="POST", data=form["inputs"]).page
    assert renewed is not None and renewed.status_code == 200
    newest, oldest = rows(renewed.text, "serial")
    assert oldest == serial and f'data-serial="{serial}" data-status="revoked"' in renewed.text

    confirm = browser.go(f"{base}/admin/seals/{newest}/revoke").page
    assert confirm is not None and 'option value="key-compromise"' in confirm.text
    form = forms_of(confirm.text)["confirm-seal-form"]
    done = browser.go(base + form["action"], method="POST", data={**form["inputs"], "reason": "key-compromise"})
    assert done.page is not None and f'data-serial="{newest}" data-status="revoked"' in done.page.text
    assert 'id="issue-seal-form"' in done.page.text  # no valid seal left: a new one may be issued
    answer = _ocsp_status(admin_platform, x509.load_der_x509_certificate(admin_platform.instance_ca().get(newest).der))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise
    assert browser.session.get(f"{base}/admin/seals/{newest}/revoke", timeout=10).status_code == 409
    assert browser.session.get(f"{base}/admin/seals/{newest}/renew", timeout=10).status_code == 409
    # a bad reason posted by hand: a clear page, nothing changed
    fresh = admin_platform.service.seals.issue(OPERATOR, code).serial
    refused = browser.session.post(
        f"{base}/admin/seals/{fresh}/revoke", data={**form["inputs"], "reason": "because"}, timeout=10
    )
    assert refused.status_code == 400 and "Traceback" not in refused.text
    assert admin_platform.instance_ca().get(fresh).status == "valid"


def test_another_provinces_officer_finds_no_seal(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    base = admin_platform.base_url
    code = new_unit(admin_platform, "HNI-VP", unique, "Phòng Tổng hợp")
    serial = admin_platform.service.seals.issue(OPERATOR, code).serial
    browser = officer_browser(admin_platform, unique, "BNH")
    assert browser.session.get(f"{base}/admin/units/{code}/seal", timeout=10).status_code == 404
    for path in (f"/admin/seals/{serial}/renew", f"/admin/seals/{serial}/revoke"):
        response = browser.session.get(base + path, timeout=10)
        assert response.status_code == 404 and code not in response.text, path  # nor is the seal's unit told
    assert browser.session.get(f"{base}/admin/seals?unit=HNI", timeout=10).status_code == 404
    listing = browser.session.get(f"{base}/admin/seals", timeout=10)
    assert listing.status_code == 200 and code not in listing.text
    assert all(unit.startswith("BNH") for unit in rows(listing.text, "unit"))
    csrf = next(f["inputs"]["csrf_token"] for f in forms_of(listing.text).values() if "csrf_token" in f["inputs"])
    for path, data in (
        (f"/admin/units/{code}/seal", {}),
        (f"/admin/seals/{serial}/renew", {}),
        (f"/admin/seals/{serial}/revoke", {"reason": "key-compromise"}),
    ):
        posted = browser.session.post(base + path, data={"csrf_token": csrf, **data}, timeout=10)
        assert posted.status_code == 404 and 'data-code="not-found"' in posted.text, path
    assert [c.serial for c in admin_platform.instance_ca().certificates(unit_code=code)] == [serial]
    assert admin_platform.instance_ca().get(serial).status == "valid"


def test_a_seal_near_its_end_is_flagged_on_the_home_page(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    """A real seal certificate that ends in 10 days: issued with the platform's clock moved back."""
    code = new_unit(admin_platform, "BNH-VP", unique, "Phòng Cơ yếu")
    ca = admin_platform.instance_ca()
    clock = admin_platform.instance.clock
    clock.advance(-timedelta(days=ca.certificate_days - 10))
    try:
        cert = admin_platform.service.seals.issue(OPERATOR, code)
    finally:
        clock.reset()
    assert 9 <= (cert.not_after - clock.now()).days <= 10
    browser, home = console_browser(admin_platform, "tuanbv")  # Bắc Ninh's unit administrator reads its seals
    assert 'id="expiry-warnings"' in home.text and f'data-unit="{code}"' in home.text
    assert "Phòng Cơ yếu" in home.text
    listing = browser.session.get(f"{admin_platform.base_url}/admin/seals?unit={code}", timeout=10)
    assert f'data-unit="{code}" data-serial="{cert.serial}" class="expiry-expiring"' in listing.text
    # Hà Nội's administrator is not told about a Bắc Ninh seal
    _browser, hanoi_home = console_browser(admin_platform, "hieunm")
    assert code not in hanoi_home.text


def test_the_ca_status_page_shows_the_services_answering(admin_platform: AdminPlatform) -> None:
    browser, home = console_browser(admin_platform, "dungpt")
    assert re.findall(r'<li class="[a-z]+" data-role=', home.text) == []  # a fresh CA has years left: no CA warning
    page = browser.session.get(admin_platform.base_url + "/admin/pki", timeout=30)
    assert page.status_code == 200
    assert rows(page.text, "role")[:4] == ["root", "issuing", "ocsp", "tsa"]
    assert rows(page.text, "expiry")[:4] == ["ok"] * 4
    assert 'id="probe-ocsp" data-answering="yes"' in page.text
    assert 'id="probe-tsa" data-answering="yes"' in page.text
    assert rows(page.text, "ca") == ["root", "issuing"]
    assert 'id="pki-down"' not in page.text and 'id="pki-expired"' not in page.text


def test_a_ca_certificate_near_its_end_is_flagged_on_the_home_page(admin_platform: AdminPlatform) -> None:
    """The platform's clock moved to 10 days before the OCSP certificate ends (signing in then), then past it."""
    chain = admin_platform.instance_ca().chain()
    assert chain.ocsp is not None
    clock = admin_platform.instance.clock
    try:
        clock.advance(chain.ocsp.not_valid_after - timedelta(days=10) - clock.now())
        _browser, home = console_browser(admin_platform, "dungpt")
        assert re.findall(r'<li class="([a-z]+)" data-role="ocsp"', home.text) == ["expiring"]
        assert "còn 9 ngày" in home.text or "còn 10 ngày" in home.text
        clock.advance(timedelta(days=11))
        _browser, home = console_browser(admin_platform, "dungpt")
        assert re.findall(r'<li class="([a-z]+)" data-role="ocsp"', home.text) == ["expired"]
    finally:
        clock.reset()
