"""Renewing the CA's certificates from the console's PKI page and the admin API: the platform administrator renews
behind a confirmation page and the page then shows the new certificate and its end; the renewal is audited with the
serials before and after; a certificate officer or an auditor of the whole directory reads the page but renews
nothing (403)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from cryptography import x509

from antin.kernel.audit.events import AuditEvent
from antin.kernel.readable import local_date
from signing.service import signing_service
from tests.admin.conftest import OPERATOR, AdminPlatform, console_browser
from tests.admin.test_api import problem
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser, forms_of

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


def tsa_row(html: str) -> str:
    found = re.search(r'<tr data-role="tsa".*?</tr>', html, flags=re.DOTALL)
    assert found is not None, html
    return found.group(0)


def test_the_platform_administrator_renews_the_tsa_from_the_pki_page(admin_platform: AdminPlatform) -> None:
    base = admin_platform.base_url
    ca = admin_platform.instance_ca()
    before = ca.chain().tsa
    assert before is not None
    browser, _home = console_browser(admin_platform, "dungpt")
    page = browser.session.get(f"{base}/admin/pki", timeout=30)
    assert page.status_code == 200
    for role in ("issuing", "ocsp", "tsa"):
        assert f'id="renew-{role}"' in page.text
    assert 'id="renew-root"' not in page.text  # the trust anchor is not renewed from here
    confirm = browser.session.get(f"{base}/admin/pki/renew/tsa", timeout=10)
    assert confirm.status_code == 200 and 'id="confirm-text"' in confirm.text
    assert format(before.serial_number, "x") in confirm.text
    assert ca.chain().tsa.serial_number == before.serial_number  # type: ignore[union-attr]  # asking changes nothing
    form = forms_of(confirm.text)["confirm-renew-form"]
    done = browser.session.post(
        base + form["action"], data={**form["inputs"], "days": "400"}, allow_redirects=False, timeout=30
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/pki#ca-certificates")

    after = ca.chain().tsa
    assert after is not None and after.serial_number != before.serial_number
    new_serial, old_serial = format(after.serial_number, "x"), format(before.serial_number, "x")
    page = browser.session.get(f"{base}/admin/pki", timeout=30)
    row = tsa_row(page.text)
    assert new_serial in row and old_serial not in row
    assert local_date(after.not_valid_after) in row and local_date(before.not_valid_after) not in row
    assert re.search(r'class="num days-left">(399|400)<', row), row
    flash = page.text.split('id="flash">', 1)[1].split("</p>", 1)[0]
    assert new_serial in flash and local_date(after.not_valid_after) in flash  # the flash names it, day first
    assert 'data-answering="yes"' in page.text.split('id="probe-tsa"')[1][:200]  # the TSA answers with its new key
    assert ca.get(old_serial).status == "valid"  # kept for the tokens it signed
    [entry] = list(admin_platform.instance.audit.entries(event=AuditEvent.PKI_CA_RENEW.value, subject=new_serial))
    assert entry.actor == admin_platform.ldap.get_person("dungpt").entry_uuid
    assert entry.details["serial_before"] == old_serial and entry.details["serial_after"] == new_serial
    assert entry.details["via"] == "admin"
    assert datetime.fromisoformat(entry.details["not_after_after"]) == after.not_valid_after


def root_holder(platform: AdminPlatform, unique: Callable[[str], str], role: str) -> tuple[str, Browser]:
    """A new official holding ``role`` on the whole directory, and a browser signed in to the console as them."""
    login = platform.new_official("HNI-VP", unique)
    platform.service.delegation.grant(OPERATOR, login, role, "*")
    browser = Browser(platform.base_url)
    outcome = browser.go(platform.base_url + "/admin/")
    assert outcome.page is not None
    home = browser.login(outcome.page, login, PASSWORD).page
    assert home is not None and home.status_code == 200
    return login, browser


@pytest.mark.parametrize("role", ["certificate-officer", "auditor"])
def test_other_roles_of_the_whole_directory_read_the_page_but_renew_nothing(
    admin_platform: AdminPlatform, unique: Callable[[str], str], role: str
) -> None:
    base = admin_platform.base_url
    ca = admin_platform.instance_ca()
    serials = [c.serial for c in ca.certificates(role="tsa")] + [c.serial for c in ca.certificates(role="ocsp")]
    login, browser = root_holder(admin_platform, unique, role)
    page = browser.session.get(f"{base}/admin/pki", timeout=30)
    assert page.status_code == 200 and "renew-certificate" not in page.text
    assert browser.session.get(f"{base}/admin/pki/renew/tsa", timeout=10).status_code == 403
    csrf = next(f for f in forms_of(page.text).values() if "csrf_token" in f["inputs"])["inputs"]["csrf_token"]
    posted = browser.session.post(f"{base}/admin/pki/renew/tsa", data={"csrf_token": csrf}, timeout=10)
    assert posted.status_code == 403 and 'data-code="not-permitted"' in posted.text
    problem(admin_platform.call("POST", "/api/admin/pki/renew/ocsp", login), 403)
    assert [c.serial for c in ca.certificates(role="tsa")] + [c.serial for c in ca.certificates(role="ocsp")] == serials


def test_the_api_renews_the_ocsp_responder_and_refuses_bad_input(admin_platform: AdminPlatform) -> None:
    ca = admin_platform.instance_ca()
    before = ca.chain().ocsp
    assert before is not None
    problem(admin_platform.call("POST", "/api/admin/pki/renew/root", "dungpt"), 404)
    for body in ({"days": 0}, {"days": "400"}, {"days": True}, {"days": 5000}):
        problem(admin_platform.call("POST", "/api/admin/pki/renew/ocsp", "dungpt", json=body), 400)
    problem(admin_platform.call("POST", "/api/admin/pki/renew/ocsp", "dungpt", data="x"), 400)
    assert ca.chain().ocsp.serial_number == before.serial_number  # type: ignore[union-attr]
    answer = admin_platform.call("POST", "/api/admin/pki/renew/ocsp", "dungpt", json={"days": 100})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["role"] == "ocsp" and body["previous"]["serial"] == format(before.serial_number, "x")
    current = x509.load_pem_x509_certificate(body["current"]["pem"].encode())
    assert current.serial_number == ca.chain().ocsp.serial_number  # type: ignore[union-attr]
    assert (current.not_valid_after_utc - current.not_valid_before_utc).days == 100
    status = admin_platform.call("GET", "/api/admin/pki", "dungpt").json()
    assert {p["role"]: p["serial"] for p in status["certificates"]}["ocsp"] == body["current"]["serial"]
    assert status["ocsp"]["answering"] is True


def test_an_expiring_ocsp_certificate_renewed_is_no_longer_flagged(admin_platform: AdminPlatform) -> None:
    """The clock moved to 10 days before the OCSP certificate's end: amber on the page and in the API; renewed, the
    row is green again with its new end, and the responder answers with the new certificate."""
    ca, clock = admin_platform.instance_ca(), admin_platform.instance.clock
    before = ca.chain().ocsp
    assert before is not None
    try:
        clock.advance(before.not_valid_after - timedelta(days=10) - clock.now())
        browser, _home = console_browser(admin_platform, "dungpt")  # signed in then: sessions end with time too
        page = browser.session.get(f"{admin_platform.base_url}/admin/pki", timeout=30)
        assert re.search(r'<tr data-role="ocsp" data-expiry="expiring"', page.text)
        # the banner: amber, or red where a certificate that ends before this one (another test of the session
        # renewed this one) has expired at the moved clock
        assert 'id="pki-warning"' in page.text or 'id="pki-expired"' in page.text
        answer = admin_platform.call("POST", "/api/admin/pki/renew/ocsp", "dungpt")
        assert answer.status_code == 200, answer.text
        status = admin_platform.call("GET", "/api/admin/pki", "dungpt").json()
        ocsp_part = next(p for p in status["certificates"] if p["role"] == "ocsp")
        assert ocsp_part["expiry"] == "ok" and ocsp_part["serial"] == answer.json()["current"]["serial"]
        assert ocsp_part["days_left"] >= 729
        assert status["ocsp"]["answering"] is True
        page = browser.session.get(f"{admin_platform.base_url}/admin/pki", timeout=30)
        assert re.search(r'<tr data-role="ocsp" data-expiry="ok"', page.text)
    finally:
        clock.reset()
        # the certificate renewed two years ahead is not valid yet today: one valid now for the tests that follow
        signing_service(admin_platform.instance).renew_ca_certificate("ocsp", actor="test")
