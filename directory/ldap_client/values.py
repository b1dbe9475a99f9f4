"""The plain values the LDAP layer hands out and takes: entries, bind results, modifications, LDIF records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["BindResult", "Entry", "LdifRecord", "Modification", "PolicyError", "Scope", "Values", "as_bytes", "as_text"]

Scope = Literal["base", "one", "sub"]
Values = Sequence[str | bytes]

# ppolicy response error codes (draft-behera-ldap-password-policy, section 6.2)
PolicyError = Literal[
    "password-expired",
    "account-locked",
    "change-after-reset",
    "password-mod-not-allowed",
    "must-supply-old-password",
    "insufficient-password-quality",
    "password-too-short",
    "password-too-young",
    "password-in-history",
]


@dataclass(frozen=True)
class Entry:
    """One entry of a search result, values decoded as UTF-8 text."""

    dn: str
    attrs: Mapping[str, tuple[str, ...]]

    def first(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None

    def get(self, name: str) -> tuple[str, ...]:
        lowered = name.lower()
        for key, values in self.attrs.items():
            if key.lower() == lowered:
                return values
        return ()


@dataclass(frozen=True)
class BindResult:
    """What a bind with the password-policy control said."""

    ok: bool
    policy_error: PolicyError | None = None
    grace_logins_left: int | None = None
    expires_in_seconds: int | None = None


@dataclass(frozen=True)
class Modification:
    op: Literal["add", "replace", "delete"]
    attr: str
    values: Values | None = None  # None with "delete" removes every value


@dataclass(frozen=True)
class LdifRecord:
    """A content record of an LDIF file and the line it starts on."""

    line: int
    dn: str
    attrs: Mapping[str, tuple[str, ...]]
    changetype: str | None = None


def as_text(values: Sequence[bytes]) -> tuple[str, ...]:
    return tuple(v.decode("utf-8", "replace") for v in values)


def as_bytes(values: Values) -> list[bytes]:
    return [v if isinstance(v, bytes) else v.encode("utf-8") for v in values]
