"""The directory's errors. Each carries structured fields; the text is safe to show to an administrator."""

from __future__ import annotations

__all__ = [
    "AccountLockedError",
    "AlreadyExistsError",
    "ChangedMeanwhileError",
    "DirectoryError",
    "DirectoryUnavailableError",
    "InvalidCredentialsError",
    "InvalidInputError",
    "NotFoundError",
    "PasswordExpiredError",
    "PasswordPolicyError",
    "PasswordQualityError",
    "PermissionDeniedError",
]


class DirectoryError(Exception):
    """Base of every error the directory package raises."""


class DirectoryUnavailableError(DirectoryError):
    """No LDAP server answered in time (down, unreachable, TLS failure)."""

    def __init__(self, reason: str, uris: tuple[str, ...] = ()) -> None:
        self.reason = reason
        self.uris = uris
        super().__init__(f"directory unavailable: {reason}")


class InvalidCredentialsError(DirectoryError):
    """Wrong password or unknown account (never says which)."""

    def __init__(self) -> None:
        super().__init__("invalid credentials")


class AccountLockedError(DirectoryError):
    def __init__(self, uid: str) -> None:
        self.uid = uid
        super().__init__(f"account {uid!r} is locked")


class PasswordExpiredError(DirectoryError):
    def __init__(self, uid: str) -> None:
        self.uid = uid
        super().__init__(f"the password of {uid!r} has expired")


class PasswordPolicyError(DirectoryError):
    """A password change refused by the password policy; ``reason`` names the rule."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"password refused: {reason}")


class PasswordQualityError(PasswordPolicyError):
    """Too short, too simple, or reused from the history."""


class NotFoundError(DirectoryError):
    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(f"no {what} {key!r}")


class AlreadyExistsError(DirectoryError):
    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key!r} already exists")


class InvalidInputError(DirectoryError):
    """A value that cannot be stored (empty, too long, bad characters); ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class PermissionDeniedError(DirectoryError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"permission denied: {reason}")


class ChangedMeanwhileError(DirectoryError):
    """A change made against a version of an entry (its entryCSN) that is no longer the current one."""

    def __init__(self, dn: str) -> None:
        self.dn = dn
        super().__init__(f"{dn} changed since it was read")
