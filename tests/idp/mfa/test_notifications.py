"""E-mail notifications (issue 10 item 9), received by a real SMTP server (aiosmtpd, STARTTLS and a login): a
sign-in from a browser that never signed in as the official, a factor added, a recovery code used, a factor
removed, in the official's language first; a dead mail server neither slows nor breaks a sign-in, and is audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from antin.kernel.mail import mailer_for
from tests.idp.conftest import make_directory
from tests.idp.mfa.pages import enrol_totp, sign_in_to_account, text_of
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty
from tests.smtp_server import SmtpServer, free_port, smtp_server

PASSWORD = "correct horse"


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[SmtpServer]:
    with smtp_server(tmp_path) as server:
        yield server


@pytest.fixture
def mail_op(tmp_path: Path, mail_server: SmtpServer) -> Iterator[LiveProvider]:
    mail = {f"mail__{k}": v for k, v in mail_server.settings().items()}
    with live_provider(tmp_path / "op", make_directory(), **mail) as live:
        yield live


def _subjects(messages: list[EmailMessage]) -> list[str]:
    return [str(m["Subject"]) for m in messages]


def _sent(op: LiveProvider) -> None:
    assert mailer_for(op.instance).wait_until_sent()


def test_the_official_hears_of_each_change_in_their_language(mail_op: LiveProvider, mail_server: SmtpServer) -> None:
    account = Browser(mail_op.issuer, **{"Accept-Language": "en"})
    sign_in_to_account(account, "an.nguyen", PASSWORD)  # a browser new to an.nguyen
    enrolled = enrol_totp(account)
    _sent(mail_op)
    new_browser, added = mail_server.received.wait_for(2)
    assert new_browser["To"] == "an.nguyen@antin.vn"
    assert new_browser["Subject"] == "Ấn Tín: Sign-in from a new browser / Đăng nhập từ một trình duyệt mới"
    body = new_browser.get_content()
    assert body.index("Dear Nguyễn Văn An") < body.index("Kính gửi đồng chí Nguyễn Văn An")  # English first here
    assert "127.0.0.1" in body and mail_op.issuer + "/account/security" in body
    assert "(UTC+7)" in body
    assert "Điện thoại" in added.get_content() and "A sign-in method was added" in str(added["Subject"])

    # the same browser again: known, no mail; a recovery code from another (Vietnamese) browser: two mails
    rp = RelyingParty.register(mail_op, name="Hồ sơ công việc")
    browser = Browser(mail_op.issuer, **{"Accept-Language": "vi"})
    step = browser.login(rp.authorize(browser).page, "an.nguyen", PASSWORD).page  # type: ignore[arg-type]
    assert step is not None
    recovery = browser.go(step.url + "?method=recovery").page
    assert recovery is not None
    used = browser.submit(recovery, "recovery-form", {"recovery_code": enrolled.recovery_codes[0]}).page
    assert used is not None and text_of(used, "recovery-left") == "Số mã khôi phục còn lại: 9"
    _sent(mail_op)
    messages = mail_server.received.wait_for(4)
    assert _subjects(messages)[2:] == [
        "Ấn Tín: Đăng nhập từ một trình duyệt mới / Sign-in from a new browser",
        "Ấn Tín: Đã dùng một mã khôi phục / A recovery code was used",
    ]
    assert "Còn lại 9 mã" in messages[3].get_content()

    # removing the app, from the browser that has just signed in with two factors
    page = browser.go(mail_op.issuer + "/account/security").page
    assert page is not None
    factor_id = re.findall(r'name="factor_id" value="([0-9a-f]+)"', page.text)[0]
    browser.submit(page, f"remove-{factor_id}")
    _sent(mail_op)
    messages = mail_server.received.wait_for(5)
    assert str(messages[4]["Subject"]) == "Ấn Tín: Đã gỡ phương thức xác thực / A sign-in method was removed"
    sent = [e for e in mail_op.instance.audit.entries(event="mfa:mail:sent", limit=20)]
    assert len(sent) == 5 and all("@" not in str(e.details) for e in sent)  # audited without the address


def test_a_dead_mail_server_never_breaks_a_sign_in(tmp_path: Path) -> None:
    dead = {
        "mail__host": "localhost",
        "mail__port": free_port(),
        "mail__starttls": False,
        "mail__from_address": "no-reply@antin.vn",
        "mail__timeout_seconds": 2,
    }
    with live_provider(tmp_path, make_directory(), **dead) as op:
        rp = RelyingParty.register(op, name="Hồ sơ công việc")
        tokens = rp.code_flow(Browser(op.issuer), username="an.nguyen", password=PASSWORD)
        assert tokens["id_claims"]["sub"]
        _sent(op)
        (failure,) = op.instance.audit.entries(event="mfa:mail:failure", limit=5)
        assert failure.details["notice"] == "new-browser" and "ConnectionRefusedError" in failure.details["error"]


def test_a_passkey_sign_in_from_a_new_browser_is_told_too(mail_op: LiveProvider, mail_server: SmtpServer) -> None:
    """A passwordless sign-in is a sign-in: from a browser new to the official, the same e-mail as after a
    password; from that browser again, none."""
    from idp.throttle import DEVICE_COOKIE
    from tests.idp.mfa.pages import options_of
    from tests.idp.mfa.soft_authenticator import SoftAuthenticator

    passkey = SoftAuthenticator(mail_op.issuer, "localhost", synced=True)
    account = Browser(mail_op.issuer, **{"Accept-Language": "en"})
    page = sign_in_to_account(account, "an.nguyen", PASSWORD, "/account/security/webauthn")
    account.submit(page, "webauthn-form", {"credential": passkey.create(options_of(page))})
    _sent(mail_op)
    before = len(mail_server.received.wait_for(2))  # the account's new browser, the passkey added

    rp = RelyingParty.register(mail_op, name="Hồ sơ công việc")
    laptop = Browser(mail_op.issuer, **{"Accept-Language": "vi", "User-Agent": "LaptopMoi/2.0"})
    for _ in range(2):
        login = rp.authorize(laptop).page
        assert login is not None and 'id="passkey-form"' in login.text
        assert "code" in laptop.submit(login, "passkey-form", {"credential": passkey.get(options_of(login))}).params
        for cookie in list(laptop.session.cookies):
            if cookie.name != DEVICE_COOKIE:  # keep only what says "this browser signed in as an.nguyen before"
                laptop.session.cookies.clear(cookie.domain, cookie.path, cookie.name)
    _sent(mail_op)
    received = mail_server.received.wait_for(before + 1)
    new = received[before:]
    assert _subjects(new) == ["Ấn Tín: Đăng nhập từ một trình duyệt mới / Sign-in from a new browser"], _subjects(new)
    assert "LaptopMoi/2.0" in new[0].get_content()
