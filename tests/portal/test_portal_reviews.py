"""Review steps in the portal over real HTTP: the drafter names reviewers and a signer on the upload page, the
reviewer reads the previews and approves (then the signer has it waiting) or rejects with a comment (then the
drafter sees the rejection and the comment in the history and under "done"); acting out of turn is a clear 409
page, and a rejection without a comment is refused on the form."""

from __future__ import annotations

import re

import pytest
import requests

from signing.samples import sample_pdf
from tests.idp.rp import Browser
from tests.portal.test_portal_pages import csrf
from tests.signing.conftest import OFFICE, PROVINCE, Platform

PASSWORD = "mật-khẩu-duyệt"
OFFICIALS = (("hoa", "Phan Thị Hoa"), ("khanh", "Trịnh Văn Khánh"), ("thao", "Hà Thị Thảo"))


@pytest.fixture(scope="module")
def officials(platform: Platform) -> None:
    # this module's own officials: no security key of another test's makes their sign-in ask for more
    for uid, name in OFFICIALS:
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(
                uid, PASSWORD, full_name=name, position="Chuyên viên", unit=OFFICE, unit_path=(OFFICE, PROVINCE)
            )


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
        files={"file": ("to-trinh.pdf", sample_pdf(pages=2, title=title), "application/pdf")},
        timeout=30,
        allow_redirects=False,
    )


def decide(browser: Browser, url: str, decision: str, comment: str = "") -> requests.Response:
    page = browser.session.get(url, timeout=10)
    return browser.session.post(
        url + "/review",
        data={"csrf_token": csrf(page), "decision": decision, "comment": comment},
        timeout=10,
        allow_redirects=False,
    )


def test_a_reviewer_approves_and_the_signer_has_it(platform: Platform, officials: None) -> None:
    hoa = signed_in(platform, "hoa")
    unknown = upload(hoa, platform, "Tờ trình sai", reviewers="khanh, nobody", signers="thao")
    assert unknown.status_code == 422 and 'data-reason="unknown-official"' in unknown.text and "nobody" in unknown.text
    created = upload(hoa, platform, "Tờ trình duyệt A", reviewers="khanh", signers="thao")
    assert created.status_code == 303
    url = platform.base_url + created.headers["Location"]

    thao = signed_in(platform, "thao")
    assert "Tờ trình duyệt A" not in thao.session.get(platform.base_url + "/documents", timeout=10).text
    early = decide(thao, url, "approve")  # the signer cannot act before the review
    assert early.status_code == 409 and "Nothing to review here now" in early.text

    khanh = signed_in(platform, "khanh", "vi")
    page = khanh.session.get(url, timeout=10)
    assert page.status_code == 200 and 'id="review-form"' in page.text and 'id="placing"' not in page.text
    assert "Không duyệt" in page.text and "Duyệt" in page.text  # Vietnamese first
    preview = re.search(r'<img src="([^"]+\.png[^"]*)"', page.text)
    assert preview is not None
    image = khanh.session.get(platform.base_url + preview.group(1).replace("&amp;", "&"), timeout=30)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")  # the pages to read, before deciding
    not_a_signature = khanh.session.get(url + "/sign", timeout=10)
    assert not_a_signature.status_code == 409  # a reviewer reviews; signing is not their step
    forged = khanh.session.post(url + "/review", data={"decision": "approve"}, timeout=10, allow_redirects=False)
    assert forged.status_code in (400, 403) and "Tờ trình duyệt A" in khanh.session.get(url, timeout=10).text
    assert 'id="review-form"' in khanh.session.get(url, timeout=10).text  # no CSRF token: nothing decided
    approved = decide(khanh, url, "approve", "Nhất trí trình ký.")
    assert approved.status_code == 303
    after = khanh.session.get(platform.base_url + approved.headers["Location"], timeout=10)
    assert 'id="reviewed-notice"' in after.text and 'id="review-form"' not in after.text
    assert "Nhất trí trình ký." in after.text
    again = decide(khanh, url, "reject", "đổi ý")
    assert again.status_code == 409  # decided already

    waiting = thao.session.get(platform.base_url + "/documents", timeout=10)
    assert "Tờ trình duyệt A" in waiting.text  # now the signer's turn
    assert 'id="placing"' in thao.session.get(url, timeout=10).text


def test_a_rejection_needs_a_comment_and_the_drafter_sees_it(platform: Platform, officials: None) -> None:
    hoa = signed_in(platform, "hoa")
    created = upload(hoa, platform, "Tờ trình duyệt B", reviewers="khanh", signers="thao")
    url = platform.base_url + created.headers["Location"]
    khanh = signed_in(platform, "khanh")
    bare = decide(khanh, url, "reject", "   ")
    assert bare.status_code == 422 and 'id="review-error"' in bare.text and "comment is required" in bare.text
    assert decide(khanh, url, "maybe").status_code == 400
    rejected = decide(khanh, url, "reject", "Bổ sung căn cứ ở mục 2.")
    assert rejected.status_code == 303

    history = hoa.session.get(url + "/history", timeout=10)
    assert history.status_code == 200
    assert "Bổ sung căn cứ ở mục 2." in history.text and "Rejected" in history.text
    assert 'data-event="signing:document:review"' in history.text
    done = hoa.session.get(platform.base_url + "/documents?box=done", timeout=10)
    assert re.search(r"Tờ trình duyệt B.*Rejected<br><q[^>]*>Bổ sung căn cứ ở mục 2.</q>", done.text, re.S)
    sent = hoa.session.get(platform.base_url + "/documents?box=sent", timeout=10)
    assert "Bổ sung căn cứ ở mục 2." in sent.text  # the comment beside the rejection, in the list itself
    assert "Tờ trình duyệt B" in khanh.session.get(platform.base_url + "/documents?box=done", timeout=10).text
    thao = signed_in(platform, "thao")
    assert "Tờ trình duyệt B" not in thao.session.get(platform.base_url + "/documents", timeout=10).text
    assert decide(thao, url, "approve").status_code == 409
