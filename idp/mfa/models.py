"""Strong authentication's SQL state: the factors officials enrolled, and their recovery codes.

One row of ``mfa_factor`` per enrolled factor (a TOTP app, a WebAuthn security key or passkey, and one "recovery"
row per set of recovery codes), keyed to the official's ``sub`` (the directory's entryUUID). A TOTP secret is stored
encrypted (:mod:`idp.mfa.sealing`); ``totp_last_step`` is the last time step a code was accepted for, so a code
is accepted once only. Recovery codes are stored as keyed digests, never in clear.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from antin.kernel.database import Base, UtcDateTime, utcnow

__all__ = ["FactorKind", "MfaFactor", "MfaRecoveryCode"]


class FactorKind(enum.StrEnum):
    TOTP = "totp"
    WEBAUTHN = "webauthn"
    RECOVERY = "recovery"


class MfaFactor(Base):
    __tablename__ = "mfa_factor"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, shown in `antin mfa list`
    subject: Mapped[str] = mapped_column(String(64), index=True)  # the official's entryUUID
    kind: Mapped[str] = mapped_column(String(16))  # a FactorKind
    name: Mapped[str] = mapped_column(String(100))
    secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # sealed (TOTP)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)  # replays of it are refused
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # WebAuthn: the credential (base64url id, COSE public key), its counter and what the authenticator said
    credential_id: Mapped[str | None] = mapped_column(String(1400), unique=True, default=None)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sign_count: Mapped[int | None] = mapped_column(BigInteger, default=None)  # a count going backwards: a clone
    transports: Mapped[str | None] = mapped_column(String(200), default=None)  # space-separated, as the browser said
    aaguid: Mapped[str | None] = mapped_column(String(36), default=None)  # all zeros with "none" attestation
    backup_eligible: Mapped[bool | None] = mapped_column(Boolean, default=None)  # a synced passkey
    backed_up: Mapped[bool | None] = mapped_column(Boolean, default=None)


class MfaRecoveryCode(Base):
    """One single-use recovery code of a recovery factor, as a digest."""

    __tablename__ = "mfa_recovery_code"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    factor_id: Mapped[str] = mapped_column(ForeignKey("mfa_factor.id", ondelete="CASCADE"), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
