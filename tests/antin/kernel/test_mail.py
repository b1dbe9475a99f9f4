"""The kernel's mailer against a real SMTP server (aiosmtpd): STARTTLS with the server's certificate checked
against a CA given in settings, a login, the message as sent; a dead server is reported, not raised, and the
caller never waits for it; settings that would send a password in clear are refused."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from antin.kernel.mail import Mail, Mailer
from antin.kernel.settings import MailSettings, SettingsError, load_settings
from tests.smtp_server import free_port, smtp_server


def test_a_message_goes_through_starttls_and_a_login(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        mailer = Mailer(MailSettings(**server.settings()))
        outcomes: list[str | None] = []
        queued = mailer.submit(
            lambda: Mail("an.nguyen@antin.vn", "Ấn Tín: thử", "Xin chào đồng chí An."),
            on_done=lambda _mail, error: outcomes.append(error),
        )
        assert queued
        (message,) = server.received.wait_for(1)
        assert mailer.wait_until_sent()
        mailer.close()
    assert outcomes == [None] and server.received.logins == ["antin-mailer"]
    assert message["To"] == "an.nguyen@antin.vn" and message["Subject"] == "Ấn Tín: thử"
    assert message["From"] == "Ấn Tín <no-reply@antin.vn>"
    assert message.get_content().strip() == "Xin chào đồng chí An."


def test_a_server_whose_certificate_is_not_trusted_is_refused(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        mailer = Mailer(MailSettings(**{**server.settings(), "ca_file": None}))  # the system's CAs only
        errors: list[str | None] = []
        mailer.submit(lambda: Mail("an@antin.vn", "s", "t"), on_done=lambda _m, e: errors.append(e))
        assert mailer.wait_until_sent()
        mailer.close()
    assert errors and errors[0] is not None and "CERTIFICATE_VERIFY_FAILED" in errors[0]
    assert server.received.messages == []


def test_a_dead_server_is_reported_and_never_holds_the_caller(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = MailSettings(
        host="localhost",
        port=free_port(),
        username="u",
        password="hunter2-secret",
        from_address="a@antin.vn",
        timeout_seconds=2,
    )
    # another test in the same process may have configured the platform's logging at a higher level
    caplog.set_level(logging.WARNING, logger="antin.kernel.mail")
    mailer = Mailer(settings)
    errors: list[str | None] = []
    handled = threading.Event()
    started = time.monotonic()
    for _ in range(3):
        mailer.submit(lambda: Mail("an@antin.vn", "s", "t"), on_done=lambda _m, e: (errors.append(e), handled.set()))
    submitted_in = time.monotonic() - started
    assert mailer.wait_until_sent()
    mailer.close()
    assert len(errors) == 3 and all(e and "ConnectionRefusedError" in e for e in errors)
    assert "hunter2-secret" not in caplog.text and "mail to the SMTP server" in caplog.text
    print(f"3 messages queued in {submitted_in * 1000:.2f} ms while the server was down")


def test_no_host_no_mail() -> None:
    mailer = Mailer(MailSettings())
    assert not mailer.enabled and not mailer.submit(lambda: Mail("a@b", "s", "t"))


def test_settings_that_would_send_the_password_in_clear_are_refused() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(
            {
                "ANTIN_MAIL_HOST": "smtp.antin.vn",
                "ANTIN_MAIL_STARTTLS": "false",
                "ANTIN_MAIL_USERNAME": "u",
                "ANTIN_MAIL_FROM_ADDRESS": "a@antin.vn",
            }
        )
    assert "ANTIN_MAIL_USERNAME" in str(err.value)
    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_MAIL_HOST": "smtp.antin.vn"})
    assert "ANTIN_MAIL_FROM_ADDRESS" in str(err.value)
