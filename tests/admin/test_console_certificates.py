"""The console's certificate pages over real HTTP: a certificate officer issues an official's certificate from their
page and revokes it behind a confirmation page with a reason (OCSP then says so, read with ``cryptography``); another
province's officer gets "not found"; the CA's status page is the platform administrator's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from cryptography import x509
from cryptography.x509 import ocsp

from tests.admin.conftest import OPERATOR, AdminPlatform, console_browser
from tests.admin.test_certificates import _ocsp_status
from tests.admin.test_console import rows
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser, forms_of

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


def officer_browser(platform: AdminPlatform, unique: Callable[[str], str], province: str) -> Browser:
    """A browser signed in to the console as a new certificate officer of ``province``."""
    login = platform.new_official(f"{province}-VP", lambda p: unique(p + province.lower()))
    platform.service.delegation.grant(OPERATOR, login, "certificate-officer", province)
    browser = Browser(platform.base_url)
    outcome = browser.go(platform.base_url + "/admin/")
    assert outcome.page is not None
    home = browser.login(outcome.page, login, PASSWORD).page
    assert home is not None and home.status_code == 200
    return browser


def test_an_officer_issues_and_revokes_from_the_officials_page(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    base = admin_platform.base_url
    uid = admin_platform.new_official("BNH-PHATTICH-CB1", unique, full_name="Đỗ Văn Ấn")
    browser = officer_browser(admin_platform, unique, "BNH")
    page = browser.go(f"{base}/admin/officials/{uid}").page
    assert page is not None and 'id="no-certificates"' in page.text
    form = forms_of(page.text)["issue-certificate-form"]
    issued = browser.go(base + form["action"], method="POST", data=form["inputs"]).page
    assert issued is not None and issued.status_code == 200
    [serial] = rows(issued.text, "serial")
    assert 'data-status="valid"' in issued.text

    confirm = browser.go(f"{base}/admin/certificates/{serial}/revoke").page
    assert confirm is not None and confirm.status_code == 200 and "Đỗ Văn Ấn" in confirm.text
    form = forms_of(confirm.text)["confirm-revoke-certificate-form"]
    assert 'option value="key-compromise"' in confirm.text
    done = browser.go(base + form["action"], method="POST", data={**form["inputs"], "reason": "affiliation-changed"})
    assert done.page is not None and done.page.status_code == 200
    assert f'data-serial="{serial}" data-status="revoked"' in done.page.text
    cert = admin_platform.instance_ca().get(serial)
    answer = _ocsp_status(admin_platform, x509.load_der_x509_certificate(cert.der))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.affiliation_changed
    assert browser.session.get(f"{base}/admin/certificates/{serial}/revoke", timeout=10).status_code == 409

    # a bad reason posted by hand is refused with a clear page and changes nothing on a valid certificate
    again = browser.go(base + f"/admin/officials/{uid}", method="GET").page
    assert again is not None
    form = forms_of(again.text)["issue-certificate-form"]
    newer = browser.go(base + form["action"], method="POST", data=form["inputs"]).page
    assert newer is not None
    fresh = [s for s in rows(newer.text, "serial") if s != serial]
    assert len(fresh) == 1
    refused = browser.session.post(
        f"{base}/admin/certificates/{fresh[0]}/revoke",
        data={**form["inputs"], "reason": "because"},
        timeout=10,
    )
    assert refused.status_code == 400 and "Traceback" not in refused.text
    assert admin_platform.instance_ca().get(fresh[0]).status == "valid"


def test_another_provinces_officer_finds_nothing(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    base = admin_platform.base_url
    uid = admin_platform.new_official("HNI-VP", unique)
    serial = admin_platform.instance_ca().issue_for_person(admin_platform.ldap.get_person(uid)).serial
    browser = officer_browser(admin_platform, unique, "BNH")
    assert browser.session.get(f"{base}/admin/officials/{uid}", timeout=10).status_code == 404
    assert browser.session.get(f"{base}/admin/certificates/{serial}/revoke", timeout=10).status_code == 404
    home = browser.session.get(f"{base}/admin/", timeout=10)
    csrf = next(iter(forms_of(home.text).values()))["inputs"]["csrf_token"]
    posted = browser.session.post(
        f"{base}/admin/certificates/{serial}/revoke", data={"csrf_token": csrf, "reason": "key-compromise"}, timeout=10
    )
    assert posted.status_code == 404 and 'data-code="not-found"' in posted.text
    # the CA's page exists: refused (403), saying whose page it is and the right it needs, in Vietnamese, a way back
    pki = browser.session.get(f"{base}/admin/pki", timeout=10)
    assert pki.status_code == 403 and 'data-code="platform-only"' in pki.text
    assert "Không có quyền" in pki.text and "xem chứng thư trên toàn hệ thống" in pki.text
    assert 'href="/admin/"' in pki.text
    assert "&#39;*&#39;" not in pki.text and "'*'" not in pki.text and "certificates:read" not in pki.text
    english = browser.session.get(f"{base}/admin/pki?lang=en", timeout=10)
    assert english.status_code == 403 and "read certificates on the whole platform" in english.text
    assert 'id="menu-pki"' not in home.text
    assert admin_platform.instance_ca().get(serial).status == "valid"


def test_the_platform_administrator_sees_the_cas_status(admin_platform: AdminPlatform) -> None:
    browser, home = console_browser(admin_platform, "dungpt")
    assert 'id="menu-pki"' in home.text
    page = browser.session.get(admin_platform.base_url + "/admin/pki", timeout=10)
    assert page.status_code == 200
    assert rows(page.text, "role")[:2] == ["root", "issuing"]
    issuing = admin_platform.instance_ca().chain().issuing
    assert format(issuing.serial_number, "x") in page.text
    assert 'id="pki-warning"' not in page.text  # a fresh test CA has years left
    assert requests.get(admin_platform.base_url + "/admin/pki", timeout=10, allow_redirects=False).status_code == 302
