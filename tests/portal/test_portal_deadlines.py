"""Deadlines and re-sending in the portal over real HTTP: the drafter sets a deadline on the upload page (Vietnam
time; a past or malformed one is refused on the form); the reviewer's inbox shows it, then "due soon" and
"overdue" with the reminders sent; a rejected document is sent again by its drafter with a corrected file (or
the same file and a note, required), the reviewer has it waiting again, and the history keeps the rejection and
the new version. Vietnamese first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import update

from signing.documents.models import DocumentStep
from signing.documents.reminders import send_reminders
from signing.samples import sample_pdf
from tests.idp.rp import Browser
from tests.portal.test_portal_pages import csrf
from tests.portal.test_portal_reviews import decide
from tests.signing.conftest import OFFICE, PROVINCE, Platform

PASSWORD = "mật-khẩu-hạn"
OFFICIALS = (("quynh", "Lương Thị Quỳnh"), ("vinh", "Tạ Quang Vinh"), ("xuan", "Đào Thị Xuân"))
VIETNAM_NOW = "%Y-%m-%dT%H:%M"


@pytest.fixture(scope="module")
def officials(platform: Platform) -> None:
    for uid, name in OFFICIALS:
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(
                uid, PASSWORD, full_name=name, position="Chuyên viên", unit=OFFICE, unit_path=(OFFICE, PROVINCE)
            )


def signed_in(platform: Platform, uid: str, language: str = "vi") -> Browser:
    browser = Browser(platform.base_url, **{"Accept-Language": language})
    page = browser.go(platform.base_url + "/documents").page
    assert page is not None
    outcome = browser.login(page, uid, PASSWORD)
    assert outcome.page is not None and outcome.page.status_code == 200
    return browser


def in_vietnam(platform: Platform, delta: timedelta) -> str:
    return (platform.instance.clock.now() + delta + timedelta(hours=7)).strftime(VIETNAM_NOW)


def upload(browser: Browser, platform: Platform, title: str, deadline: str, **fields: str) -> requests.Response:
    form = browser.session.get(platform.base_url + "/documents/new", timeout=10)
    assert 'type="datetime-local" id="deadline"' in form.text and "Hạn xử lý (không bắt buộc)" in form.text
    return browser.session.post(
        platform.base_url + "/documents/new",
        data={"csrf_token": csrf(form), "title": title, "deadline": deadline, **fields},
        files={"file": ("to-trinh.pdf", sample_pdf(pages=1, title=title), "application/pdf")},
        timeout=30,
        allow_redirects=False,
    )


def row_of(page: requests.Response, title: str) -> str:
    match = re.search(r"<tr><td><a [^>]*>" + re.escape(title) + r"</a>.*?</tr>", page.text, re.S)
    assert match is not None, title
    return match.group(0)


def move_deadline(platform: Platform, document_id: str, when: datetime) -> None:
    with platform.instance.database.transaction() as conn:
        conn.execute(
            update(DocumentStep)
            .where(DocumentStep.document_id == document_id, DocumentStep.status == "active")
            .values(deadline=when)
        )


def test_the_deadline_is_set_on_upload_and_shown_due_then_overdue(platform: Platform, officials: None) -> None:
    quynh = signed_in(platform, "quynh")
    past = upload(quynh, platform, "Tờ trình hạn sai", in_vietnam(platform, -timedelta(hours=1)), reviewers="vinh")
    assert past.status_code == 422 and 'data-reason="deadline-past"' in past.text
    assert "Hạn xử lý đã qua" in past.text and 'value="Tờ trình hạn sai"' in past.text  # the form kept
    garbled = upload(quynh, platform, "Tờ trình hạn sai", "ngày mai", reviewers="vinh")
    assert garbled.status_code == 422 and 'data-reason="deadline-invalid"' in garbled.text

    deadline = in_vietnam(platform, timedelta(days=3))
    created = upload(quynh, platform, "Tờ trình có hạn", deadline, reviewers="vinh", signers="xuan")
    assert created.status_code == 303
    url = platform.base_url + created.headers["Location"]
    document_id = url.rsplit("/", 1)[1]
    shown = datetime.strptime(deadline, VIETNAM_NOW).strftime("%d/%m/%Y %H:%M")  # the Vietnam time typed
    page = quynh.session.get(url, timeout=10)
    assert f"hạn xử lý {shown}" in page.text  # on each step still to come

    vinh = signed_in(platform, "vinh")
    inbox = vinh.session.get(platform.base_url + "/documents", timeout=10)
    assert "<th>Hạn xử lý</th>" in inbox.text
    row = row_of(inbox, "Tờ trình có hạn")
    assert 'data-due="later"' in row and shown in row
    # another test's overdue document may have put a reminders box on the page: this one is not in it (yet)
    box = inbox.text.split('id="reminders"')[1].split("</section>")[0] if 'id="reminders"' in inbox.text else ""
    assert "Tờ trình có hạn" not in box

    move_deadline(platform, document_id, datetime.now(UTC) + timedelta(hours=5))  # inside remind_before_hours
    send_reminders(platform.instance)
    inbox = vinh.session.get(platform.base_url + "/documents", timeout=10)
    assert 'data-due="soon"' in row_of(inbox, "Tờ trình có hạn") and "Sắp đến hạn" in inbox.text
    reminders = inbox.text.split('id="reminders"')[1].split("</section>")[0]
    assert "Tờ trình có hạn" in reminders and 'data-reminder="due_soon"' in reminders
    home = vinh.session.get(platform.base_url + "/", timeout=10)
    assert 'id="reminders"' in home.text and "Tờ trình có hạn" in home.text

    move_deadline(platform, document_id, datetime.now(UTC) - timedelta(hours=2))
    send_reminders(platform.instance)
    inbox = vinh.session.get(platform.base_url + "/documents", timeout=10)
    row = row_of(inbox, "Tờ trình có hạn")
    assert 'data-due="overdue"' in row and "Quá hạn" in row
    reminders = inbox.text.split('id="reminders"')[1].split("</section>")[0]
    assert 'data-reminder="overdue"' in reminders and "quá hạn từ" in reminders
    english = signed_in(platform, "vinh", "en").session.get(platform.base_url + "/documents", timeout=10)
    assert "Overdue" in row_of(english, "Tờ trình có hạn") and "overdue since" in english.text
    history = quynh.session.get(url + "/history", timeout=10)
    assert 'data-event="signing:document:remind"' in history.text and "Đã gửi nhắc việc" in history.text
    # the entries' details in words and in Vietnam's time, not the log's keys and ISO times
    assert "Hạn xử lý: " in history.text and "Gửi đến: " in history.text and "deadline:" not in history.text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", history.text)

    # the drafter sees no reminder: nothing waits for her
    assert 'id="reminders"' not in quynh.session.get(platform.base_url + "/documents", timeout=10).text


def test_a_rejected_document_is_sent_again_and_reviewed_again(platform: Platform, officials: None) -> None:
    quynh = signed_in(platform, "quynh")
    created = upload(quynh, platform, "Công văn gửi lại", "", reviewers="vinh", signers="xuan")
    url = platform.base_url + created.headers["Location"]
    vinh = signed_in(platform, "vinh")
    assert decide(vinh, url, "reject", "Sai thể thức, sửa lại phần kính gửi.").status_code == 303

    page = quynh.session.get(url, timeout=10)
    assert 'id="resend-form"' in page.text and "Gửi lại văn bản" in page.text
    assert 'id="resend-form"' not in vinh.session.get(url, timeout=10).text  # the reviewer does not re-send
    forged = vinh.session.post(
        url + "/resend", data={"csrf_token": csrf(page), "note": "x"}, timeout=10, allow_redirects=False
    )
    assert forged.status_code in (400, 403, 409)

    bare = quynh.session.post(
        url + "/resend", data={"csrf_token": csrf(page), "note": " "}, timeout=10, allow_redirects=False
    )
    assert bare.status_code == 422 and 'data-reason="note-required"' in bare.text and 'id="resend-form"' in bare.text
    bad_file = quynh.session.post(
        url + "/resend",
        data={"csrf_token": csrf(page), "note": "sửa"},
        files={"file": ("sua.pdf", b"not a pdf", "application/pdf")},
        timeout=10,
        allow_redirects=False,
    )
    assert bad_file.status_code == 422 and 'data-reason="not-pdf"' in bad_file.text

    corrected = sample_pdf(pages=2, title="Công văn gửi lại (đã sửa)")
    resent = quynh.session.post(
        url + "/resend",
        data={
            "csrf_token": csrf(page),
            "note": "Đã sửa phần kính gửi.",
            "deadline": in_vietnam(platform, timedelta(days=2)),
        },
        files={"file": ("cong-van-sua.pdf", corrected, "application/pdf")},
        timeout=30,
        allow_redirects=False,
    )
    assert resent.status_code == 303
    after = quynh.session.get(platform.base_url + resent.headers["Location"], timeout=10)
    assert 'id="resent-notice"' in after.text and 'id="resend-form"' not in after.text
    assert "vòng 2" in after.text and "Sai thể thức, sửa lại phần kính gửi." in after.text  # the rejection kept
    assert quynh.session.get(url + "/file", timeout=10).content == corrected

    waiting = vinh.session.get(platform.base_url + "/documents", timeout=10)
    assert "Công văn gửi lại" in waiting.text  # the first review again
    review_page = vinh.session.get(url, timeout=10)
    assert 'id="review-form"' in review_page.text
    assert decide(vinh, url, "approve", "Đạt.").status_code == 303
    assert (
        "Công văn gửi lại" in signed_in(platform, "xuan").session.get(platform.base_url + "/documents", timeout=10).text
    )

    history = quynh.session.get(url + "/history", timeout=10)
    events = re.findall(r'data-event="([^"]+)"', history.text)
    assert events.index("signing:document:review") < events.index("signing:document:resend")
    assert "Đã gửi lại" in history.text and "Đã sửa phần kính gửi." in history.text
    again = quynh.session.post(
        url + "/resend", data={"csrf_token": csrf(after), "note": "lần nữa"}, timeout=10, allow_redirects=False
    )
    assert again.status_code == 409  # in progress: nothing to re-send
