"""Deadlines and re-sending in real Chromium: the drafter sets a deadline with the browser's date-time picker,
the reviewer rejects, the drafter sends a corrected PDF again from the document's page, and the reviewer's inbox
shows the document waiting again, overdue, with its reminder (screenshots looked at)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from signing.documents.reminders import send_reminders
from signing.samples import sample_pdf
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)
from tests.portal.test_portal_deadlines import PASSWORD, in_vietnam, move_deadline, officials
from tests.signing.conftest import Platform

__all__ = ["officials"]

pytestmark = pytest.mark.browser


def signed_in_page(chromium: Any, platform: Platform, login: str) -> Any:  # noqa: F811
    context = chromium.new_context(locale="vi-VN", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(platform.base_url + "/")
    page.locator("#signin").click()
    page.fill("#username", login)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.locator("#who").wait_for()
    return page


def test_a_rejected_document_sent_again_and_overdue_in_the_inbox(
    chromium: Any,  # noqa: F811
    platform: Platform,
    officials: None,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    first = tmp_path / "ke-hoach.pdf"
    first.write_bytes(sample_pdf(pages=1, title="Ke hoach 45-KH/TU"))
    corrected = tmp_path / "ke-hoach-sua.pdf"
    corrected.write_bytes(sample_pdf(pages=2, title="Ke hoach 45-KH/TU (sua)"))

    drafter = signed_in_page(chromium, platform, "quynh")
    drafter.goto(platform.base_url + "/documents/new")
    drafter.set_input_files("#file", str(first))
    drafter.fill("#title", "Kế hoạch 45-KH/TU")
    drafter.fill("#reviewers", "vinh")
    drafter.fill("#signers", "xuan")
    drafter.fill("#deadline", in_vietnam(platform, timedelta(days=2)))  # the browser's own date-time field
    drafter.locator("#upload-submit").click()
    drafter.locator("#doc-title").wait_for()
    url = drafter.url
    document_id = url.rsplit("/", 1)[-1]
    assert "hạn xử lý" in drafter.locator("#steps").inner_text()

    reviewer = signed_in_page(chromium, platform, "vinh")
    reviewer.goto(url)
    reviewer.fill("#comment", "Bổ sung kinh phí thực hiện ở mục III.")
    reviewer.locator("#reject").click()
    reviewer.locator("#reviewed-notice").wait_for()

    drafter.goto(url)
    drafter.locator("#resending").wait_for()
    drafter.locator("#resend").click()  # no file, no note: refused on the page, nothing sent
    drafter.locator("#resend-error").wait_for()
    assert drafter.locator("#resend-error").get_attribute("data-reason") == "note-required"
    drafter.goto(url)
    drafter.set_input_files("#resend-file", str(corrected))
    drafter.fill("#note", "Đã bổ sung kinh phí ở mục III.")
    drafter.screenshot(path=str(shots / "portal-resend.png"))
    drafter.locator("#resend").click()
    drafter.locator("#resent-notice").wait_for()
    assert drafter.locator("#resending").count() == 0
    steps = drafter.locator("#steps").inner_text()
    assert "vòng 2" in steps and "Bổ sung kinh phí thực hiện ở mục III." in steps
    assert drafter.locator("#pages img").count() == 2  # the corrected file's pages

    move_deadline(platform, document_id, datetime.now(UTC) - timedelta(hours=3))
    send_reminders(platform.instance)
    reviewer.goto(platform.base_url + "/documents")
    row = reviewer.locator("#documents tr", has_text="Kế hoạch 45-KH/TU")
    assert row.locator("[data-due=overdue]").inner_text().startswith("Quá hạn")
    assert "Kế hoạch 45-KH/TU" in reviewer.locator("#reminders [data-reminder=overdue]").inner_text()
    reviewer.screenshot(path=str(shots / "portal-inbox-deadlines.png"), full_page=True)
    reviewer.locator("#reminders a", has_text="Kế hoạch 45-KH/TU").click()
    reviewer.locator("#review-form").wait_for()  # the first review again, in the new round
