"""Security keys and passkeys (WebAuthn) of officials: registering them, and checking an assertion at sign-in.

Pure of Flask: the views keep the ceremony's challenge (in the signed session, with the time it was issued) and
pass it back with the browser's answer. Reached through :func:`get_security_keys`.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from antin.kernel.clock import Clock
from antin.kernel.database import Database
from antin.kernel.instance import Instance
from idp.mfa import webauthn
from idp.mfa.models import FactorKind, MfaFactor
from idp.mfa.notifications import Notice, Notifier, build_notifier
from idp.mfa.webauthn import Ceremony, KnownCredential, RelyingPartyIdentity, WebAuthnRefusedError
from idp.oidc.audit import Auditor

__all__ = [
    "CEREMONY_SECONDS",
    "AssertionOutcome",
    "AssertionStatus",
    "SecurityKeyView",
    "SecurityKeys",
    "get_security_keys",
]

CEREMONY_SECONDS = 300  # a challenge older than this is refused (the browser's own timeout is 2 minutes)
EXTENSION_KEY = "antin.mfa.security_keys"


class AssertionStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"  # a bad signature, another origin or RP, a tampered clientDataJSON, a stale challenge
    UNKNOWN_CREDENTIAL = "unknown"  # not a key of this official (or of anyone)
    CLONED = "cloned"  # the sign count went backwards


@dataclass(frozen=True)
class AssertionOutcome:
    status: AssertionStatus
    user_verified: bool = False
    backup_eligible: bool = False
    hardware: bool = False  # a key of a model on the hardware_aaguids allow-list, kept on one device


@dataclass(frozen=True)
class SecurityKeyView:
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    transports: tuple[str, ...]
    aaguid: str
    backup_eligible: bool
    backed_up: bool
    user_verified: bool = False  # at its registration (not stored: only the answer that made it says)

    @classmethod
    def from_row(cls, row: MfaFactor) -> SecurityKeyView:
        return cls(
            row.id,
            row.name,
            row.created_at,
            row.last_used_at,
            tuple((row.transports or "").split()),
            row.aaguid or "",
            bool(row.backup_eligible),
            bool(row.backed_up),
        )


class SecurityKeys:
    def __init__(
        self,
        database: Database,
        audit: Auditor,
        rp: RelyingPartyIdentity,
        *,
        clock: Clock,
        hardware_aaguids: frozenset[str] = frozenset(),
        notifier: Notifier | None = None,
    ) -> None:
        self.notifier = notifier
        self.hardware_aaguids = hardware_aaguids
        self.database = database
        self.audit = audit
        self.rp = rp
        self.clock = clock

    def is_hardware(self, key: SecurityKeyView) -> bool:
        """A key of a model on the hardware_aaguids allow-list, kept on one device (not a synced passkey)."""
        return not key.backup_eligible and key.aaguid.lower() in self.hardware_aaguids

    def _rows(self, subject: str) -> list[MfaFactor]:
        with self.database.reading() as s:
            query = select(MfaFactor).where(MfaFactor.subject == subject, MfaFactor.kind == FactorKind.WEBAUTHN)
            return list(s.scalars(query.order_by(MfaFactor.created_at)))

    def keys(self, subject: str) -> list[SecurityKeyView]:
        return [SecurityKeyView.from_row(row) for row in self._rows(subject)]

    def has_keys(self, subject: str) -> bool:
        with self.database.reading() as s:
            query = select(MfaFactor.id).where(MfaFactor.subject == subject, MfaFactor.kind == FactorKind.WEBAUTHN)
            return s.scalars(query.limit(1)).first() is not None

    def _known(self, subject: str) -> list[KnownCredential]:
        return [
            KnownCredential(webauthn_id(row), tuple((row.transports or "").split()))
            for row in self._rows(subject)
            if row.credential_id
        ]

    # -- registration ---------------------------------------------------------------------------------------

    def begin_registration(
        self, subject: str, *, login: str, display_name: str, require_user_verification: bool = False
    ) -> Ceremony:
        return webauthn.registration_options(
            self.rp,
            user_id=subject.encode(),  # the entryUUID: opaque, and finds the official of a passkey
            user_name=login,
            display_name=display_name,
            exclude=self._known(subject),
            require_user_verification=require_user_verification,
        )

    def finish_registration(
        self,
        subject: str,
        response_json: str,
        challenge: bytes,
        *,
        name: str,
        ip: str | None,
        require_user_verification: bool = False,
    ) -> SecurityKeyView:
        """Raises :class:`WebAuthnRefusedError` when the answer does not verify or the key is registered."""
        try:
            new = webauthn.verify_registration(
                self.rp, response_json, challenge, require_user_verification=require_user_verification
            )
        except WebAuthnRefusedError as err:
            self.audit.record(
                "mfa:webauthn:register-failure", actor=subject, subject=subject, ip=ip, details={"reason": str(err)}
            )
            raise
        credential_id = webauthn.b64url(new.credential_id)
        now = self.clock.now()
        with self.database.session() as s:
            if s.scalars(select(MfaFactor.id).where(MfaFactor.credential_id == credential_id)).first() is not None:
                raise WebAuthnRefusedError("this credential is registered already")
            row = MfaFactor(
                id=secrets.token_hex(16),
                subject=subject,
                kind=FactorKind.WEBAUTHN,
                name=(name.strip() or "Security key")[:100],
                credential_id=credential_id,
                public_key=new.public_key,
                sign_count=new.sign_count,
                transports=" ".join(new.transports),
                aaguid=new.aaguid,
                backup_eligible=new.backup_eligible,
                backed_up=new.backed_up,
                created_at=now,
            )
            s.add(row)
            s.flush()
            view = dataclasses.replace(SecurityKeyView.from_row(row), user_verified=new.user_verified)
        details = {"factor": view.id, "name": view.name, "aaguid": view.aaguid, "backup_eligible": view.backup_eligible}
        self.audit.record("mfa:webauthn:register", actor=subject, subject=subject, ip=ip, details=details)
        if self.notifier is not None:
            self.notifier.notify(Notice.FACTOR_ADDED, subject, at=now, ip=ip, name=view.name)
        return view

    # -- sign-in --------------------------------------------------------------------------------------------

    def begin_assertion(
        self, subject: str, *, challenge: bytes | None = None, require_user_verification: bool = False
    ) -> Ceremony:
        """Options for an assertion by one of the official's keys (``challenge``: random unless given)."""
        return webauthn.authentication_options(
            self.rp,
            allow=self._known(subject),
            challenge=challenge,
            require_user_verification=require_user_verification,
        )

    def begin_passkey(self) -> Ceremony:
        """A passwordless sign-in: any discoverable credential of this RP, the user verified."""
        return webauthn.passkey_options(self.rp)

    def verify_passkey(self, response_json: str, challenge: bytes, *, ip: str) -> tuple[str | None, AssertionOutcome]:
        """Whose passkey answered (None when nobody's) and the outcome; user verification required."""
        try:
            credential_id = webauthn.b64url(webauthn.assertion_credential_id(response_json))
        except WebAuthnRefusedError:
            return None, AssertionOutcome(AssertionStatus.REFUSED)
        with self.database.reading() as s:
            query = select(MfaFactor.subject).where(
                MfaFactor.credential_id == credential_id, MfaFactor.kind == FactorKind.WEBAUTHN
            )
            subject = s.scalars(query).first()
        if subject is None:
            return None, AssertionOutcome(AssertionStatus.UNKNOWN_CREDENTIAL)
        try:
            handle = webauthn.assertion_user_handle(response_json)
        except WebAuthnRefusedError:
            return None, AssertionOutcome(AssertionStatus.REFUSED)
        if handle is not None and handle != subject.encode():  # the credential was made for another official
            return None, self._refused(subject, ip, AssertionStatus.REFUSED, "user handle of another official")
        outcome = self.verify_assertion(subject, response_json, challenge, ip=ip, require_user_verification=True)
        return subject, outcome

    def verify_assertion(
        self, subject: str, response_json: str, challenge: bytes, *, ip: str, require_user_verification: bool = False
    ) -> AssertionOutcome:
        try:
            credential_id = webauthn.b64url(webauthn.assertion_credential_id(response_json))
        except WebAuthnRefusedError as err:
            return self._refused(subject, ip, AssertionStatus.REFUSED, str(err))
        with self.database.reading() as s:
            row = s.scalars(
                select(MfaFactor).where(
                    MfaFactor.credential_id == credential_id,
                    MfaFactor.subject == subject,
                    MfaFactor.kind == FactorKind.WEBAUTHN,
                )
            ).first()
        if row is None or row.public_key is None:
            return self._refused(subject, ip, AssertionStatus.UNKNOWN_CREDENTIAL, "unknown credential")
        try:
            assertion = webauthn.verify_assertion(
                self.rp, response_json, challenge, row.public_key, require_user_verification=require_user_verification
            )
        except WebAuthnRefusedError as err:
            return self._refused(subject, ip, AssertionStatus.REFUSED, str(err), factor=row.id)
        stored = row.sign_count or 0
        if (assertion.sign_count or stored) and assertion.sign_count <= stored:
            details = {"factor": row.id, "stored": stored, "presented": assertion.sign_count}
            self.audit.record("mfa:webauthn:cloned", actor=subject, subject=subject, ip=ip, details=details)
            return AssertionOutcome(AssertionStatus.CLONED)
        # one statement decides, so that two answers with the same count cannot both pass
        with self.database.transaction() as conn:
            used = conn.execute(
                update(MfaFactor)
                .where(MfaFactor.id == row.id, func.coalesce(MfaFactor.sign_count, 0) == stored)
                .values(sign_count=assertion.sign_count, backed_up=assertion.backed_up, last_used_at=self.clock.now())
            ).rowcount
        if used != 1:
            return self._refused(subject, ip, AssertionStatus.REFUSED, "used at the same time", factor=row.id)
        details = {"factor": row.id, "user_verified": assertion.user_verified}
        self.audit.record("mfa:webauthn:success", actor=subject, subject=subject, ip=ip, details=details)
        hardware = not row.backup_eligible and (row.aaguid or "").lower() in self.hardware_aaguids
        return AssertionOutcome(AssertionStatus.ACCEPTED, assertion.user_verified, bool(row.backup_eligible), hardware)

    def _refused(
        self, subject: str, ip: str, status: AssertionStatus, reason: str, *, factor: str | None = None
    ) -> AssertionOutcome:
        details = {"reason": reason, **({"factor": factor} if factor else {})}
        self.audit.record("mfa:webauthn:failure", actor=subject, subject=subject, ip=ip, details=details)
        return AssertionOutcome(status)


def webauthn_id(row: MfaFactor) -> bytes:
    text = row.credential_id or ""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def get_security_keys(instance: Instance) -> SecurityKeys:
    return instance.service(EXTENSION_KEY, _build)


def _build(instance: Instance) -> SecurityKeys:
    from idp.mfa.settings import MfaSettings

    settings = instance.settings.section(MfaSettings)
    rp = webauthn.relying_party(instance.settings.core.issuer, settings.totp_issuer)
    hardware = frozenset(a.lower() for a in settings.hardware_aaguids)
    return SecurityKeys(
        instance.database,
        Auditor(instance),
        rp,
        clock=instance.clock,
        hardware_aaguids=hardware,
        notifier=build_notifier(instance),
    )
