"""The official + seal document through the whole workflow in real Chromium (issue 11, item 13): three officials, each
in their own browser with Chrome's virtual authenticator — the drafter uploads and asks the records office to number,
seal and issue it to a unit; the signer places and signs; a member of the records office gives the number and date,
seals and issues; the recipient unit's official finds it under "Received" and downloads a file whose two signatures
pdfsig and pyHanko accept, and whose report says which is the official's and which the unit's seal. Then the
rejection path: a reviewer rejects with a comment, and the drafter sees it."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from signing.samples import sample_pdf
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)
from tests.portal.test_portal_browser import KEY, previews_shown, register_key, sign_in
from tests.signing.conftest import BOARD, OFFICE, PROVINCE, Platform
from tests.signing.independent import ades_verdicts, pdfsig

pytestmark = pytest.mark.browser

PASSWORD = "mật-khẩu-ban-hành"
OFFICIALS = (
    ("cr-soan", "Hoàng Thị Soạn", "Chuyên viên", {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}, ()),
    ("cr-ky", "Ngô Văn Ký", "Chánh Văn phòng", {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}, ()),
    ("cr-thu", "Lý Thị Thư", "Văn thư", {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}, ("van-thu-ht",)),
    ("cr-duyet", "Bạch Thị Duyệt", "Phó Chánh Văn phòng", {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}, ()),
    ("cr-nhan", "Đàm Văn Nhận", "Chuyên viên", {"unit": BOARD, "unit_path": (BOARD, PROVINCE)}, ()),
)


@pytest.fixture(scope="module")
def officials(platform: Platform) -> None:
    for uid, name, position, unit, groups in OFFICIALS:
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(uid, PASSWORD, full_name=name, position=position, groups=groups, **unit)


def official_browser(chromium: Any, platform: Platform, login: str, *, key: bool = True) -> Any:  # noqa: F811
    """A browser context of its own for one official, signed in (and with a security key registered)."""
    context = chromium.new_context(locale="vi-VN", accept_downloads=True, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    if key:
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        cdp.send("WebAuthn.addVirtualAuthenticator", {"options": KEY})
    sign_in(page, platform, login, PASSWORD)
    if key:
        register_key(page, platform, login, PASSWORD)
    return page


def upload(page: Any, platform: Platform, path: Path, title: str, **fields: str) -> str:
    page.goto(platform.base_url + "/documents/new")
    page.set_input_files("#file", str(path))
    page.fill("#title", title)
    for name, value in fields.items():
        if name == "records_office":
            page.check("#records_office")
        else:
            page.fill(f"#{name}", value)
    page.locator("#upload-submit").click()
    page.locator("#doc-title").wait_for()
    return str(page.url.rsplit("/", 1)[-1])


def test_official_and_seal_through_the_whole_workflow(
    chromium: Any,  # noqa: F811
    platform: Platform,
    officials: None,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    drafter = official_browser(chromium, platform, "cr-soan", key=False)
    signer = official_browser(chromium, platform, "cr-ky")
    clerk = official_browser(chromium, platform, "cr-thu")
    recipient = official_browser(chromium, platform, "cr-nhan", key=False)

    # the drafter: the records office numbers, seals and issues it to the Ban Tổ chức
    source = tmp_path / "quyet-dinh.pdf"
    source.write_bytes(sample_pdf(pages=2, size=80_000, title="Quyet dinh thanh lap"))
    drafter.goto(platform.base_url + "/documents/new")
    drafter.check("#records_office")
    drafter.fill("#recipient_units", BOARD.code)
    drafter.screenshot(path=str(shots / "portal-records-upload.png"), full_page=True)
    document_id = upload(
        drafter,
        platform,
        source,
        "Quyết định thành lập Tổ công tác",
        signers="cr-ky",
        records_office="1",
        recipient_units=BOARD.code,
    )
    steps = drafter.eval_on_selector_all(
        "#steps li", "items => items.map(i => i.dataset.kind + ':' + i.dataset.status)"
    )
    assert steps == ["sign:active", "seal:waiting", "issue:waiting"]
    assert BOARD.name in drafter.locator("#recipients").inner_text()
    url = f"{platform.base_url}/documents/{document_id}"

    # the records office has nothing to do yet; the recipient does not see the document at all
    clerk.goto(url)
    assert clerk.locator("#placing").count() == 0 and clerk.locator("#issue-form").count() == 0
    response = recipient.goto(url)
    assert response is not None and response.status == 404

    # the signer signs at the default place
    signer.goto(url)
    previews_shown(signer)
    signer.locator("#continue").click()
    signer.locator("#webauthn-form").wait_for()
    signer.locator("form[data-ready] #webauthn-submit").click()
    signer.locator("#signed-notice").wait_for()

    # the records office: the seal's place (left of the signature), the number and date, the seal, then issue
    clerk.goto(url)
    previews_shown(clerk)
    assert "Đặt vị trí con dấu" in clerk.locator("#placing h2").inner_text()
    clerk.screenshot(path=str(shots / "portal-records-seal-place.png"), full_page=True)
    clerk.locator("#continue").click()
    clerk.locator("#webauthn-form").wait_for()
    assert clerk.locator("h1").inner_text() == "Cấp số và đóng dấu văn bản"
    clerk.fill("#number", "27/QĐ-TU")
    clerk.locator("#lang-en").click()  # English second: the form as filled is not kept, the page is
    assert clerk.locator("h1").inner_text() == "Number and seal the document"
    clerk.screenshot(path=str(shots / "portal-records-number-en.png"), full_page=True)
    clerk.locator("#lang-vi").click()
    clerk.locator("#webauthn-form").wait_for()
    clerk.fill("#number", "27/QĐ-TU")
    clerk.screenshot(path=str(shots / "portal-records-number.png"), full_page=True)
    clerk.locator("form[data-ready] #webauthn-submit").click()
    clerk.locator("#signed-notice").wait_for()
    assert clerk.locator("#register-number").inner_text() == "27/QĐ-TU"
    previews_shown(clerk)
    clerk.screenshot(path=str(shots / "portal-records-sealed.png"), full_page=True)
    clerk.locator("#issue").click()
    clerk.locator("#issued-notice").wait_for()
    assert clerk.locator("#doc-status").inner_text() == "Đã xong"

    # the recipient unit's official: under "Received", read-only; two valid signatures, told apart by the report
    recipient.goto(platform.base_url + "/documents?box=received")
    assert "27/QĐ-TU" in recipient.locator("#documents").inner_text()
    recipient.screenshot(path=str(shots / "portal-records-received.png"), full_page=True)
    recipient.locator("#lang-en").click()  # English second
    assert recipient.locator("#box-received").inner_text() == "Received"
    recipient.screenshot(path=str(shots / "portal-records-received-en.png"), full_page=True)
    recipient.locator("#lang-vi").click()
    recipient.goto(url)
    assert recipient.locator("#received-notice").is_visible() and recipient.locator("#placing").count() == 0
    with recipient.expect_download() as downloading:
        recipient.locator("#download").click()
    sealed = tmp_path / "sealed.pdf"
    downloading.value.save_as(sealed)
    found = [f for f in pdfsig(sealed, platform.nss) if "Time-Stamping" not in f.common_name]
    assert [f.common_name for f in found] == ["Ngô Văn Ký", PROVINCE.name]
    assert all(f.signature_validation == "Signature is Valid." for f in found), found
    assert all(f.certificate_validation == "Certificate is Trusted." for f in found), found
    material = platform.revocation()
    with ThreadPoolExecutor(1) as other_thread:  # pyHanko's validator runs its own event loop; Playwright has one here
        verdicts = other_thread.submit(
            ades_verdicts, sealed.read_bytes(), [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses
        ).result()
    assert len(verdicts) >= 2 and all(v.status == "PASSED" for v in verdicts), verdicts
    recipient.locator("#report").click()
    recipient.locator("#report > .verdict").wait_for()
    roles = recipient.eval_on_selector_all(".signed-as", "items => items.map(i => i.dataset.signedAs)")
    assert roles == ["official", "seal"]
    assert recipient.locator("#report > .verdict").get_attribute("data-indication") == "TOTAL_PASSED"
    recipient.screenshot(path=str(shots / "portal-records-report.png"), full_page=True)
    for page in (drafter, signer, clerk, recipient):
        page.context.close()


def test_a_rejection_in_the_browser(
    chromium: Any,  # noqa: F811
    platform: Platform,
    officials: None,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    drafter = official_browser(chromium, platform, "cr-soan", key=False)
    reviewer = official_browser(chromium, platform, "cr-duyet", key=False)
    source = tmp_path / "to-trinh.pdf"
    source.write_bytes(sample_pdf(pages=1, size=40_000, title="To trinh"))
    document_id = upload(
        drafter,
        platform,
        source,
        "Tờ trình kinh phí hội nghị",
        reviewers="cr-duyet",
        signers="cr-ky",
        records_office="1",
        recipient_units=BOARD.code,
    )
    url = f"{platform.base_url}/documents/{document_id}"
    reviewer.goto(url)
    reviewer.locator("#reject").click()  # without a comment: refused on the form
    reviewer.locator("#review-error").wait_for()
    reviewer.fill("#comment", "Bổ sung dự toán chi tiết.")
    reviewer.screenshot(path=str(shots / "portal-records-reject.png"), full_page=True)
    reviewer.locator("#reject").click()
    reviewer.locator("#reviewed-notice").wait_for()
    steps = reviewer.eval_on_selector_all(
        "#steps li", "items => items.map(i => i.dataset.kind + ':' + i.dataset.status)"
    )
    assert steps == ["review:rejected", "sign:skipped", "seal:skipped", "issue:skipped"]
    drafter.goto(platform.base_url + "/documents?box=done")
    listed = drafter.locator("#documents").inner_text()
    assert "Tờ trình kinh phí hội nghị" in listed and "Bổ sung dự toán chi tiết." in listed
    drafter.goto(url)
    assert drafter.locator("#doc-status").inner_text() == "Bị từ chối"
    for page in (drafter, reviewer):
        page.context.close()
