"""Checking a password: the throttle first, then the directory; one outcome per thing an official can be told."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from prometheus_client import Counter

from antin.kernel.clock import Clock
from antin.kernel.instance import Instance
from directory.errors import (
    AccountLockedError,
    DirectoryError,
    DirectoryUnavailableError,
    InvalidCredentialsError,
    PasswordExpiredError,
    PasswordPolicyError,
)
from directory.models import AuthOutcome, AuthStatus, Person
from directory.protocol import UserDirectory
from idp.oidc.audit import Auditor
from idp.oidc.service import get_provider
from idp.settings import ThrottleSettings
from idp.throttle import (
    Admission,
    DatabaseThrottleStore,
    DeviceCookies,
    LoginThrottle,
    RedisThrottleStore,
    ThrottleStore,
    ThrottleUnavailableError,
)

__all__ = ["LoginOutcome", "LoginService", "LoginStatus", "PasswordChangeOutcome", "build_login_service"]

log = logging.getLogger(__name__)

LOGIN_OUTCOMES = Counter("antin_login_outcomes_total", "Password sign-in attempts by outcome", ["outcome"])


class LoginStatus(enum.StrEnum):
    SUCCESS = "success"
    INVALID_CREDENTIALS = "invalid-credentials"
    LOCKED = "locked"
    EXPIRED = "expired"
    MUST_CHANGE = "must-change"
    DISABLED = "disabled"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class LoginOutcome:
    status: LoginStatus
    person: Person | None = None
    wait_seconds: int = 0
    grace_logins_left: int | None = None
    expires_in_seconds: int | None = None
    device_cookie: str | None = None  # after a right password: the browser's device cookie, this official first
    known_browser: bool = False  # the browser came with a device cookie of this official (signed in here before)


class PasswordChangeOutcome(enum.StrEnum):
    CHANGED = "changed"
    WRONG_PASSWORD = "wrong-password"
    REFUSED = "refused"  # the password policy refused the new password
    LOCKED = "locked"
    EXPIRED = "expired"  # expired with no grace login left: only an administrator can reset it
    MISMATCH = "mismatch"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"


_BY_STATUS = {
    AuthStatus.SUCCESS: LoginStatus.SUCCESS,
    AuthStatus.INVALID_CREDENTIALS: LoginStatus.INVALID_CREDENTIALS,
    AuthStatus.LOCKED: LoginStatus.LOCKED,
    AuthStatus.EXPIRED: LoginStatus.EXPIRED,
    AuthStatus.MUST_CHANGE: LoginStatus.MUST_CHANGE,
    AuthStatus.DISABLED: LoginStatus.DISABLED,
}


# Outcomes that reveal the account exists whatever the password (ppolicy answers "locked" before checking it):
# a stranger's browser is told what an unknown login gets.
_HIDDEN_FROM_STRANGERS = (LoginStatus.LOCKED, LoginStatus.DISABLED)


class LoginService:
    def __init__(
        self, directory: UserDirectory, throttle: LoginThrottle, audit: Auditor, devices: DeviceCookies, *, clock: Clock
    ) -> None:
        self.directory = directory
        self.throttle = throttle
        self.audit = audit
        self.devices = devices
        self.clock = clock  # the throttle's windows and the device cookies' ages are read from it, in epoch seconds

    def close(self) -> None:
        """Release the throttle store's connections (Redis), when the instance closes."""
        closer = getattr(self.throttle.store, "close", None)
        if callable(closer):
            closer()

    def _account_key(self, login: str) -> str:
        """One throttle counter per official, whether they type their uid or their e-mail address."""
        person = self.directory.find_by_login(login) if login else None
        return person.uid if person is not None else login

    def _admit(self, account: str, ip: str, device_cookie: str | None) -> Admission:
        now = self.clock.now().timestamp()
        device = self.devices.device_of(device_cookie, account, now=now)
        return self.throttle.admit(account, ip, device=device, policy=self.directory.lockout_policy(), now=now)

    def check_password(self, login: str, password: str, *, ip: str, device_cookie: str | None = None) -> LoginOutcome:
        outcome = self._check_password(login, password, ip=ip, device_cookie=device_cookie)
        LOGIN_OUTCOMES.labels(outcome.status.value).inc()
        return outcome

    def _check_password(self, login: str, password: str, *, ip: str, device_cookie: str | None) -> LoginOutcome:
        login = login.strip()
        if not login or not password:
            return LoginOutcome(LoginStatus.INVALID_CREDENTIALS)
        try:
            # the entry (with its groups, which MFA's policies read) read once: it names the throttle's account and
            # is bound as; its units, which nothing in a sign-in shows or decides on, are not read
            person = self.directory.find_by_login(login, with_units=False)
            admission = self._admit(person.uid if person is not None else login, ip, device_cookie)
        except DirectoryUnavailableError as err:
            log.warning("directory unavailable during sign-in: %s", err.reason)
            return LoginOutcome(LoginStatus.UNAVAILABLE)
        except ThrottleUnavailableError as err:
            log.warning("throttle store unavailable during sign-in (%s): attempt refused", err)
            return LoginOutcome(LoginStatus.UNAVAILABLE)
        if not admission.allowed:
            self.audit.record("login:attempt:throttled", actor=login, ip=ip, details={"wait": admission.wait_seconds})
            return LoginOutcome(LoginStatus.THROTTLED, wait_seconds=admission.wait_seconds)
        try:
            if person is None:  # as the directory answers an unknown login, without a bind to make
                outcome = AuthOutcome(AuthStatus.INVALID_CREDENTIALS)
            else:
                outcome = self.directory.authenticate_person(person, password)
        except DirectoryUnavailableError as err:
            self.throttle.undecided(admission)
            log.warning("directory unavailable during sign-in: %s", err.reason)
            return LoginOutcome(LoginStatus.UNAVAILABLE)
        status = _BY_STATUS[outcome.status]
        details = {"reason": outcome.status.value, "known_browser": admission.trusted}
        if status is LoginStatus.INVALID_CREDENTIALS:
            self.audit.record("login:password:failure", actor=login, ip=ip, details=details)
        elif status in (LoginStatus.SUCCESS, LoginStatus.MUST_CHANGE) or (
            status is LoginStatus.EXPIRED and outcome.person is not None
        ):
            self.throttle.succeeded(admission)
            subject = outcome.person.entry_uuid if outcome.person else None
            if status is LoginStatus.SUCCESS:  # written with the session it starts, when the view holds entries
                self.audit.hold("login:password:success", actor=subject, subject=subject, ip=ip)
            if outcome.person is not None:
                cookie = self.devices.issue(device_cookie, outcome.person.uid, now=self.clock.now().timestamp())
                return LoginOutcome(
                    status,
                    person=outcome.person,
                    grace_logins_left=outcome.grace_logins_left,
                    expires_in_seconds=outcome.expires_in_seconds,
                    device_cookie=cookie,
                    known_browser=admission.trusted,
                )
        elif status is LoginStatus.LOCKED:
            self.audit.record("login:account:locked", actor=login, ip=ip, details=details)
        else:
            self.audit.record("login:password:failure", actor=login, ip=ip, details=details)
        if status in _HIDDEN_FROM_STRANGERS and not admission.trusted:
            return LoginOutcome(LoginStatus.INVALID_CREDENTIALS)
        return LoginOutcome(
            status,
            person=outcome.person,
            grace_logins_left=outcome.grace_logins_left,
            expires_in_seconds=outcome.expires_in_seconds,
        )

    def change_password(
        self, login: str, old: str, new: str, confirm: str, *, ip: str, device_cookie: str | None = None
    ) -> PasswordChangeOutcome:
        if new != confirm:
            return PasswordChangeOutcome.MISMATCH
        try:
            admission = self._admit(self._account_key(login.strip()), ip, device_cookie)
        except (DirectoryUnavailableError, ThrottleUnavailableError):
            return PasswordChangeOutcome.UNAVAILABLE
        if not admission.allowed:
            return PasswordChangeOutcome.THROTTLED
        try:
            self.directory.change_own_password(login.strip(), old, new)
        except DirectoryUnavailableError:
            self.throttle.undecided(admission)
            return PasswordChangeOutcome.UNAVAILABLE
        except InvalidCredentialsError:
            return PasswordChangeOutcome.WRONG_PASSWORD
        except AccountLockedError:
            return PasswordChangeOutcome.LOCKED
        except PasswordExpiredError:
            return PasswordChangeOutcome.EXPIRED
        except PasswordPolicyError:
            self.throttle.undecided(admission)  # refused before or after a right bind: not a guess
            return PasswordChangeOutcome.REFUSED
        except DirectoryError as err:
            self.throttle.undecided(admission)
            log.warning("password change refused: %s", type(err).__name__)
            return PasswordChangeOutcome.REFUSED
        self.throttle.succeeded(admission)
        self.audit.record("login:password:change", actor=login, ip=ip)
        return PasswordChangeOutcome.CHANGED


def build_login_service(instance: Instance) -> LoginService:
    """The login service of ``instance``: the provider's directory and audit, the throttle in Redis when one is
    configured (shared by every worker and host), in the database otherwise."""
    provider = get_provider(instance)
    settings = instance.settings.section(ThrottleSettings)
    store: ThrottleStore
    if instance.settings.redis.url:
        store = RedisThrottleStore(instance.settings.redis.url)
    else:
        store = DatabaseThrottleStore(instance.database)
    devices = DeviceCookies.from_secret(instance.secret_key, settings.device_days * 86400)
    throttle = LoginThrottle(store, settings)
    return LoginService(provider.directory, throttle, provider.audit, devices, clock=instance.clock)
