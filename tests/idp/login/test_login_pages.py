"""The login interaction's pages: one clear message per directory outcome, password change, CSRF, headers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from directory.memory import InMemoryDirectory
from directory.models import AccountStatus, AuthOutcome, AuthStatus, Person
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty, forms_of
from tests.idp.strangers import owners_browser


def _login_page(rp: RelyingParty, browser: Browser, **params: str):  # type: ignore[no-untyped-def]
    outcome = rp.authorize(browser, **params)
    assert outcome.page is not None and outcome.page.status_code == 200
    return outcome.page


@pytest.mark.parametrize(
    ("username", "password", "status", "message"),
    [
        ("an.nguyen", "wrong", 401, "Sai tên đăng nhập hoặc mật khẩu."),
        ("nobody", "whatever", 401, "Sai tên đăng nhập hoặc mật khẩu."),
        # changed with issue 8: to a stranger's browser, locked and disabled look like an unknown account
        ("khoa.le", "correct horse", 401, "Sai tên đăng nhập hoặc mật khẩu."),
        ("cuong.pham", "correct horse", 401, "Sai tên đăng nhập hoặc mật khẩu."),
    ],
    ids=["wrong-password", "unknown-account", "locked", "disabled"],
)
def test_directory_outcomes_are_explained(
    rp: RelyingParty, browser: Browser, username: str, password: str, status: int, message: str
) -> None:
    page = _login_page(rp, browser)
    outcome = browser.login(page, username, password)
    assert outcome.location is None and outcome.page is not None
    assert outcome.page.status_code == status
    assert message in outcome.page.text
    assert 'id="login-error"' in outcome.page.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"locked": True}, "This account is locked"),
        ({"status": AccountStatus.SUSPENDED}, "This account is disabled"),
    ],
    ids=["locked", "disabled"],
)
def test_locked_and_disabled_are_explained_to_the_officials_own_browser(
    rp: RelyingParty, directory: InMemoryDirectory, change: dict[str, object], message: str
) -> None:
    browser = owners_browser(rp.op, rp, "binh.tran", "correct horse")
    directory.update("binh.tran", **change)
    outcome = browser.login(_login_page(rp, browser), "binh.tran", "correct horse")
    assert outcome.page is not None and outcome.page.status_code == 403
    assert message in outcome.page.text


def test_directory_unavailable(rp: RelyingParty, browser: Browser, directory: InMemoryDirectory) -> None:
    page = _login_page(rp, browser, ui_locales="en")
    directory.available = False
    outcome = browser.login(page, "an.nguyen", "correct horse")
    assert outcome.page is not None and outcome.page.status_code == 503
    assert "Try again shortly" in outcome.page.text
    assert "Traceback" not in outcome.page.text and "DirectoryUnavailable" not in outcome.page.text


def test_must_change_after_reset(rp: RelyingParty, browser: Browser, directory: InMemoryDirectory) -> None:
    page = _login_page(rp, browser)
    outcome = browser.login(page, "dung.vo", "correct horse")
    assert outcome.page is not None and 'id="password-form"' in outcome.page.text
    assert "vừa được đặt lại" in outcome.page.text
    # mismatch, wrong current password, too short: each explained, nothing lost
    for fields, text in (
        (
            {"current_password": "correct horse", "new_password": "a-new-passphrase", "confirm_password": "x"},
            "không khớp",
        ),
        (
            {"current_password": "nope", "new_password": "a-new-passphrase", "confirm_password": "a-new-passphrase"},
            "Mật khẩu hiện tại không đúng",
        ),
        (
            {"current_password": "correct horse", "new_password": "short", "confirm_password": "short"},
            "chính sách mật khẩu",
        ),
    ):
        retry = browser.submit(outcome.page, "password-form", fields)
        assert retry.page is not None and text in retry.page.text
    done = browser.submit(
        outcome.page,
        "password-form",
        {
            "current_password": "correct horse",
            "new_password": "a-new-passphrase",
            "confirm_password": "a-new-passphrase",
        },
    )
    assert done.params["code"] and rp.exchange(done.params["code"]).status_code == 200
    assert directory.passwords["dung.vo"] == "a-new-passphrase"


def test_expired_password_must_be_changed(
    rp: RelyingParty, browser: Browser, directory: InMemoryDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = directory.authenticate_person
    person = directory.people["binh.tran"]

    def expired_once(found: Person, password: str) -> AuthOutcome:
        if found.uid == "binh.tran" and password == "correct horse":
            return AuthOutcome(AuthStatus.EXPIRED, person=person, grace_logins_left=1)
        return real(found, password)

    monkeypatch.setattr(directory, "authenticate_person", expired_once)
    page = _login_page(rp, browser, ui_locales="en")
    outcome = browser.login(page, "binh.tran", "correct horse")
    assert outcome.page is not None and "Your password has expired" in outcome.page.text
    done = browser.submit(
        outcome.page,
        "password-form",
        {"current_password": "correct horse", "new_password": "brand-new-pass", "confirm_password": "brand-new-pass"},
    )
    assert done.params["code"]


def test_forms_need_csrf(rp: RelyingParty, browser: Browser) -> None:
    page = _login_page(rp, browser)
    form = forms_of(page.text)["login-form"]
    response = browser.session.post(
        page.url, data={"username": "an.nguyen", "password": "correct horse"}, allow_redirects=False
    )
    assert response.status_code == 400
    response = browser.session.post(
        page.url,
        data={"username": "an.nguyen", "password": "correct horse", "csrf_token": "forged"},
        allow_redirects=False,
    )
    assert response.status_code == 400
    assert form["inputs"]["csrf_token"]


def test_security_headers(rp: RelyingParty, browser: Browser) -> None:
    page = _login_page(rp, browser)
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_cookies_secure_flags(tmp_path, directory: InMemoryDirectory) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import urlencode

    from tests.idp.oidc_harness import live_provider

    with live_provider(tmp_path, directory, session__cookie_secure=True) as op:
        rp = RelyingParty.register(op)
        client = op.app.test_client()
        base = "https://localhost"  # behind the TLS proxy: secure cookies come back
        first = client.get("/authorize?" + urlencode(rp.auth_params()), base_url=base)
        session_cookie = next(c for c in first.headers.getlist("Set-Cookie") if c.startswith("antin_session="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
        form = forms_of(first.text)["login-form"]  # the password page, from /authorize itself
        data = dict(form["inputs"], username="an.nguyen", password="correct horse")
        posted = client.post(form["action"], data=data, base_url=base)
        sso = next(c for c in posted.headers.getlist("Set-Cookie") if c.startswith("antin_sso="))
        assert "Secure" in sso and "HttpOnly" in sso and "SameSite=Lax" in sso


def test_language_switch_and_accept_language(rp: RelyingParty, op: LiveProvider) -> None:
    english = Browser(op.issuer, **{"Accept-Language": "en-US,en;q=0.9"})
    page = _login_page(rp, english)
    assert 'lang="en"' in page.text and "Username or e-mail" in page.text
    vietnamese = Browser(op.issuer)
    page = _login_page(rp, vietnamese)
    assert 'lang="vi"' in page.text and "Tên đăng nhập hoặc thư điện tử" in page.text
    # the switch wins over ui_locales for the rest of the sign-in
    page = _login_page(rp, vietnamese, ui_locales="en")
    assert 'lang="en"' in page.text
    switched = vietnamese.go(op.issuer + "/lang/vi?next=" + page.url.removeprefix(op.issuer))
    assert switched.page is not None and 'lang="vi"' in switched.page.text
    assert vietnamese.go(op.issuer + "/lang/en?next=https://evil.example/").page is not None  # no open redirect


def test_account_page_lists_sessions_and_signs_out_everywhere(op: LiveProvider, directory: InMemoryDirectory) -> None:
    rp1 = RelyingParty.register(op, name="Văn bản")
    rp2 = RelyingParty.register(op, name="Hồ sơ")
    laptop, phone = Browser(op.issuer), Browser(op.issuer)
    t1 = rp1.code_flow(laptop)
    t2 = rp2.code_flow(laptop)  # SSO: no second password prompt
    assert t1["id_claims"]["sid"] == t2["id_claims"]["sid"]
    rp1.code_flow(phone)
    account = laptop.go(op.issuer + "/account").page
    assert account is not None and account.text.count("data-sid=") == 2
    assert "Văn bản" in account.text and "Hồ sơ" in account.text
    # Vietnam's time, day first, as the console writes it (antin.kernel.readable): no "(UTC+7)" after it
    shown = re.findall(r"(?:Signed in|Đăng nhập lúc) (\d\d/\d\d/\d{4} \d\d:\d\d)", account.text)
    assert len(shown) == 2, account.text
    vietnam_now = datetime.now(UTC) + timedelta(hours=7)
    for text in shown:
        signed_in = datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=UTC)
        assert abs(signed_in - vietnam_now) < timedelta(minutes=5), (text, vietnam_now)
    assert "UTC" not in account.text
    done = laptop.submit(account, "logout-everywhere-form")
    assert done.page is not None and 'id="logged-out"' in done.page.text
    for tokens, rp in ((t1, rp1), (t2, rp2)):
        assert rp.userinfo(tokens["access_token"]).status_code == 401
    again = rp1.authorize(phone, prompt="none")
    assert again.params["error"] == "login_required"


def test_account_sign_in_and_self_service_password_change(op: LiveProvider, directory: InMemoryDirectory) -> None:
    browser = Browser(op.issuer, **{"Accept-Language": "en"})
    page = browser.go(op.issuer + "/account").page
    assert page is not None and 'id="login-form"' in page.text  # not signed in: the sign-in page first
    account = browser.login(page, "binh.tran@antin.vn", "correct horse").page
    assert account is not None and "Signed in as binh.tran" in account.text
    form = browser.go(op.issuer + "/account/password").page
    assert form is not None
    wrong = browser.submit(
        form,
        "password-form",
        {"current_password": "nope", "new_password": "another-passphrase", "confirm_password": "another-passphrase"},
    )
    assert wrong.page is not None and "The current password is wrong." in wrong.page.text
    done = browser.submit(
        form,
        "password-form",
        {
            "current_password": "correct horse",
            "new_password": "another-passphrase",
            "confirm_password": "another-passphrase",
        },
    )
    assert done.page is not None and "Your password has been changed." in done.page.text
    assert directory.passwords["binh.tran"] == "another-passphrase"


def test_id_token_hint_names_who_must_sign_in(rp: RelyingParty, op: LiveProvider) -> None:
    tokens = rp.code_flow(Browser(op.issuer))
    other_browser = Browser(op.issuer, **{"Accept-Language": "en"})
    page = rp.authorize(other_browser, id_token_hint=tokens["id_token"]).page
    assert page is not None
    refused = other_browser.login(page, "binh.tran", "correct horse")
    assert refused.page is not None and "expected another account" in refused.page.text
    accepted = other_browser.login(refused.page, "an.nguyen", "correct horse")
    assert accepted.params["code"]


def test_readiness_and_metrics(rp: RelyingParty, browser: Browser, op: LiveProvider) -> None:
    import requests

    ready = requests.get(op.issuer + "/readyz", timeout=10).json()
    assert ready["checks"].get("signing-keys") == "ok"
    page = _login_page(rp, browser)
    browser.login(page, "an.nguyen", "wrong")
    metrics = requests.get(op.issuer + "/metrics", timeout=10).text
    assert 'antin_login_outcomes_total{outcome="invalid-credentials"}' in metrics
