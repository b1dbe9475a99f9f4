"""Strong authentication's service: enrolling TOTP, checking second-step codes, recovery codes, removing factors.

Reached through :func:`idp.mfa.get_mfa_service` (``Instance.service("antin.mfa", …)``). Pure of Flask: the views
pass the official's subject, the browser's address and its MFA device cookie, and get outcomes back.
"""

from __future__ import annotations

import base64
import enum
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from antin.kernel.clock import Clock
from antin.kernel.database import Database
from antin.kernel.instance import Instance
from idp.mfa import totp
from idp.mfa.code_throttle import CodeThrottle, mfa_device_cookies
from idp.mfa.errors import EnrolmentExpiredError, FactorNotFoundError, SealedSecretError
from idp.mfa.models import FactorKind, MfaFactor, MfaRecoveryCode
from idp.mfa.notifications import Notice, Notifier
from idp.mfa.qr import qr_svg
from idp.mfa.recovery import new_codes, normalise_recovery_code
from idp.mfa.sealing import SecretSealer
from idp.mfa.settings import MfaSettings
from idp.oidc.audit import Auditor
from idp.settings import ThrottleSettings
from idp.throttle import ThrottleUnavailableError

__all__ = ["CodeOutcome", "CodeStatus", "FactorView", "MfaService", "TotpEnrolment", "build_mfa_service"]

log = logging.getLogger(__name__)

ENROLMENT_SECONDS = 600  # an enrolment page left open longer must start again (a new secret)


class CodeStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    REPLAYED = "replayed"  # right, but already used in its time step
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"  # the throttle's store cannot be reached


@dataclass(frozen=True)
class CodeOutcome:
    status: CodeStatus
    wait_seconds: int = 0
    recovery_codes_left: int | None = None  # after a recovery code was used


@dataclass(frozen=True)
class FactorView:
    id: str
    kind: FactorKind
    name: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: MfaFactor) -> FactorView:
        return cls(row.id, FactorKind(row.kind), row.name, row.created_at, row.last_used_at)


@dataclass(frozen=True)
class TotpEnrolment:
    """A TOTP secret offered to the official, not yet confirmed: ``token`` carries it sealed between pages."""

    token: str
    key_groups: str  # the secret in groups of four
    uri: str
    qr_svg: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


FACTOR_KINDS = "SELECT DISTINCT kind FROM mfa_factor WHERE subject = %(subject)s"


class MfaService:
    def __init__(
        self,
        database: Database,
        sealer: SecretSealer,
        throttle: CodeThrottle,
        audit: Auditor,
        settings: MfaSettings,
        *,
        clock: Clock,
        notifier: Notifier | None = None,
    ) -> None:
        self.database = database
        self.sealer = sealer
        self.throttle = throttle
        self.audit = audit
        self.settings = settings
        self.clock = clock
        self.notifier = notifier

    def _notify(self, notice: Notice, subject: str, *, ip: str | None, **fields: str) -> None:
        if self.notifier is not None:
            self.notifier.notify(notice, subject, at=self.clock.now(), ip=ip, **fields)

    # -- what an official has --------------------------------------------------------------------------

    def factors(self, subject: str) -> list[FactorView]:
        with self.database.reading() as s:
            rows = s.scalars(select(MfaFactor).where(MfaFactor.subject == subject).order_by(MfaFactor.created_at))
            return [FactorView.from_row(row) for row in rows]

    def factor_kinds(self, subject: str) -> frozenset[FactorKind]:
        """The kinds of factor the official has enrolled (security keys and passkeys included), in one read."""
        if self.database.driver is not None:  # PostgreSQL: on psycopg directly, as every sign-in asks it
            rows = self.database.driver.all(FACTOR_KINDS, {"subject": subject})
            return frozenset(FactorKind(row.kind) for row in rows)
        with self.database.reading() as s:
            kinds = s.scalars(select(MfaFactor.kind).where(MfaFactor.subject == subject).distinct())
            return frozenset(FactorKind(kind) for kind in kinds)

    def has_totp(self, subject: str) -> bool:
        with self.database.reading() as s:
            query = select(MfaFactor.id).where(MfaFactor.subject == subject, MfaFactor.kind == FactorKind.TOTP)
            return s.scalars(query.limit(1)).first() is not None

    def recovery_codes_left(self, subject: str) -> int:
        with self.database.reading() as s:
            query = (
                select(func.count())
                .select_from(MfaRecoveryCode)
                .join(MfaFactor, MfaFactor.id == MfaRecoveryCode.factor_id)
                .where(MfaFactor.subject == subject, MfaRecoveryCode.used_at.is_(None))
            )
            return int(s.scalar(query) or 0)

    # -- enrolling TOTP ----------------------------------------------------------------------------------

    def begin_totp(self, subject: str, *, account: str) -> TotpEnrolment:
        secret = totp.new_secret()
        issued = int(self.clock.now().timestamp())
        sealed = self.sealer.seal(f"{secret}\n{issued}".encode(), bound_to=f"totp enrolment\n{subject}")
        uri = totp.provisioning_uri(secret, account=account, issuer=self.settings.totp_issuer)
        return TotpEnrolment(_b64(sealed), totp.group_key(secret), uri, qr_svg(uri))

    def _pending_secret(self, subject: str, token: str) -> str:
        try:
            opened = self.sealer.open(_unb64(token), bound_to=f"totp enrolment\n{subject}").decode()
            secret, issued = opened.split("\n")
        except (SealedSecretError, ValueError, UnicodeDecodeError) as err:
            raise EnrolmentExpiredError("not an enrolment of this official") from err
        if int(issued) + ENROLMENT_SECONDS < self.clock.now().timestamp():
            raise EnrolmentExpiredError("the enrolment expired")
        return secret

    def enrolment_again(self, subject: str, token: str, *, account: str) -> TotpEnrolment:
        """The same offered secret, to show the page again after a wrong first code."""
        secret = self._pending_secret(subject, token)
        uri = totp.provisioning_uri(secret, account=account, issuer=self.settings.totp_issuer)
        return TotpEnrolment(token, totp.group_key(secret), uri, qr_svg(uri))

    def confirm_totp(self, subject: str, token: str, code: str, *, name: str, ip: str | None) -> FactorView | None:
        """Enrol the offered secret when ``code`` is one of its codes (None when it is not).

        Raises :class:`EnrolmentExpiredError` when the offer is too old or another official's."""
        secret = self._pending_secret(subject, token)
        now = self.clock.now()
        step = totp.matching_step(secret, code, now)
        if step is None:
            return None
        factor_id = secrets.token_hex(16)
        row = MfaFactor(
            id=factor_id,
            subject=subject,
            kind=FactorKind.TOTP,
            name=(name.strip() or "TOTP")[:100],
            secret=self.sealer.seal(secret.encode(), bound_to=f"totp\n{subject}\n{factor_id}"),
            totp_last_step=step,  # the confirming code cannot be used again to sign in
            created_at=now,
            last_used_at=now,
        )
        with self.database.session() as s:
            s.add(row)
            s.flush()
            view = FactorView.from_row(row)
        self.audit.record(
            "mfa:totp:enrol", actor=subject, subject=subject, ip=ip, details={"factor": factor_id, "name": view.name}
        )
        self._notify(Notice.FACTOR_ADDED, subject, ip=ip, name=view.name)
        return view

    def enrol_known_totp(self, subject: str, secret: str, *, name: str, actor: str) -> FactorView:
        """Enrol a secret chosen elsewhere, unconfirmed (the demo's official, whose key the banner prints)."""
        factor_id = secrets.token_hex(16)
        now = self.clock.now()
        row = MfaFactor(
            id=factor_id,
            subject=subject,
            kind=FactorKind.TOTP,
            name=name[:100],
            secret=self.sealer.seal(secret.encode(), bound_to=f"totp\n{subject}\n{factor_id}"),
            created_at=now,
        )
        with self.database.session() as s:
            s.add(row)
            s.flush()
            view = FactorView.from_row(row)
        self.audit.record("mfa:totp:enrol", actor=actor, subject=subject, details={"factor": factor_id, "name": name})
        return view

    # -- the second step ---------------------------------------------------------------------------------

    def verify_code(
        self, subject: str, code: str, *, ip: str, device_cookie: str | None, recovery: bool = False
    ) -> CodeOutcome:
        """Check a TOTP code (or, with ``recovery``, a recovery code) of ``subject``, throttled."""
        now = self.clock.now()
        try:
            admission = self.throttle.admit(subject, ip, device_cookie=device_cookie, now=now.timestamp())
        except ThrottleUnavailableError as err:
            log.warning("throttle store unavailable at the second step (%s): code refused", err)
            return CodeOutcome(CodeStatus.UNAVAILABLE)
        if not admission.allowed:
            self.audit.record(
                "mfa:code:throttled", actor=subject, subject=subject, ip=ip, details={"wait": admission.wait_seconds}
            )
            return CodeOutcome(CodeStatus.THROTTLED, wait_seconds=admission.wait_seconds)
        outcome = (
            self._use_recovery_code(subject, code, now, ip) if recovery else self._use_totp(subject, code, now, ip)
        )
        if outcome.status is CodeStatus.ACCEPTED:
            self.throttle.succeeded(admission)
        return outcome

    def _use_totp(self, subject: str, code: str, now: datetime, ip: str) -> CodeOutcome:
        with self.database.reading() as s:
            rows = list(s.scalars(select(MfaFactor).where(MfaFactor.subject == subject, MfaFactor.kind == "totp")))
        for row in rows:
            if row.secret is None:
                continue
            try:
                secret = self.sealer.open(row.secret, bound_to=f"totp\n{subject}\n{row.id}").decode()
            except SealedSecretError:
                log.error("the TOTP secret of factor %s does not open: wrong [mfa] encryption_key?", row.id)
                continue
            step = totp.matching_step(secret, code, now)
            if step is None:
                continue
            # one statement decides: a step at or before the last accepted one is a replay, even in a race
            with self.database.transaction() as conn:
                used = conn.execute(
                    update(MfaFactor)
                    .where(
                        MfaFactor.id == row.id,
                        (MfaFactor.totp_last_step.is_(None)) | (MfaFactor.totp_last_step < step),
                    )
                    .values(totp_last_step=step, last_used_at=now)
                ).rowcount
            details = {"factor": row.id}
            if used == 1:
                self.audit.record("mfa:totp:success", actor=subject, subject=subject, ip=ip, details=details)
                return CodeOutcome(CodeStatus.ACCEPTED)
            self.audit.record("mfa:totp:replay", actor=subject, subject=subject, ip=ip, details=details)
            return CodeOutcome(CodeStatus.REPLAYED)
        self.audit.record("mfa:totp:failure", actor=subject, subject=subject, ip=ip)
        return CodeOutcome(CodeStatus.WRONG)

    def _use_recovery_code(self, subject: str, code: str, now: datetime, ip: str) -> CodeOutcome:
        digest = self.sealer.code_digest(subject, normalise_recovery_code(code))
        mine = select(MfaFactor.id).where(MfaFactor.subject == subject, MfaFactor.kind == FactorKind.RECOVERY)
        with self.database.transaction() as conn:
            used = conn.execute(
                update(MfaRecoveryCode)
                .where(
                    MfaRecoveryCode.digest == digest,
                    MfaRecoveryCode.factor_id.in_(mine.scalar_subquery()),
                    MfaRecoveryCode.used_at.is_(None),
                )
                .values(used_at=now)
            ).rowcount
            if used == 1:
                conn.execute(update(MfaFactor).where(MfaFactor.id.in_(mine.scalar_subquery())).values(last_used_at=now))
        if used != 1:
            self.audit.record("mfa:recovery:failure", actor=subject, subject=subject, ip=ip)
            return CodeOutcome(CodeStatus.WRONG)
        left = self.recovery_codes_left(subject)
        self.audit.record("mfa:recovery:use", actor=subject, subject=subject, ip=ip, details={"left": left})
        self._notify(Notice.RECOVERY_CODE_USED, subject, ip=ip, left=str(left))
        return CodeOutcome(CodeStatus.ACCEPTED, recovery_codes_left=left)

    # -- recovery codes, removal, reset --------------------------------------------------------------------

    def regenerate_recovery_codes(self, subject: str, *, ip: str | None) -> list[str]:
        """Ten new codes, shown once; every earlier code of the official stops working."""
        codes = new_codes()
        factor_id = secrets.token_hex(16)
        now = self.clock.now()
        with self.database.session() as s:
            s.execute(delete(MfaFactor).where(MfaFactor.subject == subject, MfaFactor.kind == FactorKind.RECOVERY))
            s.add(MfaFactor(id=factor_id, subject=subject, kind=FactorKind.RECOVERY, name="recovery", created_at=now))
            s.flush()
            for code in codes:
                s.add(MfaRecoveryCode(digest=self.sealer.code_digest(subject, code), factor_id=factor_id))
        self.audit.record("mfa:recovery:generate", actor=subject, subject=subject, ip=ip, details={"count": len(codes)})
        return codes

    def remove_factor(self, subject: str, factor_id: str, *, actor: str, ip: str | None) -> FactorView:
        with self.database.session() as s:
            row = s.get(MfaFactor, factor_id)
            if row is None or row.subject != subject:
                raise FactorNotFoundError(factor_id)
            view = FactorView.from_row(row)
            s.delete(row)
            s.flush()
            others = select(MfaFactor.id).where(MfaFactor.subject == subject, MfaFactor.kind != FactorKind.RECOVERY)
            if s.scalars(others.limit(1)).first() is None:  # recovery codes stand in for a factor: none is left
                s.execute(delete(MfaFactor).where(MfaFactor.subject == subject, MfaFactor.kind == FactorKind.RECOVERY))
        self.audit.record(
            "mfa:factor:remove",
            actor=actor,
            subject=subject,
            ip=ip,
            details={"factor": factor_id, "kind": str(view.kind)},
        )
        self._notify(Notice.FACTOR_REMOVED, subject, ip=ip, name=view.name)
        return view

    def rename_factor(self, subject: str, factor_id: str, name: str, *, ip: str | None) -> FactorView:
        with self.database.session() as s:
            row = s.get(MfaFactor, factor_id)
            if row is None or row.subject != subject or row.kind == FactorKind.RECOVERY:
                raise FactorNotFoundError(factor_id)
            row.name = name.strip()[:100] or row.name
            view = FactorView.from_row(row)
        details = {"factor": factor_id, "name": view.name}
        self.audit.record("mfa:factor:rename", actor=subject, subject=subject, ip=ip, details=details)
        return view

    def reset(self, subject: str, *, actor: str) -> int:
        """Remove every factor of the official (``antin mfa reset``); the number removed."""
        with self.database.transaction() as conn:
            removed = conn.execute(delete(MfaFactor).where(MfaFactor.subject == subject)).rowcount
        self.audit.record("mfa:factors:reset", actor=actor, subject=subject, details={"removed": removed})
        if removed:
            self._notify(Notice.FACTORS_RESET, subject, ip=None)
        return int(removed)

    # -- MFA device cookies ---------------------------------------------------------------------------------

    def remember_browser(self, cookie: str | None, subject: str) -> str:
        return self.throttle.remember_device(cookie, subject, now=self.clock.now().timestamp())

    @property
    def device_cookie_seconds(self) -> int:
        return self.throttle.devices.lifetime_seconds


def build_mfa_service(instance: Instance) -> MfaService:
    """The MFA service of ``instance``: its key from settings (generated into the data folder in development),
    the login throttle's store (Redis or the database) for the codes' budgets."""
    from idp.login import get_login_service
    from idp.mfa.notifications import build_notifier

    settings = instance.settings.section(MfaSettings)
    key = settings.encryption_key or instance.local_secret("mfa_encryption_key")
    throttle_settings = instance.settings.section(ThrottleSettings)
    devices = mfa_device_cookies(instance.secret_key, throttle_settings.device_days * 86400)
    throttle = CodeThrottle(
        get_login_service(instance).throttle.store,
        settings,
        devices,
        max_delay_seconds=throttle_settings.max_delay_seconds,
    )
    return MfaService(
        instance.database,
        SecretSealer(key),
        throttle,
        Auditor(instance),
        settings,
        clock=instance.clock,
        notifier=build_notifier(instance),
    )
