"""Password policies: the options of an OpenLDAP ``pwdPolicy`` entry, as a frozen value."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVICE_POLICY", "LockoutPolicy", "PasswordPolicy"]


@dataclass(frozen=True)
class LockoutPolicy:
    """When the directory locks an account after failed binds: what the IdP must keep strangers below."""

    max_failures: int = 5
    """pwdMaxFailure: the failed bind that makes this many within the interval locks; 0: never locks."""
    failure_count_interval: int = 900
    """pwdFailureCountInterval: failures older than this are forgotten; 0: only a successful bind forgets."""
    lockout_seconds: int = 900
    """pwdLockoutDuration: how long a lock lasts; 0 until an administrator unlocks."""

    @classmethod
    def strictest(cls, policies: list[LockoutPolicy]) -> LockoutPolicy:
        """One policy at least as strict as each of ``policies`` (fewest failures, longest memory)."""
        locking = [p for p in policies if p.max_failures > 0]
        if not locking:
            return cls(max_failures=0, failure_count_interval=0, lockout_seconds=0)
        intervals = [p.failure_count_interval for p in locking]
        durations = [p.lockout_seconds for p in locking]
        return cls(
            max_failures=min(p.max_failures for p in locking),
            failure_count_interval=0 if 0 in intervals else max(intervals),  # 0: never forgets
            lockout_seconds=0 if 0 in durations else max(durations),  # 0: until an administrator unlocks
        )


@dataclass(frozen=True)
class PasswordPolicy:
    """One password policy (draft-behera-ldap-password-policy, as slapo-ppolicy implements it).

    The ``default`` policy applies to everyone without a ``pwdPolicySubentry``; other named policies are
    assigned per person (a stricter one for administrators, a short-lived one in tests).
    """

    name: str = "default"
    """The policy entry's cn, under ou=policies."""
    min_length: int = 10
    """pwdMinLength: shortest accepted password."""
    check_quality: int = 2
    """pwdCheckQuality: 2 refuses what the server cannot check (pre-hashed values)."""
    lockout: bool = True
    """pwdLockout: lock the account after ``max_failures`` consecutive failures."""
    max_failures: int = 5
    """pwdMaxFailure: failed binds that lock the account."""
    lockout_seconds: int = 900
    """pwdLockoutDuration: how long a lock lasts; 0 keeps it until an administrator unlocks."""
    failure_count_interval: int = 900
    """pwdFailureCountInterval: failures older than this are forgotten."""
    max_age_seconds: int = 180 * 86400
    """pwdMaxAge: a password expires this long after it was set; 0 never."""
    expire_warning_seconds: int = 14 * 86400
    """pwdExpireWarning: binds report the time left this long before expiry."""
    grace_logins: int = 3
    """pwdGraceAuthNLimit: binds still allowed with an expired password (to change it)."""
    in_history: int = 5
    """pwdInHistory: how many previous passwords cannot be reused."""
    must_change: bool = True
    """pwdMustChange: a password set or reset by an administrator must be changed at the next login."""
    allow_user_change: bool = True
    """pwdAllowUserChange: people may change their own password."""
    safe_modify: bool = False
    """pwdSafeModify: a change must quote the old password (the Password Modify operation always does)."""
    min_age_seconds: int = 0
    """pwdMinAge: seconds before a new password may be changed again."""

    def lockout_policy(self) -> LockoutPolicy:
        if not self.lockout:
            return LockoutPolicy(max_failures=0, failure_count_interval=0, lockout_seconds=0)
        return LockoutPolicy(self.max_failures, self.failure_count_interval, self.lockout_seconds)

    def entry_attributes(self) -> dict[str, list[str]]:
        """The LDAP attributes of the policy entry (structural applicationProcess + auxiliary pwdPolicy)."""

        def flag(value: bool) -> str:
            return "TRUE" if value else "FALSE"

        return {
            "objectClass": ["applicationProcess", "pwdPolicy"],
            "cn": [self.name],
            "pwdAttribute": ["userPassword"],
            "pwdMinLength": [str(self.min_length)],
            "pwdCheckQuality": [str(self.check_quality)],
            "pwdLockout": [flag(self.lockout)],
            "pwdMaxFailure": [str(self.max_failures)],
            "pwdLockoutDuration": [str(self.lockout_seconds)],
            "pwdFailureCountInterval": [str(self.failure_count_interval)],
            "pwdMaxAge": [str(self.max_age_seconds)],
            "pwdExpireWarning": [str(self.expire_warning_seconds)],
            "pwdGraceAuthNLimit": [str(self.grace_logins)],
            "pwdInHistory": [str(self.in_history)],
            "pwdMustChange": [flag(self.must_change)],
            "pwdAllowUserChange": [flag(self.allow_user_change)],
            "pwdSafeModify": [flag(self.safe_modify)],
            "pwdMinAge": [str(self.min_age_seconds)],
        }


# The service account must never be locked out by someone guessing its password, nor expire.
SERVICE_POLICY = PasswordPolicy(
    name="service",
    min_length=16,
    check_quality=1,
    lockout=False,
    max_age_seconds=0,
    expire_warning_seconds=0,
    grace_logins=0,
    in_history=0,
    must_change=False,
)
