"""TOTP (RFC 6238) over pyotp, the one module that imports it: new secrets, provisioning URIs, and which time
step a code belongs to (so the caller can refuse a second use of that step)."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

__all__ = [
    "DIGITS",
    "PERIOD",
    "WINDOW",
    "code_at",
    "group_key",
    "matching_step",
    "new_secret",
    "normalise_code",
    "provisioning_uri",
]

PERIOD = 30
DIGITS = 6
WINDOW = 1  # one step either side: a phone's clock a little off, a code typed as it rolls over
SECRET_LENGTH = 32  # base32 characters: 160 bits, the HMAC-SHA1 block RFC 4226 recommends


def new_secret() -> str:
    return pyotp.random_base32(SECRET_LENGTH)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(name=account, issuer_name=issuer)


def group_key(secret: str) -> str:
    """The secret as people copy it: groups of four characters."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "")


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step (``at`` ± WINDOW) whose code is ``code``; None when none is."""
    code = normalise_code(code)
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):  # "١٢٣٤٥٦" is digits too
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    now_step = int(at.timestamp()) // PERIOD
    found = None
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        # every step is computed and compared in constant time: the answer's timing says nothing about which
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def code_at(secret: str, at: datetime) -> str:
    """The code for the time ``at`` (the demo and the tests, as an authenticator app would compute it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).at(at)
