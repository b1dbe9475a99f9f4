"""Checks on every value that reaches the directory from outside: a bad one is an InvalidInputError naming it.

Values are normalised to Unicode NFC (Vietnamese typed on some systems arrives decomposed), refused when they
hold NUL or other control characters, and bounded in length. Identifiers that end up in DNs (uid, unit code,
group name) are restricted to a safe alphabet on top of being escaped.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable

from directory.errors import InvalidInputError, PasswordQualityError

__all__ = [
    "MAX_NAME",
    "check_code",
    "check_group_name",
    "check_mail",
    "check_optional",
    "check_password",
    "check_password_rules",
    "check_text",
    "check_uid",
    "check_uuid",
    "split_full_name",
]

MAX_NAME = 256
MAX_PASSWORD = 256
_UID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_GROUP = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_MAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_EMPLOYEE = re.compile(r"[A-Za-z0-9][A-Za-z0-9./-]{0,63}")  # HR systems' ids (a UUID) fit too
_PHONE = re.compile(r"\+?[0-9][0-9 ().-]{2,31}")
_CARD = re.compile(r"[0-9A-Za-z][0-9A-Za-z./-]{0,31}")
# Unicode's control characters (category Cc) are exactly these 65 code points; one regex search instead of a
# unicodedata.category() call per character (a tenth of an import's own CPU per row).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def check_text(
    field: str, value: object, *, max_length: int = MAX_NAME, required: bool = True, strip: bool = True
) -> str:
    """Text without control characters, NFC-normalised, stripped, at most ``max_length`` characters.

    Identifiers (``strip=False``) are refused with surrounding spaces rather than silently changed.
    """
    if not isinstance(value, str):
        raise InvalidInputError(field, "must be text")
    if "\x00" in value:
        raise InvalidInputError(field, "must not contain NUL")
    if _CONTROL.search(value):
        raise InvalidInputError(field, "must not contain control characters")
    text = unicodedata.normalize("NFC", value).strip()
    if not strip and value != value.strip():
        raise InvalidInputError(field, "must not start or end with spaces")
    if required and not text:
        raise InvalidInputError(field, "must not be empty")
    if len(text) > max_length:
        raise InvalidInputError(field, f"must be at most {max_length} characters")
    return text


def _check_pattern(field: str, value: object, pattern: re.Pattern[str], max_length: int, what: str) -> str:
    text = check_text(field, value, max_length=max_length, strip=False)
    if not pattern.fullmatch(text):
        raise InvalidInputError(field, f"{text!r} is not {what}")
    return text


def check_uid(value: object, field: str = "uid") -> str:
    text = check_text(field, value, max_length=64, strip=False).lower()
    if not _UID.fullmatch(text):
        raise InvalidInputError(field, "must be 1-64 of a-z, 0-9, '.', '_', '-' and start with a letter or digit")
    return text


def check_code(value: object, field: str = "code") -> str:
    return _check_pattern(field, value, _CODE, 64, "a unit code (1-64 of A-Z, a-z, 0-9, '.', '_', '-')")


def check_group_name(value: object, field: str = "name") -> str:
    text = check_text(field, value, max_length=64, strip=False).lower()
    if not _GROUP.fullmatch(text):
        raise InvalidInputError(field, "must be 1-64 of a-z, 0-9, '.', '_', '-' and start with a letter or digit")
    return text


def check_mail(value: object, field: str = "mail") -> str:
    return _check_pattern(field, value, _MAIL, 254, "an e-mail address").lower()


def check_optional(field: str, value: str | None) -> str | None:
    """Optional attributes of a person: None stays None, "" means "remove"."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip() == "":
        return ""
    return _OPTIONAL_CHECKS[field](field, value)


_OPTIONAL_CHECKS: dict[str, Callable[[str, str], str]] = {  # built once: an import checks five per row
    "mail": lambda f, v: check_mail(v, f),
    "phone": lambda f, v: _check_pattern(f, v, _PHONE, 32, "a telephone number"),
    "employee_number": lambda f, v: _check_pattern(f, v, _EMPLOYEE, 64, "an employee number"),
    "party_card_number": lambda f, v: _check_pattern(f, v, _CARD, 32, "a Party card number"),
    "position": check_text,
    "description": lambda f, v: check_text(f, v, max_length=1024),
}


# The canonical form itself (what slapd hands out and tokens carry) needs no parsing: under 0.5 µs instead of 2.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch


def check_uuid(value: object) -> str | None:
    """The canonical form of an entryUUID, or None when ``value`` is not one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    if _CANONICAL_UUID(value):
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def check_password(value: object, field: str = "password") -> str:
    """A password the server can store: non-empty (an empty one would be an anonymous bind), no NUL."""
    if not isinstance(value, str) or value == "":
        raise InvalidInputError(field, "must not be empty")
    if "\x00" in value:
        raise InvalidInputError(field, "must not contain NUL")
    if len(value) > MAX_PASSWORD:
        raise InvalidInputError(field, f"must be at most {MAX_PASSWORD} characters")
    return value


def check_password_rules(password: str, *, uid: str | None = None, min_length: int = 0, min_classes: int = 3) -> None:
    """Rules the server's ppolicy cannot express: character classes, and not the login name inside.

    ``min_length`` repeats the policy's pwdMinLength, which slapd does not apply to passwords an administrator
    sets (creation, reset).
    """
    if len(password) < min_length:
        raise PasswordQualityError(f"the password is too short (at least {min_length} characters)")
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < min_classes:
        raise PasswordQualityError(
            f"use at least {min_classes} of: lower-case letters, upper-case letters, digits, symbols"
        )
    if uid and len(uid) >= 3 and uid.lower() in password.lower():
        raise PasswordQualityError("the password must not contain the login name")


def split_full_name(full_name: str) -> tuple[str, str]:
    """(surname, given name) of a Vietnamese full name: the family name comes first, the given name last."""
    words = full_name.split()
    return words[0], words[-1]
