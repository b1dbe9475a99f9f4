"""Officials' accounts: logging in by binding, passwords and password policies, lockouts and suspension.

Passwords are checked by binding, so the server's password policy (lockout, expiry, history, quality)
decides, and the bind's policy control says why a login was refused.
"""

from __future__ import annotations

import logging
import time

from directory.entries import PERMANENT_LOCK
from directory.errors import (
    AccountLockedError,
    DirectoryError,
    InvalidCredentialsError,
    InvalidInputError,
    NotFoundError,
    PasswordExpiredError,
)
from directory.ldap_client import Entry, LdapConnection, Modification, escape_dn_value
from directory.models import AccountStatus, AuthOutcome, AuthStatus, Person
from directory.policy import LockoutPolicy, PasswordPolicy
from directory.service.base import plausible_login, plausible_password
from directory.service.people import PeopleMixin
from directory.validation import check_group_name, check_password, check_password_rules

__all__ = ["AccountsMixin"]

log = logging.getLogger(__name__)

LOCKOUT_POLICY_TTL = 300.0  # policies change rarely; a changed one is followed within five minutes


class AccountsMixin(PeopleMixin):
    """Authentication and what an administrator does to an account (passwords, policies, locks)."""

    def lockout_policy(self) -> LockoutPolicy:
        """The strictest lockout of every password policy under ou=policies, read at most every five minutes.

        One answer for every login, so that the IdP's budget for a login reveals nothing about its policy.
        """
        now = time.monotonic()
        if self._lockout is not None and now - self._lockout[0] < LOCKOUT_POLICY_TTL:
            return self._lockout[1]
        wanted = ("pwdLockout", "pwdMaxFailure", "pwdFailureCountInterval", "pwdLockoutDuration")
        try:
            entries = self.pool.run(
                lambda c: c.search(self.config.policies_dn, "sub", "(objectClass=pwdPolicy)", wanted)
            )
            policies = [_lockout_of(entry) for entry in entries]
        except (DirectoryError, ValueError) as err:
            if self._lockout is not None:
                return self._lockout[1]
            log.warning("password policies unreadable (%s): assuming the platform's default lockout", err)
            return PasswordPolicy().lockout_policy()
        if not policies:
            log.warning("no password policy under %s: assuming the platform's default lockout", self.config.policies_dn)
            policy = PasswordPolicy().lockout_policy()
        else:
            policy = LockoutPolicy.strictest(policies)
        self._lockout = (now, policy)
        return policy

    # -- authentication ------------------------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> AuthOutcome:
        """Check a password by binding as the person whose uid or e-mail is ``login``."""
        refused = AuthOutcome(AuthStatus.INVALID_CREDENTIALS)
        if not plausible_login(login) or not plausible_password(password):
            return refused
        person = self.find_by_login(login)
        if person is None:
            return refused
        return self.authenticate_person(person, password)

    def authenticate_person(self, person: Person, password: str) -> AuthOutcome:
        """Check a password by binding as ``person``, found a moment ago (the login reads the entry once).

        A person read as locked is refused even when the bind succeeds: slapd stamps a lock with the precise clock
        and checks it with ``time()``, the kernel's coarse one, which may still be in the second before; for those
        few milliseconds after a lock falls in a new second, slapd takes it for a lock "not yet in effect".
        """
        refused = AuthOutcome(AuthStatus.INVALID_CREDENTIALS)
        if not plausible_password(password):
            return refused
        result = self.pool.run(lambda c: c.bind_with_policy(person.dn, password), kind="bind")
        disabled = person.status is not AccountStatus.ACTIVE
        if not result.ok:
            if result.policy_error == "account-locked":
                return AuthOutcome(AuthStatus.DISABLED if disabled else AuthStatus.LOCKED)
            if result.policy_error == "password-expired":
                return AuthOutcome(AuthStatus.EXPIRED)
            return refused
        if disabled:
            return AuthOutcome(AuthStatus.DISABLED)
        if person.locked:  # read as locked a moment ago: slapd's own clock race let the bind through
            return AuthOutcome(AuthStatus.LOCKED)
        if result.policy_error == "change-after-reset":
            return AuthOutcome(AuthStatus.MUST_CHANGE, person=person)
        if result.grace_logins_left is not None:
            return AuthOutcome(AuthStatus.EXPIRED, person=person, grace_logins_left=result.grace_logins_left)
        return AuthOutcome(AuthStatus.SUCCESS, person=person, expires_in_seconds=result.expires_in_seconds)

    # -- passwords ------------------------------------------------------------------------------------------

    def change_own_password(self, login: str, old_password: str, new_password: str) -> None:
        """RFC 3062 Password Modify as the person: bind with the old password, then change it.

        Raises InvalidCredentialsError, AccountLockedError, PasswordExpiredError (no grace login left) or
        PasswordQualityError with the policy's reason.
        """
        if not plausible_login(login) or not plausible_password(old_password):
            raise InvalidCredentialsError()
        new = check_password(new_password, "new_password")
        person = self.find_by_login(login)
        if person is None:
            raise InvalidCredentialsError()
        check_password_rules(new, uid=person.uid, min_length=self.min_password_length())

        def change(conn: LdapConnection) -> None:
            result = conn.bind_with_policy(person.dn, old_password)
            if not result.ok:
                if result.policy_error == "account-locked":
                    raise AccountLockedError(person.uid)
                if result.policy_error == "password-expired":
                    raise PasswordExpiredError(person.uid)
                raise InvalidCredentialsError()
            if person.locked:  # as in authenticate_person
                raise AccountLockedError(person.uid)
            conn.change_password(person.dn, old_password, new)

        self.pool.run(change, kind="bind")

    def reset_password(self, uid: str, new_password: str | None = None, *, must_change: bool = True) -> str | None:
        """Set a password as an administrator; returns the server-generated one when none is given.

        With ``must_change`` the person must choose a new password at the next login (pwdReset).
        """
        person = self.get_person(uid)
        new = None
        if new_password is not None:
            new = check_password(new_password)
            check_password_rules(new, uid=person.uid, min_length=self.min_password_length())

        def reset(conn: LdapConnection) -> str | None:
            generated = conn.change_password(person.dn, None, new)
            entry = conn.read(person.dn, ["pwdReset"])
            is_reset = entry is not None and (entry.first("pwdReset") or "").upper() == "TRUE"
            if must_change and not is_reset:
                conn.modify(person.dn, [Modification("replace", "pwdReset", ["TRUE"])])
            elif not must_change and is_reset:
                conn.modify(person.dn, [Modification("delete", "pwdReset")])
            return generated

        result = self.pool.run(reset)
        return result if isinstance(result, str) else None

    def create_policy(self, policy: PasswordPolicy) -> None:
        """Add (or replace) a named password policy under ou=policies."""
        name = check_group_name(policy.name, "policy")
        dn = f"cn={escape_dn_value(name)},{self.config.policies_dn}"

        def write(conn: LdapConnection) -> None:
            if conn.read(dn, ["1.1"]) is None:
                conn.add(dn, policy.entry_attributes())
            else:
                attrs = policy.entry_attributes()
                conn.modify(dn, [Modification("replace", k, v) for k, v in attrs.items() if k != "cn"])

        self.pool.run(write)

    def set_policy(self, uid: str, policy_name: str | None) -> None:
        """Give an official a named password policy (None: back to the default one)."""
        person = self.get_person(uid)
        if policy_name is None:
            mods = [Modification("delete", "pwdPolicySubentry")]
        else:
            name = check_group_name(policy_name, "policy")
            dn = f"cn={escape_dn_value(name)},{self.config.policies_dn}"
            if self.pool.run(lambda c: c.read(dn, ["1.1"])) is None:
                raise NotFoundError("password policy", name)
            mods = [Modification("replace", "pwdPolicySubentry", [dn])]
        try:
            self.pool.run(lambda c: c.modify(person.dn, mods))
        except InvalidInputError:
            if policy_name is not None:
                raise  # deleting an absent subentry is fine

    # -- locks ---------------------------------------------------------------------------------------------

    def disable(self, uid: str, status: AccountStatus = AccountStatus.SUSPENDED) -> Person:
        """Suspend or retire: the server itself then refuses the account's binds (a permanent ppolicy lock)."""
        if status is AccountStatus.ACTIVE:
            raise InvalidInputError("status", "disable needs suspended or retired")
        person = self.get_person(uid)
        mods = [
            Modification("replace", "antinStatus", [status.value]),
            Modification("replace", "pwdAccountLockedTime", [PERMANENT_LOCK]),
        ]
        self.pool.run(lambda c: c.modify(person.dn, mods))
        return self.get_person(person.uid)

    def enable(self, uid: str) -> Person:
        person = self.get_person(uid)
        mods = [Modification("replace", "antinStatus", [AccountStatus.ACTIVE.value])]
        self.pool.run(lambda c: c.modify(person.dn, mods))
        self._clear_lock(person)
        return self.get_person(person.uid)

    def unlock(self, uid: str) -> Person:
        """Lift a lockout (too many failed logins); a disabled account stays refused until enabled."""
        person = self.get_person(uid)
        if person.status is not AccountStatus.ACTIVE:
            raise InvalidInputError("uid", f"{person.uid} is {person.status.value}: enable it instead")
        self._clear_lock(person)
        return self.get_person(person.uid)

    def _clear_lock(self, person: Person) -> None:
        def clear(conn: LdapConnection) -> None:
            entry = conn.read(person.dn, ["pwdAccountLockedTime", "pwdFailureTime"])
            mods = [
                Modification("delete", attr)
                for attr in ("pwdAccountLockedTime", "pwdFailureTime")
                if entry is not None and entry.get(attr)
            ]
            if mods:
                conn.modify(person.dn, mods, relax=True)

        self.pool.run(clear)


def _lockout_of(entry: Entry) -> LockoutPolicy:
    """The lockout of one pwdPolicy entry; absent attributes take the draft's defaults (no lockout)."""
    if (entry.first("pwdLockout") or "FALSE").upper() != "TRUE":
        return LockoutPolicy(max_failures=0, failure_count_interval=0, lockout_seconds=0)
    return LockoutPolicy(
        max_failures=int(entry.first("pwdMaxFailure") or 0),
        failure_count_interval=int(entry.first("pwdFailureCountInterval") or 0),
        lockout_seconds=int(entry.first("pwdLockoutDuration") or 0),
    )
