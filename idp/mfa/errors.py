"""Strong authentication's exceptions: one root, :class:`MfaError`."""

from __future__ import annotations

__all__ = ["EnrolmentExpiredError", "FactorNotFoundError", "MfaError", "SealedSecretError"]


class MfaError(Exception):
    """Anything strong authentication refuses."""


class SealedSecretError(MfaError):
    """A stored secret cannot be decrypted: another encryption key, or the row was tampered with."""


class EnrolmentExpiredError(MfaError):
    """A TOTP enrolment started too long ago, by another official, or not at all."""


class FactorNotFoundError(MfaError):
    """No such factor for this official."""

    def __init__(self, factor_id: str) -> None:
        super().__init__(f"no factor {factor_id!r}")
        self.factor_id = factor_id
