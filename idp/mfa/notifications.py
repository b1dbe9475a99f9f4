"""E-mail to an official when something changes how they sign in: a factor added or removed (by them or by an
operator's ``antin mfa reset``), a recovery code used, a sign-in from a browser that never signed in as them.

Each message is in the official's language first (the one their browser used at that moment; Vietnamese when
there was none, as for a command) with the other language below, and says what happened, when (Vietnam time),
from which address, and what to do if it was not them. It is queued with the kernel's mailer
(:mod:`antin.kernel.mail`): the official is looked up and the message sent off the request's path; the outcome is
audited (``mfa:mail:sent``, ``mfa:mail:failure``, without the address).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from antin.kernel.i18n import DEFAULT_LOCALE
from antin.kernel.instance import Instance
from antin.kernel.mail import Mail, Mailer, mailer_for
from directory.models import Person
from idp.login.steps import PasswordSignIn
from idp.oidc.audit import Auditor

__all__ = ["Notice", "Notifier", "build_notifier", "notify_new_browser"]

VIETNAM = timezone(timedelta(hours=7), "ICT")


class Notice(enum.StrEnum):
    FACTOR_ADDED = "factor-added"
    FACTOR_REMOVED = "factor-removed"
    FACTORS_RESET = "factors-reset"
    RECOVERY_CODE_USED = "recovery-code-used"
    NEW_BROWSER = "new-browser"


# (subject, what happened) per language; {name} is the factor's name, {left} the recovery codes left
_TEXTS: dict[Notice, dict[str, tuple[str, str]]] = {
    Notice.FACTOR_ADDED: {
        "vi": (
            "Đã thêm phương thức xác thực",
            "Một phương thức xác thực mới ({name}) đã được thêm vào tài khoản của đồng chí.",
        ),
        "en": ("A sign-in method was added", "A new sign-in method ({name}) was added to your account."),
    },
    Notice.FACTOR_REMOVED: {
        "vi": ("Đã gỡ phương thức xác thực", "Phương thức xác thực {name} đã bị gỡ khỏi tài khoản của đồng chí."),
        "en": ("A sign-in method was removed", "The sign-in method {name} was removed from your account."),
    },
    Notice.FACTORS_RESET: {
        "vi": (
            "Quản trị viên đã gỡ xác thực hai bước",
            "Quản trị viên đã gỡ mọi phương thức xác thực hai bước của tài khoản và đăng xuất đồng chí khỏi mọi nơi.",
        ),
        "en": (
            "An administrator removed your two-step verification",
            "An administrator removed every second factor of your account and signed you out everywhere.",
        ),
    },
    Notice.RECOVERY_CODE_USED: {
        "vi": ("Đã dùng một mã khôi phục", "Một mã khôi phục đã được dùng để đăng nhập. Còn lại {left} mã."),
        "en": ("A recovery code was used", "A recovery code was used to sign in. {left} codes are left."),
    },
    Notice.NEW_BROWSER: {
        "vi": (
            "Đăng nhập từ một trình duyệt mới",
            "Mật khẩu của đồng chí vừa được dùng để đăng nhập từ một trình duyệt chưa từng đăng nhập ({browser}).",
        ),
        "en": (
            "Sign-in from a new browser",
            "Your password was just used to sign in from a browser that never signed in before ({browser}).",
        ),
    },
}
_WHEN = {"vi": "Thời gian: {time}. Địa chỉ IP: {ip}.", "en": "Time: {time}. IP address: {ip}."}
_ADVICE = {
    "vi": "Nếu không phải đồng chí, hãy đổi mật khẩu ngay và báo quản trị viên đơn vị. Trang bảo mật: {url}",
    "en": "If this was not you, change your password now and tell your unit's administrator. Security page: {url}",
}
_GREETING = {"vi": "Kính gửi đồng chí {name},", "en": "Dear {name},"}
_OTHER = {"vi": "(English below)", "en": "(Tiếng Việt bên dưới)"}


def _paragraphs(notice: Notice, lang: str, person: Person, fields: dict[str, str]) -> str:
    _subject, what = _TEXTS[notice][lang]
    return "\n\n".join(
        (
            _GREETING[lang].format(name=person.full_name),
            what.format(**fields),
            _WHEN[lang].format(**fields),
            _ADVICE[lang].format(**fields),
        )
    )


class Notifier:
    def __init__(
        self,
        mailer: Mailer,
        find_person: Callable[[str], Person | None],
        audit: Auditor,
        *,
        security_url: str,
        language: Callable[[], str] = lambda: DEFAULT_LOCALE,
    ) -> None:
        self.mailer = mailer
        self.find_person = find_person
        self.audit = audit
        self.security_url = security_url
        self.language = language

    def notify(self, notice: Notice, subject: str, *, at: datetime, ip: str | None, **fields: str) -> None:
        """Queue ``notice`` to the official ``subject``; returns at once (nothing at all when mail is off)."""
        if not self.mailer.enabled:
            return
        lang = self.language()
        lang = lang if lang in ("vi", "en") else DEFAULT_LOCALE
        values = {
            "time": at.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M (UTC+7)"),
            "ip": ip or "-",
            "url": self.security_url,
            **fields,
        }

        def compose() -> Mail | None:
            person = self.find_person(subject)
            if person is None or not person.mail:
                return None
            other = "en" if lang == "vi" else "vi"
            body = "\n\n".join(
                (
                    _OTHER[lang],
                    _paragraphs(notice, lang, person, values),
                    "-" * 40,
                    _paragraphs(notice, other, person, values),
                )
            )
            title = f"Ấn Tín: {_TEXTS[notice][lang][0]} / {_TEXTS[notice][other][0]}"
            return Mail(person.mail, title, body)

        def audited(_mail: Mail, error: str | None) -> None:
            if error is None:
                self.audit.record("mfa:mail:sent", actor="system", subject=subject, details={"notice": str(notice)})
            else:
                details = {"notice": str(notice), "error": error[:200]}
                self.audit.record("mfa:mail:failure", actor="system", subject=subject, details=details)

        self.mailer.submit(compose, on_done=audited)


def build_notifier(instance: Instance) -> Notifier:
    from antin.kernel.i18n import current_language
    from idp.oidc.service import get_provider

    def find_person(subject: str) -> Person | None:
        return get_provider(instance).directory.find_by_uuid(subject)

    return Notifier(
        mailer_for(instance),
        find_person,
        Auditor(instance),
        security_url=instance.settings.core.issuer + "/account/security",
        language=current_language,
    )


def notify_new_browser(event: PasswordSignIn) -> None:
    """The login's password listener: a right password from a browser that never signed in as this official."""
    if event.known_browser:
        return
    from antin.kernel.web import get_instance
    from idp.mfa import get_mfa_service

    instance = get_instance()
    notifier = get_mfa_service(instance).notifier
    if notifier is not None:
        browser = event.user_agent[:120] or "-"
        notifier.notify(
            Notice.NEW_BROWSER, event.person.entry_uuid, at=instance.clock.now(), ip=event.ip, browser=browser
        )
