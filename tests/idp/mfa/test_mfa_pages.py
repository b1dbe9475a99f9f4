"""TOTP through the pages, against the provider with an in-memory directory: enrolment, the second step, acr and
amr in the ID token (checked by the independent verifier), replays and recovery codes, the security page."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

from idp.mfa.code_throttle import MFA_DEVICE_COOKIE
from idp.oidc.acr import ACR_MFA, ACR_PASSWORD
from idp.throttle import DEVICE_COOKIE
from tests.idp.conftest import make_directory
from tests.idp.mfa.pages import enrol_totp, sign_in_to_account, text_of
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty, forms_of

PASSWORD = "correct horse"


def second_step_page(rp: RelyingParty, login: str = "an.nguyen") -> tuple[Browser, object]:
    browser = Browser(rp.op.issuer, **{"Accept-Language": "en"})
    page = rp.authorize(browser).page
    assert page is not None
    step = browser.login(page, login, PASSWORD).page
    assert step is not None and 'id="code-form"' in step.text, step.text[:300] if step else None
    return browser, step


def test_enrol_then_sign_in_with_password_and_code(op: LiveProvider, rp: RelyingParty) -> None:
    account = Browser(op.issuer, **{"Accept-Language": "en"})
    page = sign_in_to_account(account, "an.nguyen", PASSWORD)
    assert 'id="no-factor"' in page.text
    enrolled = enrol_totp(account)

    browser, step = second_step_page(rp)
    assert 'autocomplete="one-time-code"' in step.text  # type: ignore[attr-defined]
    wrong = browser.submit(step, "code-form", {"code": "000000"}).page  # type: ignore[arg-type]
    assert wrong is not None and wrong.status_code == 401 and 'id="code-error"' in wrong.text
    code = enrolled.app.now()
    params = browser.submit(step, "code-form", {"code": code}).params  # type: ignore[arg-type]
    tokens = rp.exchange(params["code"]).json()
    claims = rp.verify_id_token(tokens["id_token"], access_token=tokens["access_token"])
    assert claims["acr"] == ACR_MFA
    assert claims["amr"] == ["pwd", "otp", "mfa"]

    # the same code from another browser, inside its window: refused with a page that says why
    other, other_step = second_step_page(rp)
    replay = other.submit(other_step, "code-form", {"code": code}).page  # type: ignore[arg-type]
    assert replay is not None and replay.status_code == 401
    assert "already been used" in text_of(replay, "code-error")


def test_a_password_only_official_stays_at_the_password_level(op: LiveProvider, rp: RelyingParty) -> None:
    tokens = rp.code_flow(Browser(op.issuer), username="binh.tran", password=PASSWORD)
    assert tokens["id_claims"]["acr"] == ACR_PASSWORD and tokens["id_claims"]["amr"] == ["pwd"]


def test_a_recovery_code_instead_of_the_app_once_only(op: LiveProvider, rp: RelyingParty) -> None:
    account = Browser(op.issuer, **{"Accept-Language": "en"})
    sign_in_to_account(account, "an.nguyen", PASSWORD)
    enrolled = enrol_totp(account)

    browser, step = second_step_page(rp)
    recovery_page = browser.go(op.issuer + re.findall(r'id="use-recovery" href="([^"]+)"', step.text)[0]).page  # type: ignore[attr-defined]
    assert recovery_page is not None and 'autocomplete="one-time-code"' in recovery_page.text
    used = browser.submit(recovery_page, "recovery-form", {"recovery_code": enrolled.recovery_codes[3]}).page
    assert used is not None and text_of(used, "recovery-left") == "Recovery codes left: 9"
    target = re.findall(r'id="continue" href="([^"]+)"', used.text)[0].replace("&amp;", "&")
    params = browser.go(op.issuer + target).params
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]

    again, again_step = second_step_page(rp)
    recovery_page = again.go(op.issuer + urlsplit(again_step.url).path + "?method=recovery").page  # type: ignore[attr-defined]
    assert recovery_page is not None
    refused = again.submit(recovery_page, "recovery-form", {"recovery_code": enrolled.recovery_codes[3]}).page
    assert refused is not None and refused.status_code == 401

    security = account.go(op.issuer + "/account/security").page
    assert security is not None and text_of(security, "recovery-count") == "Recovery codes left: 9"
    events = [e.event for e in op.instance.audit.entries(event="mfa:recovery:use")]
    assert events == ["mfa:recovery:use"]


def test_the_security_page_lists_the_app_and_new_codes_replace_old(op: LiveProvider) -> None:
    account = Browser(op.issuer, **{"Accept-Language": "en"})
    sign_in_to_account(account, "an.nguyen", PASSWORD)
    enrolled = enrol_totp(account)
    page = account.go(op.issuer + "/account/security").page
    assert page is not None and "Điện thoại" in page.text and "Recovery codes left: 10" in page.text
    form_page = account.go(op.issuer + "/account/security/recovery-codes").page
    assert form_page is not None
    # the session was opened with the password only: changing factors asks for a sign-in with the code first
    again = account.submit(form_page, "regenerate-form").page
    assert again is not None and "sign in again" in text_of(again, "login-notice")
    step = account.login(again, "an.nguyen", PASSWORD).page
    assert step is not None and 'id="code-form"' in step.text
    form_page = account.submit(step, "code-form", {"code": enrolled.app.now()}).page
    assert form_page is not None and form_page.url.endswith("/account/security/recovery-codes")
    fresh = account.submit(form_page, "regenerate-form").page
    assert fresh is not None
    new_codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", fresh.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(enrolled.recovery_codes)

    page = account.go(op.issuer + "/account/security").page
    assert page is not None
    events = text_of(page, "security-events")
    for seen in ("Authenticator app added", "New recovery codes made", "Code from the authenticator app accepted"):
        assert seen in page.text, events
    (rename,) = [name for name in forms_of(page.text) if name.startswith("rename-")]
    renamed = account.submit(page, rename, {"name": "Điện thoại công vụ"}).page
    assert renamed is not None and text_of(renamed, "security-message") == "The name has been changed."
    assert "<strong>Điện thoại công vụ</strong>" in renamed.text


def test_pages_speak_vietnamese_first(op: LiveProvider, rp: RelyingParty) -> None:
    account = Browser(op.issuer)
    page = sign_in_to_account(account, "an.nguyen", PASSWORD)
    assert '<html lang="vi">' in page.text and "Bảo mật" in page.text


def test_removing_the_app_needs_a_fresh_sign_in_with_its_code(op: LiveProvider, rp: RelyingParty) -> None:
    account = Browser(op.issuer, **{"Accept-Language": "en"})
    sign_in_to_account(account, "an.nguyen", PASSWORD)
    enrolled = enrol_totp(account)
    security = account.go(op.issuer + "/account/security").page
    assert security is not None
    forms = [name for name in forms_of(security.text) if name.startswith("remove-")]
    again = account.submit(security, forms[0]).page  # "Remove": the session holds the password only
    assert again is not None and 'id="login-form"' in again.text
    step = account.login(again, "an.nguyen", PASSWORD).page
    assert step is not None
    security = account.submit(step, "code-form", {"code": enrolled.app.now()}).page
    assert security is not None and security.url.endswith("/account/security")
    removed = account.submit(security, forms[0]).page
    assert removed is not None and 'id="no-factor"' in removed.text
    assert "security-message" in removed.text
    assert op.instance.audit.entries(event="mfa:factor:remove")
    # back to a password alone, recovery codes gone with the last factor
    tokens = rp.code_flow(Browser(op.issuer), username="an.nguyen", password=PASSWORD)
    assert tokens["id_claims"]["acr"] == ACR_PASSWORD
    assert 'id="recovery-codes"' not in removed.text


def test_strangers_wrong_codes_never_lock_the_official_out(tmp_path: Path) -> None:
    with live_provider(tmp_path, make_directory(), mfa__code_failures=3) as op:
        rp = RelyingParty.register(op)
        account = Browser(op.issuer, **{"Accept-Language": "en"})
        sign_in_to_account(account, "an.nguyen", PASSWORD)
        enrolled = enrol_totp(account)
        own, step = second_step_page(rp)
        assert "code" in own.submit(step, "code-form", {"code": enrolled.app.now()}).params  # type: ignore[arg-type]
        keep = {MFA_DEVICE_COOKIE, DEVICE_COOKIE}
        for cookie in list(own.session.cookies):  # the session ends; the browser stays the official's own
            if cookie.name not in keep:
                own.session.cookies.clear(cookie.domain, cookie.path, cookie.name)

        statuses = []
        for _ in range(4):  # strangers who know the password guess codes
            stranger, stranger_step = second_step_page(rp)
            page = stranger.submit(stranger_step, "code-form", {"code": "000000"}).page  # type: ignore[arg-type]
            assert page is not None
            statuses.append(page.status_code)
        assert statuses == [401, 401, 401, 429]
        assert "Wait 15 minutes" in text_of(page, "code-error")
        # what is left of the 15 minutes: seconds pass between the third wrong code and the fourth on a busy machine
        assert 840 <= int(page.headers["Retry-After"]) <= 900
        right_code = enrolled.app.at(time.time() + 30)
        stranger, stranger_step = second_step_page(rp)
        refused = stranger.submit(stranger_step, "code-form", {"code": right_code}).page  # type: ignore[arg-type]
        assert refused is not None and refused.status_code == 429  # even the right code: the budget is spent

        page = rp.authorize(own).page
        assert page is not None
        step = own.login(page, "an.nguyen", PASSWORD).page
        assert step is not None
        params = own.submit(step, "code-form", {"code": right_code}).params
        claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
        assert claims["acr"] == ACR_MFA


def test_bad_input_gets_a_clear_page_never_a_500(op: LiveProvider, rp: RelyingParty) -> None:
    account = Browser(op.issuer, **{"Accept-Language": "en"})
    sign_in_to_account(account, "an.nguyen", PASSWORD)
    page = account.go(op.issuer + "/account/security/totp").page
    assert page is not None
    for token in ("not-a-token", "éé", ""):
        again = account.submit(page, "totp-form", {"enrolment": token, "code": "123456"}).page
        assert again is not None and again.status_code == 400
        assert "open too long" in text_of(again, "totp-error") and 'id="totp-key"' in again.text
    enrol_totp(account)
    removed = account.go(op.issuer + "/account/security/factors/remove", method="POST", data={"factor_id": "x"}).page
    assert removed is not None and removed.status_code == 400  # no CSRF token: refused before anything else
    security = account.go(op.issuer + "/account/security").page
    assert security is not None
    (rename,) = [name for name in forms_of(security.text) if name.startswith("rename-")]
    missing = account.submit(security, rename, {"factor_id": "no-such-factor"}).page
    assert missing is not None and missing.status_code == 404 and "Traceback" not in missing.text

    browser, step = second_step_page(rp)
    for typed in ("abc", "1" * 500, "١٢٣٤٥٦"):
        wrong = browser.submit(step, "code-form", {"code": typed}).page  # type: ignore[arg-type]
        assert wrong is not None and wrong.status_code in (401, 429) and 'id="code-error"' in wrong.text


def test_the_security_page_lists_the_sessions_and_signs_one_out(op: LiveProvider) -> None:
    """Item 8: the security page shows the official's sessions (this browser marked) and signs another one out."""
    here = Browser(op.issuer, **{"Accept-Language": "en"})
    elsewhere = Browser(op.issuer, **{"Accept-Language": "en", "User-Agent": "OfficePC/1.0"})
    sign_in_to_account(here, "an.nguyen", PASSWORD)
    sign_in_to_account(elsewhere, "an.nguyen", PASSWORD)
    page = here.go(op.issuer + "/account/security").page
    assert page is not None
    sessions = page.text.split('id="security-sessions"', 1)[1].split("</ul>", 1)[0]
    assert "(this browser)" in sessions and 'title="OfficePC/1.0">OfficePC 1</span>' in sessions
    listed = re.findall(r'<li data-sid="([^"]+)">', page.text)
    mine = re.findall(r'<li data-sid="([^"]+)">[^<]*<span class="browser"[^>]*>[^<]*</span>\s*<strong>', page.text)
    assert len(listed) == 2 and len(mine) == 1
    (target,) = [sid for sid in listed if sid not in mine]
    forms = forms_of(page.text)
    (form_name,) = [name for name, form in forms.items() if form["inputs"].get("sid") == target]
    here.submit(page, form_name)
    assert op.provider.sessions.alive(target) is False and op.provider.sessions.alive(mine[0])
    gone = elsewhere.go(op.issuer + "/account/security").page
    assert gone is not None and "security-sessions" not in gone.text  # that browser is asked to sign in again
