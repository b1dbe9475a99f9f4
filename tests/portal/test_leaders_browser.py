"""A unit's leaders as one step in real Chromium, in Vietnamese: the drafter names the group ``lanh-dao-ht`` as
reviewer and signer; the upload page grows one date-time field per step as the names are typed (the review gets
its own deadline, the signature keeps the document's); the document page lists both steps for "lãnh đạo Tỉnh ủy
Hà Tĩnh" with their deadlines; a deputy working in a board of the province finds it waiting and approves; the page
then says she did; the provincial leader finds the signature waiting (screenshots looked at)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from signing.samples import sample_pdf
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)
from tests.portal.test_portal_leaders import ELSEWHERE, add_officials, form_time
from tests.portal.test_portal_records import PASSWORD
from tests.signing.conftest import BOARD, OFFICE, PROVINCE, Platform

pytestmark = pytest.mark.browser

TITLE = "Tờ trình về kế hoạch kiểm tra năm 2027"
OFFICIALS = (
    ("ldb-soan", "Lưu Thị Soạn", (OFFICE, PROVINCE), ()),
    ("ldb-bithu", "Phan Văn Bình", (PROVINCE,), ("lanh-dao-ht",)),
    ("ldb-pho", "Trịnh Thị Phúc", (BOARD, PROVINCE), ("lanh-dao-ht",)),
    ("ldb-xa", "Lò Văn Xa", (ELSEWHERE,), ("lanh-dao-ht",)),
)


def signed_in_page(chromium: Any, platform: Platform, login: str) -> Any:  # noqa: F811
    context = chromium.new_context(locale="vi-VN", viewport={"width": 1100, "height": 1000})
    page = context.new_page()
    page.goto(platform.base_url + "/")
    page.locator("#signin").click()
    page.fill("#username", login)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.locator("#who").wait_for()
    return page


def test_the_leaders_step_with_its_own_deadline(chromium: Any, platform: Platform, tmp_path: Path) -> None:  # noqa: F811
    add_officials(platform, OFFICIALS)
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    pdf = tmp_path / "to-trinh.pdf"
    pdf.write_bytes(sample_pdf(pages=1, title="To trinh ke hoach kiem tra 2027"))
    now = platform.instance.clock.now()

    drafter = signed_in_page(chromium, platform, "ldb-soan")
    drafter.goto(platform.base_url + "/documents/new")
    assert drafter.locator("#step-deadlines").is_hidden()  # nobody named yet
    drafter.set_input_files("#file", str(pdf))
    drafter.fill("#title", TITLE)
    drafter.fill("#reviewers", "lanh-dao-ht")
    drafter.fill("#signers", "lanh-dao-ht")
    drafter.fill("#deadline", form_time(now + timedelta(days=7)))
    rows = drafter.locator("#step-deadline-rows li")
    assert rows.count() == 2 and drafter.locator("#step-deadlines").is_visible()
    assert rows.nth(0).inner_text().startswith("Thẩm định — lanh-dao-ht")
    drafter.fill("#deadline-review-lanh-dao-ht", form_time(now + timedelta(days=1)))
    drafter.fill("#signers", "lanh-dao-ht, ")  # typing on keeps what was typed for each name
    assert drafter.locator("#deadline-review-lanh-dao-ht").input_value() == form_time(now + timedelta(days=1))
    drafter.screenshot(path=str(shots / "portal-leaders-upload.png"), full_page=True)
    drafter.locator("#upload-submit").click()
    drafter.locator("#doc-title").wait_for()
    url = drafter.url
    steps = drafter.locator("#steps li")
    assert steps.count() == 2
    for n in range(2):
        assert "lãnh đạo Tỉnh ủy Hà Tĩnh" in steps.nth(n).inner_text()
    due = [steps.nth(n).locator("[data-deadline]").get_attribute("data-deadline") for n in range(2)]
    assert due[0] != due[1]  # the review's own deadline, the signature the document's

    outsider = signed_in_page(chromium, platform, "ldb-xa")  # in the group, working in another province
    outsider.goto(platform.base_url + "/documents")
    assert TITLE not in outsider.locator("main").inner_text()

    deputy = signed_in_page(chromium, platform, "ldb-pho")
    deputy.goto(platform.base_url + "/documents")
    deputy.locator("#documents a", has_text=TITLE).wait_for()
    deputy.screenshot(path=str(shots / "portal-leaders-inbox.png"), full_page=True)
    deputy.locator("#documents a", has_text=TITLE).click()
    deputy.fill("#comment", "Đồng ý, trình đồng chí Bí thư ký.")
    deputy.locator("#approve").click()
    deputy.locator("#reviewed-notice").wait_for()
    assert "do Trịnh Thị Phúc thực hiện" in deputy.locator("#steps li").nth(0).inner_text()
    deputy.screenshot(path=str(shots / "portal-leaders-reviewed.png"), full_page=True)
    deputy.locator("#lang-en").click()  # English second
    deputy.locator("#doc-title").wait_for()
    assert "Review — leaders of Tỉnh ủy Hà Tĩnh (by Trịnh Thị Phúc): Approved" in deputy.locator("#steps").inner_text()
    deputy.goto(platform.base_url + "/documents/new")
    deputy.fill("#signers", "lanh-dao-ht")
    assert deputy.locator("#step-deadline-rows li").inner_text().startswith("Signature — lanh-dao-ht")
    deputy.screenshot(path=str(shots / "portal-leaders-upload-en.png"), full_page=True)
    deputy.locator("#lang-vi").click()

    chief = signed_in_page(chromium, platform, "ldb-bithu")
    chief.goto(platform.base_url + "/documents")
    chief.locator("#documents a", has_text=TITLE).click()
    chief.locator("#doc-title").wait_for()
    assert chief.url == url and chief.locator("#continue").is_visible()  # the signature box, ready to sign
