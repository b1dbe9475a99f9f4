"""Batch signing in real Chromium (issue 11, item 5): an official with Chrome's virtual authenticator chooses two
documents in the inbox, sees both on one confirmation page with their digests, answers once with the key, and
gets both signed (each file checked by pyHanko's AdES validator)."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from signing.samples import sample_pdf
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)
from tests.portal.test_portal_browser import KEY, register_key, sign_in, upload
from tests.portal.test_portal_records import HERE
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts

pytestmark = pytest.mark.browser

LOGIN, PASSWORD = "lo-trinh", "mật-khẩu-lô"


def test_two_documents_signed_with_one_touch(chromium: Any, platform: Platform, tmp_path: Path) -> None:  # noqa: F811
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    if platform.directory.find_by_login(LOGIN) is None:
        platform.directory.add(LOGIN, PASSWORD, full_name="Vũ Văn Trình", position="Chánh Văn phòng", **HERE)  # type: ignore[arg-type]
    context = chromium.new_context(locale="vi-VN", accept_downloads=True, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": KEY})
    sign_in(page, platform, LOGIN, PASSWORD)
    register_key(page, platform, LOGIN, PASSWORD)
    digests = {}
    for n, title in enumerate(("Công văn lô 501/CV-VP", "Công văn lô 502/CV-VP")):
        pdf = sample_pdf(pages=1, title=f"Cong van lo {n}")
        source = tmp_path / f"lo-{n}.pdf"
        source.write_bytes(pdf)
        digests[upload(page, platform, source, title)] = hashlib.sha256(pdf).hexdigest()

    page.goto(platform.base_url + "/documents")
    for document_id in digests:
        page.locator(f"#choose-{document_id}").check()
    assert page.locator("#batch-sign").inner_text() == "Ký các văn bản đã chọn"
    page.screenshot(path=str(shots / "portal-batch-inbox.png"), full_page=True)
    page.locator("#batch-sign").click()

    page.locator("#webauthn-form").wait_for()
    shown = page.eval_on_selector_all(".batch-digest", "ds => ds.map(d => d.textContent.trim())")
    assert sorted(shown) == sorted(digests.values())  # exactly the uploaded bytes, each listed
    assert page.locator(".batch-placement").count() == 2
    page.screenshot(path=str(shots / "portal-batch-confirm.png"), full_page=True)
    page.locator("form[data-ready] #webauthn-submit").click()

    page.locator("#batch-results").wait_for(timeout=120_000)
    outcomes = page.eval_on_selector_all(".batch-result", "rs => rs.map(r => r.dataset.outcome)")
    assert outcomes == ["signed", "signed"]
    page.screenshot(path=str(shots / "portal-batch-done.png"), full_page=True)
    files = []
    for link in page.locator(".batch-download").all():
        with page.expect_download() as download:
            link.click()
        files.append(Path(download.value.path()).read_bytes())
    context.close()
    with ThreadPoolExecutor(1) as pool:  # pyHanko's validation runs its own event loop, playwright's is running here
        verdicts = list(pool.map(lambda pdf: ades_verdicts(pdf, [platform.root_der]), files))
    assert len(verdicts) == 2 and all(v.status == "PASSED" for [v] in verdicts), verdicts
