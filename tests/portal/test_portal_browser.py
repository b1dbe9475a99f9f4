"""The single-signer journey in real Chromium (issue 11, item 13): sign in to the portal through the provider,
register a security key (Chrome's virtual authenticator), upload a PDF, see its pages, drag the signature box,
confirm with the key, download the signed file and check it with pdfsig and pyHanko's AdES validator; a
wrong-document or reused assertion is refused and signs nothing; another unit's official gets a 404."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from signing.samples import sample_pdf
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts, pdfsig

pytestmark = pytest.mark.browser

KEY = {
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def sign_in(page: Any, platform: Platform, login: str, password: str) -> None:
    page.goto(platform.base_url + "/")
    page.locator("#signin").click()
    page.fill("#username", login)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.locator("#who").wait_for()


def register_key(page: Any, platform: Platform, login: str, password: str) -> None:
    page.goto(platform.base_url + "/account/security")
    if page.locator("#username").count():
        page.fill("#username", login)
        page.fill("#password", password)
        page.keyboard.press("Enter")
    page.locator("#add-webauthn").click()
    page.locator("#webauthn-form").wait_for()
    page.fill("#name", "Khóa ký số")
    page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#new-recovery-codes").wait_for()
    page.locator("#done").focus()  # autofocus may not have happened yet on a busy machine
    page.keyboard.press("Enter")
    page.locator("#security-keys li[data-kind=webauthn]").wait_for()


def upload(page: Any, platform: Platform, path: Path, title: str) -> str:
    page.goto(platform.base_url + "/documents/new")
    page.set_input_files("#file", str(path))
    page.fill("#title", title)
    page.locator("#upload-submit").click()
    page.locator("#doc-title").wait_for()
    return str(page.url.rsplit("/", 1)[-1])


def previews_shown(page: Any) -> list[int]:
    for _ in range(200):  # the page's CSP forbids eval, so no wait_for_function: poll from here
        if page.evaluate("() => [...document.querySelectorAll('#pages img')].every(i => i.complete)"):
            break
        page.wait_for_timeout(100)
    return list(page.eval_on_selector_all("#pages img", "imgs => imgs.map(i => i.naturalWidth)"))


def test_the_single_signer_journey(chromium: Any, platform: Platform, tmp_path: Path) -> None:  # noqa: F811
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(
        locale="vi-VN", accept_downloads=True, viewport={"width": 1100, "height": 900}, has_touch=True
    )
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": KEY})

    # signed out, the portal offers sign-in and the public verification page (no 404)
    page.goto(platform.base_url + "/")
    assert page.locator("#signin").is_visible() and page.locator("#verify").get_attribute("href") == "/verify"
    assert page.locator("h1").inner_text() == "Cổng cán bộ"  # Vietnamese first
    page.screenshot(path=str(shots / "portal-welcome.png"))
    page.locator("#lang-en").click()
    assert page.locator("h1").inner_text() == "Officials' portal"  # the English switch
    page.locator("#lang-vi").click()
    sign_in(page, platform, "cuong", "mật-khẩu-3")
    assert page.url == platform.base_url + "/" and "Lê Quốc Cường" in page.locator("#who").inner_text()
    register_key(page, platform, "cuong", "mật-khẩu-3")

    pdf = sample_pdf(pages=2, size=120_000, title="Cong van 318/CV-VPTU")
    source = tmp_path / "cong-van-318.pdf"
    source.write_bytes(pdf)
    document_id = upload(page, platform, source, "Công văn 318/CV-VPTU")
    other_id = upload(page, platform, source, "Công văn 319/CV-VPTU")
    third_id = upload(page, platform, source, "Công văn 320/CV-VPTU")

    page.goto(f"{platform.base_url}/documents/{document_id}")
    widths = previews_shown(page)
    assert len(widths) == 2 and all(w > 500 for w in widths)  # both pages rendered on the server, readable
    page.screenshot(path=str(shots / "portal-document.png"), full_page=True)

    # drag the box (a mouse here; the same Pointer Events carry a finger) to the left of the last page
    box = page.locator("#signature-box")
    before = {n: page.input_value(f"#placement-form input[name={n}]") for n in ("page", "x", "y")}
    assert before["page"] == "2"
    box.scroll_into_view_if_needed()
    handle = box.bounding_box()
    assert handle is not None
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(handle["x"] - 250, handle["y"] - 60, steps=8)
    page.mouse.up()
    after = {n: page.input_value(f"#placement-form input[name={n}]") for n in ("page", "x", "y")}
    assert after["page"] == "2" and float(after["x"]) < float(before["x"]) - 150
    assert float(after["y"]) > float(before["y"]) + 20
    page.screenshot(path=str(shots / "portal-placed.png"), full_page=True)
    page.locator("#continue").click()

    # the confirmation shows the digest of exactly the uploaded bytes, the place, the reason and location
    page.locator("#webauthn-form").wait_for()
    assert page.locator("#digest").inner_text() == hashlib.sha256(pdf).hexdigest()
    assert f"{round(float(after['x']))}" in page.locator("#confirm-placement").inner_text()
    page.fill("#reason", "Ký ban hành")
    page.fill("#location", "Hà Tĩnh")
    page.screenshot(path=str(shots / "portal-confirm.png"), full_page=True)

    # the key's answer over this document, sent for another one with the very same bytes: refused, nothing signed
    page.evaluate(f"document.getElementById('webauthn-form').action = '/documents/{other_id}/sign'")
    page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#refused").wait_for()
    assert page.locator("#refused").get_attribute("data-reason") == "wrong_document"
    page.goto(f"{platform.base_url}/documents/{other_id}")
    assert page.locator("#signature-box").count() == 1  # still waiting for its signature
    page.screenshot(path=str(shots / "portal-wrong-document.png"))

    # now for real: the answer goes to its own document and is kept to be replayed
    page.goto(f"{platform.base_url}/documents/{document_id}/sign")
    page.fill("#reason", "Ký ban hành")
    page.fill("#location", "Hà Tĩnh")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/sign")) as sent:
        page.locator("form[data-ready] #webauthn-submit").click()
    page.locator("#signed-notice").wait_for()
    posted = sent.value.post_data
    previews_shown(page)
    page.screenshot(path=str(shots / "portal-signed.png"), full_page=True)
    # the previews are now the signed file's: the stamp shows where the box was put
    assert all("v=2" in src for src in page.eval_on_selector_all("#pages img", "imgs => imgs.map(i => i.src)"))

    with page.expect_download() as downloading:
        page.locator("#download").click()
    signed = tmp_path / "signed.pdf"
    downloading.value.save_as(signed)
    assert signed.read_bytes() != pdf and signed.read_bytes().startswith(pdf)  # an incremental update
    found = pdfsig(signed, platform.nss)[0]
    assert found.signature_validation == "Signature is Valid." and found.common_name == "Lê Quốc Cường"
    assert found.certificate_validation == "Certificate is Trusted."
    material = platform.revocation()
    with ThreadPoolExecutor(1) as other_thread:  # pyHanko's validator runs its own event loop; Playwright has one here
        verdicts = other_thread.submit(
            ades_verdicts, signed.read_bytes(), [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses
        ).result()
    assert verdicts and all(v.status == "PASSED" for v in verdicts), verdicts

    # the verification report is one click away
    page.locator("#report").click()
    page.locator("#report > .verdict").wait_for()
    assert page.locator("#report > .verdict").get_attribute("data-indication") == "TOTAL_PASSED"
    page.screenshot(path=str(shots / "portal-report.png"), full_page=True)

    # the same answer again, for a document still waiting: used once, refused
    replay = context.request.post(
        f"{platform.base_url}/documents/{third_id}/sign",
        data=posted,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert replay.status == 403 and 'data-reason="reused"' in replay.text()
    again = context.request.post(
        f"{platform.base_url}/documents/{document_id}/sign",
        data=posted,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status == 409  # signed already: nothing to sign there

    # history: who did what when, from the audit chain
    page.goto(f"{platform.base_url}/documents/{document_id}/history")
    events = page.eval_on_selector_all("#history-entries tr[data-event]", "rows => rows.map(r => r.dataset.event)")
    assert events[0] == "signing:document:upload" and "signing:document:complete" in events
    page.screenshot(path=str(shots / "portal-history.png"), full_page=True)

    # the home page: what waits, the recent activity, the applications
    page.goto(platform.base_url + "/")
    assert page.locator("#awaiting .count").inner_text() == "2"
    assert "Công văn 318/CV-VPTU" in page.locator("#activity").inner_text()
    page.screenshot(path=str(shots / "portal-home.png"), full_page=True)

    # the inbox: nothing left waiting for the signed one, the two others are
    page.goto(f"{platform.base_url}/documents?box=awaiting")
    listed = page.locator("#documents").inner_text()
    assert "320/CV-VPTU" in listed and "318/CV-VPTU" not in listed
    page.screenshot(path=str(shots / "portal-inbox.png"), full_page=True)

    # a finger moves the box too (touch events, turned into the same Pointer Events by the browser)
    page.goto(f"{platform.base_url}/documents/{third_id}")
    previews_shown(page)
    box = page.locator("#signature-box")
    box.scroll_into_view_if_needed()
    handle = box.bounding_box()
    assert handle is not None
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 9):
        point = {"x": x - 30 * step, "y": y - 25 * step}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    touched = {n: float(page.input_value(f"#placement-form input[name={n}]")) for n in ("x", "y")}
    assert touched["x"] < float(before["x"]) - 100 and touched["y"] > float(before["y"]) + 100
    page.locator("#continue").click()
    assert f"{round(touched['x'])} pt" in page.locator("#confirm-placement").inner_text()

    # another unit's official: the document does not exist for them
    stranger = chromium.new_context(locale="vi-VN")
    other = stranger.new_page()
    sign_in(other, platform, "dung", "mật-khẩu-4")
    for path in ("", "/pages/1.png", "/file", "/history", "/sign", "/report"):
        response = other.goto(f"{platform.base_url}/documents/{document_id}{path}")
        assert response is not None and response.status == 404, path
    assert other.locator("#message-title").is_visible()
    other.screenshot(path=str(shots / "portal-not-found.png"))
    stranger.close()
    context.close()
