"""Sole control of an official's HSM key: it signs only documents the official has just approved with WebAuthn.

:meth:`SoleControl.begin` stores a pending authorisation for an ordered list of SHA-256 digests and hands out
WebAuthn request options whose challenge is ``SHA-256(nonce || encode_digests(digests))``: the assertion signs
that challenge, so it commits to exactly these documents. :meth:`SoleControl.complete` checks the assertion the
way the sign-in step does (origin, RP ID, signature, sign counter, user verification required here), that the
digests are those begun, that the window is open and that nobody used the authorisation before (one conditional
UPDATE claims it). The :class:`Authorisation` it returns is what the signing service asks for before it signs.

``official`` is the official's OIDC ``sub`` (the directory's entryUUID): WebAuthn credentials are kept by it.
Every refusal and every grant is written to the audit trail (``signing:sole_control:*``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import delete, select, update

from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance
from idp.mfa.security_keys import AssertionStatus, SecurityKeys, get_security_keys
from signing.errors import SoleControlRefused
from signing.models import SoleControlRecord, aware
from signing.settings import SigningSettings

__all__ = [
    "DIGEST_SIZE",
    "MAX_DIGESTS",
    "Authorisation",
    "SoleControl",
    "SoleControlRefused",
    "challenge_for",
    "encode_digests",
    "get_sole_control",
]

EXTENSION_KEY = "antin.signing.sole_control"
DIGEST_SIZE = 32  # SHA-256
MAX_DIGESTS = 100  # a batch the official can still read on one screen
_DOMAIN = b"antin:sole-control:v1\x00"  # so that no other protocol's challenge can mean this


@dataclass(frozen=True)
class Authorisation:
    """A used-once approval by ``official`` of the documents whose SHA-256 digests are ``digests``."""

    id: str
    official: str
    digests: tuple[bytes, ...]
    purpose: str
    granted_at: datetime

    def allows(self, digest: bytes) -> bool:
        return digest in self.digests

    def require(self, digest: bytes, *, official: str | None = None) -> None:
        """Raise :class:`SoleControlRefused` unless this authorisation covers ``digest`` (for ``official``)."""
        if official is not None and official != self.official:
            raise SoleControlRefused("foreign", "the authorisation is another official's")
        if not self.allows(digest):
            raise SoleControlRefused("wrong_document", f"sha256 {digest.hex()} was not approved")


def encode_digests(digests: Sequence[bytes]) -> bytes:
    """The canonical encoding: a domain tag, the count (4 bytes, big-endian), then each 32-byte digest in order."""
    return _DOMAIN + struct.pack(">I", len(digests)) + b"".join(digests)


def challenge_for(nonce: bytes, digests: Sequence[bytes]) -> bytes:
    return hashlib.sha256(nonce + encode_digests(digests)).digest()


def _checked_digests(digests: Sequence[bytes]) -> tuple[bytes, ...]:
    values = tuple(bytes(d) for d in digests)
    if not values or len(values) > MAX_DIGESTS:
        raise ValueError(f"between 1 and {MAX_DIGESTS} digests")
    if any(len(d) != DIGEST_SIZE for d in values):
        raise ValueError("each digest is a SHA-256 digest of 32 bytes")
    return values


class SoleControl:
    """Reached with :func:`get_sole_control`; ``keys`` and ``window_seconds`` default to the instance's."""

    def __init__(
        self, instance: Instance, keys: SecurityKeys | None = None, *, window_seconds: int | None = None
    ) -> None:
        self.instance = instance
        self.keys = keys or get_security_keys(instance)
        if window_seconds is None:
            window_seconds = instance.settings.section(SigningSettings).sole_control_seconds
        self.window = timedelta(seconds=window_seconds)

    def begin(self, official: str, digests: Sequence[bytes], *, purpose: str) -> tuple[str, dict[str, Any]]:
        """A pending authorisation of ``digests`` and the WebAuthn request options for the browser.

        Raises :class:`SoleControlRefused` ``no_key`` when the official has no security key or passkey, and
        ``ValueError`` for an empty list or a digest that is not 32 bytes (a caller's bug, not the official's).
        """
        values = _checked_digests(digests)
        if not self.keys.has_keys(official):
            self._refused(official, None, "no_key", "no security key or passkey registered", purpose=purpose)
        nonce = secrets.token_bytes(32)
        authorisation_id = secrets.token_urlsafe(24)
        now = self.instance.clock.now()
        ceremony = self.keys.begin_assertion(
            official, challenge=challenge_for(nonce, values), require_user_verification=True
        )
        with self.instance.database.session() as s:
            # the official's authorisations of yesterday and before serve nobody (the audit chain keeps them)
            s.execute(
                delete(SoleControlRecord).where(
                    SoleControlRecord.official == official, SoleControlRecord.expires_at < now - timedelta(days=1)
                )
            )
            s.add(
                SoleControlRecord(
                    id=authorisation_id,
                    official=official,
                    purpose=purpose[:64],
                    digests=" ".join(d.hex() for d in values),
                    nonce=nonce,
                    created_at=now,
                    expires_at=now + self.window,
                )
            )
        self.instance.audit.record(
            AuditEvent.SIGNING_SOLE_CONTROL_BEGIN,
            actor=official,
            subject=official,
            details={"authorisation": authorisation_id, "purpose": purpose, "sha256": [d.hex() for d in values]},
        )
        options: dict[str, Any] = json.loads(ceremony.options_json)
        return authorisation_id, options

    def complete(
        self,
        authorisation_id: str,
        official: str,
        credential: Mapping[str, Any],
        digests: Sequence[bytes],
        *,
        purpose: str | None = None,
        ip: str = "",
    ) -> Authorisation:
        """Check the official's assertion (``credential``: the browser's ``credential.toJSON()``) and claim it.

        ``purpose``, when given, must be the one the authorisation was begun for (``document:<id>``): the assertion
        commits to the bytes, and two documents with the same bytes are still two decisions of the official.
        """
        with self.instance.database.reading() as s:
            row = s.get(SoleControlRecord, authorisation_id)
        if row is None:
            self._refused(official, authorisation_id, "foreign", "unknown authorisation", ip=ip)
        if row.official != official:
            self._refused(official, authorisation_id, "foreign", f"begun for {row.official}", ip=ip)
        if row.used_at is not None:
            self._refused(official, authorisation_id, "reused", "used already", ip=ip)
        if purpose is not None and row.purpose != purpose:
            self._refused(
                official, authorisation_id, "wrong_document", f"begun for {row.purpose}, not {purpose}", ip=ip
            )
        now = self.instance.clock.now()
        if aware(row.expires_at) <= now:
            self._refused(official, authorisation_id, "expired", "the window closed", ip=ip)
        stored = tuple(bytes.fromhex(h) for h in row.digests.split())
        try:
            given = _checked_digests(digests)
        except ValueError:
            given = ()
        if given != stored:
            self._refused(official, authorisation_id, "wrong_document", "not the documents approved", ip=ip)
        if not self.keys.has_keys(official):
            self._refused(official, authorisation_id, "no_key", "the security keys were removed", ip=ip)
        outcome = self.keys.verify_assertion(
            official,
            json.dumps(dict(credential)),
            challenge_for(row.nonce, stored),
            ip=ip,
            require_user_verification=True,
        )
        if outcome.status is not AssertionStatus.ACCEPTED or not outcome.user_verified:
            self._refused(official, authorisation_id, "bad_assertion", outcome.status.value, ip=ip)
        # one statement claims it: of two answers at once, one only passes
        with self.instance.database.transaction() as conn:
            claimed = conn.execute(
                update(SoleControlRecord)
                .where(
                    SoleControlRecord.id == authorisation_id,
                    SoleControlRecord.official == official,
                    SoleControlRecord.used_at.is_(None),
                    SoleControlRecord.expires_at > now,
                )
                .values(used_at=now)
            ).rowcount
        if claimed != 1:
            self._refused(official, authorisation_id, "reused", "claimed at the same time", ip=ip)
        self.instance.audit.record(
            AuditEvent.SIGNING_SOLE_CONTROL_GRANT,
            actor=official,
            subject=official,
            ip=ip or None,
            details={"authorisation": authorisation_id, "purpose": row.purpose, "sha256": [d.hex() for d in stored]},
        )
        return Authorisation(authorisation_id, official, stored, row.purpose, now)

    def pending_digests(self, authorisation_id: str, official: str) -> tuple[bytes, ...] | None:
        """The digests of an unused, unexpired authorisation of ``official`` (to list them on screen again)."""
        now = self.instance.clock.now()
        with self.instance.database.reading() as s:
            row = s.scalars(
                select(SoleControlRecord).where(
                    SoleControlRecord.id == authorisation_id,
                    SoleControlRecord.official == official,
                    SoleControlRecord.used_at.is_(None),
                )
            ).first()
        if row is None or aware(row.expires_at) <= now:
            return None
        return tuple(bytes.fromhex(h) for h in row.digests.split())

    def _refused(
        self, official: str, authorisation_id: str | None, reason: str, detail: str, *, ip: str = "", purpose: str = ""
    ) -> NoReturn:
        details = {"reason": reason, "detail": detail, "authorisation": authorisation_id, "purpose": purpose or None}
        self.instance.audit.record(
            AuditEvent.SIGNING_SOLE_CONTROL_REFUSE,
            actor=official,
            subject=official,
            ip=ip or None,
            details={k: v for k, v in details.items() if v},
        )
        raise SoleControlRefused(reason, detail)


def get_sole_control(instance: Instance) -> SoleControl:
    return instance.service(EXTENSION_KEY, _build)


def _build(instance: Instance) -> SoleControl:
    return SoleControl(instance)
