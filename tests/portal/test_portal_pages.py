"""The portal's pages over real HTTP without a browser: signed in through the provider, every refusal is a clear
page in the portal's look (never a 500 or a bare 404), applications with a home URL are listed, the inbox
searches and pages, and bad form values or forged posts sign nothing."""

from __future__ import annotations

import re

import pytest
import requests

from idp.oidc.clients import ClientSpec, client_registry
from signing.samples import sample_pdf
from tests.idp.rp import Browser
from tests.signing.conftest import Platform


@pytest.fixture
def browser(platform: Platform) -> Browser:
    browser = Browser(platform.base_url, **{"Accept-Language": "en"})
    page = browser.go(platform.base_url + "/documents").page
    assert page is not None
    outcome = browser.login(page, "an", "mật-khẩu-1")
    assert outcome.page is not None and outcome.page.status_code == 200
    assert outcome.page.url.startswith(platform.base_url + "/documents")  # back where an was going
    return browser


def csrf(page: requests.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def post_upload(browser: Browser, platform: Platform, data: bytes, **fields: str) -> requests.Response:
    form = browser.session.get(platform.base_url + "/documents/new", timeout=10)
    return browser.session.post(
        platform.base_url + "/documents/new",
        data={"csrf_token": csrf(form), **fields},
        files={"file": ("doc.pdf", data, "application/pdf")},
        timeout=30,
        allow_redirects=False,
    )


def test_refused_uploads_say_why_on_the_upload_page(browser: Browser, platform: Platform) -> None:
    not_pdf = post_upload(browser, platform, b"PK\x03\x04 a zip file")
    assert not_pdf.status_code == 422 and 'data-reason="not-pdf"' in not_pdf.text and "not a PDF" in not_pdf.text
    assert 'id="upload-form"' in not_pdf.text  # the form again, to choose another file
    truncated = post_upload(browser, platform, b"%PDF-1.7\n1 0 obj << >> endobj\n")
    assert truncated.status_code == 422 and 'data-reason="truncated"' in truncated.text
    too_big = post_upload(browser, platform, b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024 + 1))
    assert too_big.status_code == 413 and "larger than 20 MB" in too_big.text


def test_the_home_page_lists_applications_and_what_waits(browser: Browser, platform: Platform) -> None:
    registry = client_registry(platform.instance)
    listed, _ = registry.add(
        ClientSpec(name="Hồ sơ Đảng viên", redirect_uris=("https://hoso.example/cb",), home_url="https://hoso.example/")
    )
    registry.add(ClientSpec(name="Không có trang chủ", redirect_uris=("https://x.example/cb",)))
    created = post_upload(browser, platform, sample_pdf(pages=1, title="Ke hoach"), title="Kế hoạch số 5")
    assert created.status_code == 303
    home = browser.session.get(platform.base_url + "/", timeout=10)
    assert home.status_code == 200
    assert 'href="https://hoso.example/"' in home.text and "Không có trang chủ" not in home.text
    assert "Kế hoạch số 5" in home.text  # waiting for an's own signature
    assert re.search(r'<li data-event="signing:document:upload">.*Kế hoạch số 5</a>', home.text)  # recent activity
    registry.set_disabled(listed.client_id)
    assert "hoso.example" not in browser.session.get(platform.base_url + "/", timeout=10).text


def test_the_inbox_searches_and_pages(browser: Browser, platform: Platform) -> None:
    for n in range(23):
        assert (
            post_upload(browser, platform, sample_pdf(pages=1, title=f"TB {n}"), title=f"Thông báo {n}").status_code
            == 303
        )
    first = browser.session.get(platform.base_url + "/documents?box=sent&q=thông báo", timeout=10)
    assert first.status_code == 200 and 'id="next"' in first.text and "Page 1 of 2" in first.text
    second = browser.session.get(platform.base_url + "/documents?box=sent&q=thông báo&page=2", timeout=10)
    assert second.text.count("Thông báo") >= 3 and 'id="prev"' in second.text
    odd = browser.session.get(platform.base_url + "/documents?box=nonsense&page=-4", timeout=10)
    assert odd.status_code == 200  # an unknown box or page reads as the first page of the awaiting box


def test_bad_values_and_forged_posts_sign_nothing(browser: Browser, platform: Platform) -> None:
    created = post_upload(browser, platform, sample_pdf(pages=2, title="QD"), title="Quyết định 9")
    url = platform.base_url + created.headers["Location"]
    page = browser.session.get(url, timeout=10)
    token = csrf(page)
    placed = browser.session.post(
        url + "/placement",
        data={"csrf_token": token, "page": "abc", "x": "nan", "y": "-1e308", "width": "", "height": "inf"},
        timeout=10,
        allow_redirects=True,
    )
    # nonsense is put back on the page; the confirmation then says that an has no security key yet
    assert placed.status_code == 403 and 'id="register-key"' in placed.text
    assert re.search(r'id="confirm-placement">Page 1, 0 pt from the left, 0 pt from the bottom', placed.text)
    # over the page's text: the confirmation warns before anything is signed
    over_text = browser.session.post(
        url + "/placement",
        data={"csrf_token": token, "page": "1", "x": "60", "y": "720", "width": "300", "height": "100"},
        timeout=10,
    )
    assert 'id="overlap-warning"' in over_text.text and "covers text or drawings" in over_text.text
    assert 'id="overlap-warning"' in browser.session.get(url, timeout=10).text  # and so does the document page
    forged = browser.session.post(
        url + "/sign",
        data={"csrf_token": token, "authorisation": "x" * 500, "credential": "{not json", "reason": "r"},
        timeout=10,
    )
    assert forged.status_code == 403 and 'id="refused"' in forged.text
    for path in ("/pages/0.png", "/pages/3.png", "/../x", "x/history"):
        missing = browser.session.get(url + path, timeout=10)
        assert missing.status_code == 404, path
    unknown = browser.session.get(platform.base_url + "/documents/" + "A" * 40, timeout=10)
    assert unknown.status_code == 404 and 'id="message-title"' in unknown.text and "Document not found" in unknown.text


def test_signed_out_pages_send_to_sign_in(platform: Platform) -> None:
    anonymous = requests.get(platform.base_url + "/documents/new", timeout=10, allow_redirects=False)
    assert anonymous.status_code == 302 and "/authorize?" in anonymous.headers["Location"]
    welcome = requests.get(platform.base_url + "/", timeout=10)
    assert welcome.status_code == 200 and 'href="/verify"' in welcome.text and 'id="signin"' in welcome.text
