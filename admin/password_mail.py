"""A password that an administrator reset, e-mailed to the official instead of shown to the administrator.

The issue's "shown once or e-mailed": with ``deliver="mail"`` the administrator never sees the new password; it
goes to the address the directory holds for the official, in Vietnamese with English below, with the sign-in
address and the rule that it must be changed at the first sign-in. Whether it can be sent is checked before the
password is changed (mail configured, an address on file), so a refusal changes nothing. The message is queued
with the kernel's mailer (:mod:`antin.kernel.mail`) and its outcome audited (``admin:mail:sent`` or
``admin:mail:failure``, never the address nor the password).
"""

from __future__ import annotations

from collections.abc import Callable

from admin.errors import AdminError
from antin.kernel.audit import AuditEvent, AuditLog
from antin.kernel.mail import Mail, Mailer
from directory.models import Person

__all__ = ["MailUnavailableError", "NoAddressError", "PasswordMailer"]


class MailUnavailableError(AdminError):
    status = 409
    code = "mail-not-configured"

    def __init__(self) -> None:
        super().__init__("e-mail is not configured on this platform ([mail] host): show the password instead")


class NoAddressError(AdminError):
    status = 409
    code = "no-mail-address"

    def __init__(self, login: str) -> None:
        super().__init__(f"{login} has no e-mail address in the directory: show the password instead")


_SUBJECT = "Ấn Tín: Mật khẩu mới / Your new password"
_TEXT = """Kính gửi đồng chí {name},

Quản trị viên đơn vị đã đặt lại mật khẩu tài khoản {login} của đồng chí.
Mật khẩu tạm thời: {password}
Đồng chí phải đổi mật khẩu này ở lần đăng nhập đầu tiên: {url}
Nếu đồng chí không yêu cầu việc này, hãy báo ngay quản trị viên đơn vị.

---

Dear {name},

Your unit's administrator reset the password of your account {login}.
Temporary password: {password}
You must change it at your first sign-in: {url}
If you did not ask for this, tell your unit's administrator at once.
"""


class PasswordMailer:
    def __init__(self, mailer: Callable[[], Mailer], audit: AuditLog, sign_in_url: str) -> None:
        self._mailer = mailer
        self.audit = audit
        self.sign_in_url = sign_in_url

    def check(self, person: Person) -> None:
        """Raise when the password could not be e-mailed to ``person`` (before anything is changed)."""
        if not self._mailer().enabled:
            raise MailUnavailableError()
        if not person.mail:
            raise NoAddressError(person.uid)

    def send(self, person: Person, password: str) -> bool:
        """Queue the message; False when it could not be queued (the mailer's queue is full)."""
        self.check(person)
        address = person.mail or ""
        text = _TEXT.format(name=person.full_name, login=person.uid, password=password, url=self.sign_in_url)

        def audited(_mail: Mail, error: str | None) -> None:
            if error is None:
                self.audit.record(
                    AuditEvent.ADMIN_MAIL_SENT, actor="system", subject=person.uid, details={"mail": "password"}
                )
            else:
                details = {"mail": "password", "error": error[:200]}
                self.audit.record(AuditEvent.ADMIN_MAIL_FAILURE, actor="system", subject=person.uid, details=details)

        return self._mailer().submit(lambda: Mail(address, _SUBJECT, text), on_done=audited)
