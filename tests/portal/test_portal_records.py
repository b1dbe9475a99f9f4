"""The records office in the portal over real HTTP: the drafter asks on the upload page that the records office
number, seal and issue the document to a unit and an official; the signer signs; a member of the unit's records
office gives the number and date and applies the seal (a software authenticator answers the WebAuthn request), then
issues it; the recipients find it under "received" and download a file with two valid signatures (pdfsig), which the
report tells apart. Every rule is checked where a person would meet it: the order (409 pages), the group and the
unit (a member from another province gets 404), the number's uniqueness and form (the form again with a message),
who sees the document (404 until issued, and always for a stranger)."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
import requests

from directory.models import UnitKind, UnitRef
from signing.samples import sample_pdf
from tests.idp.mfa.soft_authenticator import SoftAuthenticator
from tests.idp.rp import Browser
from tests.portal.test_portal_pages import csrf
from tests.signing.conftest import BOARD, OFFICE, PROVINCE, Platform
from tests.signing.independent import pdfsig
from tests.signing.test_sole_control import answer, enrol

PASSWORD = "mật-khẩu-văn-thư"
ELSEWHERE = UnitRef("ou=qb,ou=units,dc=antin,dc=vn", "QB", "Tỉnh ủy Quảng Bình", UnitKind.PROVINCIAL_COMMITTEE)
HERE = {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}
AWAY = {"unit": ELSEWHERE, "unit_path": (ELSEWHERE,)}
OFFICIALS = (
    ("vt-soan", "Đoàn Thị Soạn", HERE, ()),
    ("vt-ky", "Nguyễn Hữu Ký", HERE, ()),
    ("vt-thu", "Lê Thị Thư", HERE, ("van-thu-ht",)),
    ("vt-ngoai", "Trương Văn Ngoại", AWAY, ("van-thu-ht",)),  # in the group, but not in Hà Tĩnh
    ("vt-ban", "Kiều Thị Ban", {"unit": BOARD, "unit_path": (BOARD, PROVINCE)}, ()),
    ("vt-nhan", "Phí Văn Nhận", AWAY, ()),
    ("vt-la", "Tăng Văn Lạ", AWAY, ()),
)


@pytest.fixture(scope="module")
def officials(platform: Platform) -> None:
    for uid, name, unit, groups in OFFICIALS:
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(uid, PASSWORD, full_name=name, position="Chuyên viên", groups=groups, **unit)


@pytest.fixture(scope="module")
def browsers(platform: Platform, officials: None) -> dict[str, Browser]:
    """Each official signed in once, before any has a security key (a key makes the next sign-in ask for it)."""
    return {uid: signed_in(platform, uid) for uid, *_ in OFFICIALS}


def signed_in(platform: Platform, uid: str, language: str = "en") -> Browser:
    browser = Browser(platform.base_url, **{"Accept-Language": language})
    page = browser.go(platform.base_url + "/documents").page
    assert page is not None
    outcome = browser.login(page, uid, PASSWORD)
    assert outcome.page is not None and outcome.page.status_code == 200
    return browser


def upload(browser: Browser, platform: Platform, title: str, **fields: str) -> requests.Response:
    form = browser.session.get(platform.base_url + "/documents/new", timeout=10)
    return browser.session.post(
        platform.base_url + "/documents/new",
        data={"csrf_token": csrf(form), "title": title, **fields},
        files={"file": ("quyet-dinh.pdf", sample_pdf(pages=1, title=title), "application/pdf")},
        timeout=30,
        allow_redirects=False,
    )


def key_of(platform: Platform, uid: str, keys: dict[str, SoftAuthenticator] = {}) -> SoftAuthenticator:  # noqa: B006
    # enrolled after sign-in (a key makes the next sign-in ask for it), once per official
    if uid not in keys:
        person = platform.directory.find_by_login(uid)
        assert person is not None
        keys[uid] = enrol(platform.instance, person.entry_uuid, origin=platform.base_url)
    return keys[uid]


def sign(browser: Browser, platform: Platform, uid: str, url: str, **fields: str) -> requests.Response:
    """The confirmation page, the security key's answer over its options, the form sent."""
    key = key_of(platform, uid)
    page = browser.session.get(url + "/sign", timeout=10)
    assert page.status_code == 200, page.text
    options = re.search(r'data-options="([^"]+)"', page.text)
    authorisation = re.search(r'name="authorisation" value="([^"]+)"', page.text)
    assert options is not None and authorisation is not None
    credential = answer(key, json.loads(html.unescape(options.group(1))))
    return browser.session.post(
        url + "/sign",
        data={
            "csrf_token": csrf(page),
            "authorisation": authorisation.group(1),
            "credential": json.dumps(credential),
            "reason": "",
            "location": "Hà Tĩnh",
            **fields,
        },
        timeout=120,
        allow_redirects=False,
    )


def issue(browser: Browser, url: str) -> requests.Response:
    page = browser.session.get(url, timeout=10)
    return browser.session.post(url + "/issue", data={"csrf_token": csrf(page)}, timeout=10, allow_redirects=False)


def test_upload_names_the_recipients_or_is_refused(platform: Platform, browsers: dict[str, Browser]) -> None:
    in_vietnamese = signed_in(platform, "vt-soan", "vi")
    form = in_vietnamese.session.get(platform.base_url + "/documents/new", timeout=10)
    assert 'id="records-office"' in form.text and "Văn thư cấp số, đóng dấu và ban hành" in form.text
    drafter = browsers["vt-soan"]
    nobody = upload(drafter, platform, "QĐ thiếu nơi nhận", signers="vt-ky", records_office="1")
    assert nobody.status_code == 422 and 'data-reason="no-recipients"' in nobody.text
    unknown = upload(drafter, platform, "QĐ sai đơn vị", signers="vt-ky", records_office="1", recipient_units="XX-9")
    assert unknown.status_code == 422 and 'data-reason="unknown-unit"' in unknown.text and "XX-9" in unknown.text
    lonely = browsers["vt-la"]  # Quảng Bình has no records office in this directory
    nowhere = upload(lonely, platform, "QĐ không văn thư", records_office="1", recipient_units=BOARD.code)
    assert nowhere.status_code == 422 and 'data-reason="no-records-office"' in nowhere.text


def test_sign_number_seal_issue_and_receive(platform: Platform, browsers: dict[str, Browser]) -> None:
    drafter, signer, clerk = (browsers[uid] for uid in ("vt-soan", "vt-ky", "vt-thu"))
    outsider, board, reader, stranger = (browsers[uid] for uid in ("vt-ngoai", "vt-ban", "vt-nhan", "vt-la"))
    fields = {
        "signers": "vt-ky",
        "records_office": "1",
        "recipient_units": BOARD.code,
        "recipient_officials": "vt-nhan",
    }
    created = upload(drafter, platform, "Quyết định thành lập tổ công tác", **fields)
    assert created.status_code == 303
    url = platform.base_url + created.headers["Location"]
    page = drafter.session.get(url, timeout=10).text
    assert 'id="register"' in page and PROVINCE.name in page and "Phí Văn Nhận" in page and BOARD.name in page
    assert re.search(r'data-kind="seal">Number and seal — records office of Tỉnh ủy Hà Tĩnh: Not yet', page)

    # in order: the records office waits for the signature; nobody outside the unit sees the document
    assert clerk.session.get(url + "/sign", timeout=10).status_code == 409
    assert issue(clerk, url).status_code == 409
    for browser in (outsider, board, reader, stranger):
        assert browser.session.get(url, timeout=10).status_code == 404
    assert sign(signer, platform, "vt-ky", url).status_code == 303

    # the records office: a group member working elsewhere gets 404; the clerk of Hà Tĩnh places, numbers, seals
    for path in ("", "/sign", "/file"):
        assert outsider.session.get(url + path, timeout=10).status_code == 404
    assert "Quyết định thành lập tổ công tác" in clerk.session.get(platform.base_url + "/documents", timeout=10).text
    page = clerk.session.get(url, timeout=10).text
    assert "Place the unit" in page and 'id="placing"' in page
    assert issue(clerk, url).status_code == 409  # the seal comes first
    key_of(platform, "vt-thu")
    confirmation = clerk.session.get(url + "/sign", timeout=10).text
    assert 'id="number"' in confirmation and 'type="date"' in confirmation and "Number and seal" in confirmation
    today = platform.instance.clock.now().date()
    bad = sign(clerk, platform, "vt-thu", url, number="số mười", issued_on=today.isoformat())
    assert bad.status_code == 422 and 'id="register-error"' in bad.text and 'value="số mười"' in bad.text
    future = sign(clerk, platform, "vt-thu", url, number="21/QĐ-TU", issued_on=(today + timedelta(days=2)).isoformat())
    assert future.status_code == 422 and "between the day the document was uploaded and today" in future.text
    sealed = sign(clerk, platform, "vt-thu", url, number="21/QĐ-TU", issued_on=today.isoformat())
    assert sealed.status_code == 303
    page = clerk.session.get(url, timeout=10).text
    assert "21/QĐ-TU" in page and today.strftime("%d/%m/%Y") in page and 'id="issue-form"' in page
    assert board.session.get(url, timeout=10).status_code == 404  # sealed, not yet sent
    assert issue(signer, url).status_code == 409  # the signer is not the records office
    issued = issue(clerk, url)
    assert issued.status_code == 303 and "issued=1" in issued.headers["Location"]
    assert issue(clerk, url).status_code == 409  # once

    # the recipients find it under "received", read-only, and download two valid signatures
    for browser in (board, reader):
        received = browser.session.get(platform.base_url + "/documents?box=received", timeout=10).text
        assert "Quyết định thành lập tổ công tác" in received and "21/QĐ-TU" in received
        page = browser.session.get(url, timeout=10).text
        assert 'id="received-notice"' in page and 'id="placing"' not in page and 'id="issue-form"' not in page
        assert 'id="history"' not in page
        assert browser.session.get(url + "/sign", timeout=10).status_code == 409
    signed = reader.session.get(url + "/file", timeout=30)
    assert signed.status_code == 200 and signed.content.startswith(b"%PDF")
    out = platform.data_dir / "issued-over-http.pdf"
    out.write_bytes(signed.content)
    found = [f for f in pdfsig(out, platform.nss) if "Time-Stamping" not in f.common_name]
    assert [f.common_name for f in found] == ["Nguyễn Hữu Ký", PROVINCE.name]
    assert all(f.signature_validation == "Signature is Valid." for f in found), found
    report = reader.session.get(url + "/report", timeout=60).text
    assert re.findall(r'data-signed-as="(\w+)"', report) == ["official", "seal"]
    assert "Con dấu của đơn vị" in report and report.count('data-indication="TOTAL_PASSED"') >= 2
    assert "signing:document:issue" in drafter.session.get(url + "/history", timeout=10).text
    # the recipients get the document, not the drafting unit's internal history
    assert reader.session.get(url + "/history", timeout=10).status_code == 404
    for path in ("", "/file", "/history"):
        assert stranger.session.get(url + path, timeout=10).status_code == 404
    assert "tổ công tác" not in stranger.session.get(platform.base_url + "/documents?box=received", timeout=10).text


def test_a_number_given_twice_in_a_year_is_refused(platform: Platform, browsers: dict[str, Browser]) -> None:
    drafter, signer, clerk = (browsers[uid] for uid in ("vt-soan", "vt-ky", "vt-thu"))
    fields = {"signers": "vt-ky", "records_office": "1", "recipient_units": BOARD.code}
    urls = []
    for title in ("Công văn số một", "Công văn số hai"):
        created = upload(drafter, platform, title, **fields)
        urls.append(platform.base_url + created.headers["Location"])
        assert sign(signer, platform, "vt-ky", urls[-1]).status_code == 303
    today = platform.instance.clock.now().date().isoformat()
    assert sign(clerk, platform, "vt-thu", urls[0], number="30/CV-TU", issued_on=today).status_code == 303
    taken = sign(clerk, platform, "vt-thu", urls[1], number="30/cv-tu", issued_on=today)
    assert taken.status_code == 422 and "used already this year" in taken.text
    assert 'id="issue-form"' not in clerk.session.get(urls[1], timeout=10).text  # nothing sealed
    assert sign(clerk, platform, "vt-thu", urls[1], number="31/CV-TU", issued_on=today).status_code == 303
