"""A password reset e-mailed to the official (issue 12 item 3, "shown once or e-mailed"): received by a real SMTP
server, never shown to the administrator, never in the audit trail; refused before anything changes when mail is
not configured or the official has no address."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from antin.kernel.audit import AuditEvent
from antin.kernel.mail import mailer_for
from antin.kernel.settings import MailSettings
from directory.models import AuthStatus, NewPerson
from tests.admin.conftest import AdminPlatform, console_browser
from tests.admin.test_api import problem
from tests.admin.test_console_writes import open_page, submit
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser
from tests.smtp_server import SmtpServer, smtp_server

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]


@pytest.fixture
def mail_server(tmp_path: Path, admin_platform: AdminPlatform, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """The platform's mailer pointed at a real SMTP server (STARTTLS and a login) for one test."""
    with smtp_server(tmp_path) as server:
        monkeypatch.setattr(mailer_for(admin_platform.instance), "settings", MailSettings(**server.settings()))
        yield server


@pytest.fixture
def tuanbv(admin_platform: AdminPlatform) -> Browser:
    """Bắc Ninh's unit administrator, signed in to the console."""
    return console_browser(admin_platform, "tuanbv")[0]


def official_with_mail(platform: AdminPlatform, unique: Callable[[str], str]) -> str:
    login = unique("thu")
    person = NewPerson(
        uid=login, full_name="Lê Thị Thư", unit_code="BNH-VP", password=PASSWORD, mail=f"{login}@antin.vn"
    )
    platform.ldap.create_person(person)
    return login


def test_without_mail_configured_the_reset_is_refused_and_the_password_kept(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    login = official_with_mail(admin_platform, unique)
    path = f"/api/admin/officials/{login}/password"
    body = problem(admin_platform.call("POST", path, "tuanbv", json={"deliver": "mail"}), 409)
    assert body["type"] == "urn:antin:problem:mail-not-configured"
    problem(admin_platform.call("POST", path, "tuanbv", json={"deliver": "post"}), 400)
    assert admin_platform.ldap.authenticate(login, PASSWORD).ok


def test_the_new_password_reaches_the_official_and_not_the_administrator(
    admin_platform: AdminPlatform, mail_server: SmtpServer, unique: Callable[[str], str]
) -> None:
    no_address = admin_platform.new_official("BNH", unique)
    body = problem(
        admin_platform.call("POST", f"/api/admin/officials/{no_address}/password", "tuanbv", json={"deliver": "mail"}),
        409,
    )
    assert body["type"] == "urn:antin:problem:no-mail-address"
    assert admin_platform.ldap.authenticate(no_address, PASSWORD).ok  # refused before anything changed

    login = official_with_mail(admin_platform, unique)
    path = f"/api/admin/officials/{login}/password"
    problem(admin_platform.call("POST", path, "hieunm", json={"deliver": "mail"}), 404)  # another province's
    reset = admin_platform.call("POST", path, "tuanbv", json={"deliver": "mail"})
    assert reset.status_code == 200 and reset.json()["password"] is None and reset.json()["delivered"] == "mail"
    assert admin_platform.ldap.authenticate(login, PASSWORD).status is AuthStatus.INVALID_CREDENTIALS
    assert mailer_for(admin_platform.instance).wait_until_sent()
    [message] = mail_server.received.wait_for(1)
    assert message["To"] == f"{login}@antin.vn" and "Mật khẩu mới" in str(message["Subject"])
    text = message.get_content()
    assert text.index("Kính gửi đồng chí Lê Thị Thư") < text.index("Dear Lê Thị Thư")  # Vietnamese first
    password = text.split("Mật khẩu tạm thời: ")[1].split()[0]
    assert admin_platform.ldap.authenticate(login, password).status is AuthStatus.MUST_CHANGE
    assert admin_platform.base_url + "/" in text
    [entry] = admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_PASSWORD_RESET, subject=login, limit=5)
    assert entry.details["delivered"] == "mail" and password not in str(entry.details)
    [sent] = admin_platform.instance.audit.entries(event=AuditEvent.ADMIN_MAIL_SENT, subject=login, limit=5)
    assert f"{login}@antin.vn" not in str(sent.details)


def test_the_console_offers_the_mail_only_when_it_can_be_sent(
    admin_platform: AdminPlatform, mail_server: SmtpServer, tuanbv: Browser, unique: Callable[[str], str]
) -> None:
    no_address = admin_platform.new_official("BNH", unique)
    assert 'id="confirm-reset-password-mail"' not in open_page(
        admin_platform, tuanbv, f"/admin/officials/{no_address}/password"
    )
    login = official_with_mail(admin_platform, unique)
    confirm = open_page(admin_platform, tuanbv, f"/admin/officials/{login}/password")
    assert 'id="confirm-reset-password-mail"' in confirm and f"{login}@antin.vn" in confirm
    status, landed = submit(
        tuanbv, admin_platform, f"/admin/officials/{login}/password", "confirm-reset-password-form", {"deliver": "mail"}
    )
    assert status == 200 and 'id="new-password"' not in landed and f"{login}@antin.vn" in landed
    assert mailer_for(admin_platform.instance).wait_until_sent()
    # the administrator's own sign-in from a new browser was mailed to them too
    [message] = [m for m in mail_server.received.messages if m["To"] == f"{login}@antin.vn"]
    password = message.get_content().split("Mật khẩu tạm thời: ")[1].split()[0]
    assert password not in landed
    assert admin_platform.ldap.authenticate(login, password).status is AuthStatus.MUST_CHANGE
