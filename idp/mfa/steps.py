"""The second step of the login (see :mod:`idp.login.steps`), asked after the password of every official who
enrolled a factor: a security key or passkey when the official has one (its page offers the authenticator app
instead), else a TOTP code (or a recovery code). One second factor is enough: a step is not asked once the
sign-in reached the second factor's level, unless the request wants a stronger one (step-up: a session at
``mfa`` asked for ``phishing-resistant`` is asked for its key alone).

Last of all, the enrolment step (:class:`EnrolmentStep`): when the required level (the client's, the request's
essential ``acr``, the official's groups') is still out of reach and a factor set up now can give it, the
official sets one up inside the login (``[mfa] enrol_in_login``)."""

from __future__ import annotations

from dataclasses import dataclass

from antin.kernel.web import get_instance
from directory.models import Person
from idp.login.steps import StepContext
from idp.mfa import get_mfa_service
from idp.mfa.models import FactorKind
from idp.mfa.policy import enrolment_reaches, official_level, reminder_level
from idp.mfa.settings import MfaSettings
from idp.oidc.acr import ACR_MFA, acr_rank

__all__ = ["ENROL_STEP", "TOTP_STEP", "WEBAUTHN_STEP", "EnrolmentStep", "TotpStep", "WebAuthnStep", "group_policy"]

TOTP_STEP = "totp"
WEBAUTHN_STEP = "webauthn"
ENROL_STEP = "enrol"
_FACTOR_KINDS = "mfa.factor_kinds"


def _factor_kinds(ctx: StepContext) -> frozenset[FactorKind]:
    """The official's enrolled factor kinds, read once for every step asked with this context."""
    kinds = ctx.reads.get(_FACTOR_KINDS)
    if kinds is None:
        kinds = ctx.reads[_FACTOR_KINDS] = get_mfa_service(get_instance()).factor_kinds(ctx.person.entry_uuid)
    return frozenset(kinds)


def _second_factor_done(ctx: StepContext) -> bool:
    return acr_rank(ctx.result.acr) >= acr_rank(ACR_MFA)


def _level_reached(ctx: StepContext) -> bool:
    """The second factor's level, or the request's if stronger, is reached: a key has nothing to add."""
    target = max(acr_rank(ACR_MFA), acr_rank(ctx.required_acr))
    return acr_rank(ctx.result.acr) >= target


@dataclass(frozen=True)
class WebAuthnStep:
    name: str = WEBAUTHN_STEP
    endpoint: str = "mfa.security_key_step"

    def required(self, ctx: StepContext) -> bool:
        return not _level_reached(ctx) and FactorKind.WEBAUTHN in _factor_kinds(ctx)


@dataclass(frozen=True)
class TotpStep:
    name: str = TOTP_STEP
    endpoint: str = "mfa.second_step"

    def required(self, ctx: StepContext) -> bool:
        return not _second_factor_done(ctx) and FactorKind.TOTP in _factor_kinds(ctx)


@dataclass(frozen=True)
class EnrolmentStep:
    name: str = ENROL_STEP
    endpoint: str = "mfa.enrolment_step"

    def required(self, ctx: StepContext) -> bool:
        """The required level is out of reach and a factor set up now gives it; or, before ``[mfa] enrol_by``,
        the official's policy level is (a reminder they may put off)."""
        instance = get_instance()
        settings = instance.settings.section(MfaSettings)
        if not settings.enrol_in_login:
            return False
        reminder = reminder_level(settings, ctx.person, instance.clock.now())
        for target in (ctx.minimum_acr, reminder):
            if (
                target is not None
                and acr_rank(ctx.result.acr) < acr_rank(target)
                and enrolment_reaches(settings, target)
            ):
                return True
        return False


def group_policy(person: Person) -> str | None:
    """The login's level policy (:func:`idp.login.steps.register_level_policy`): ``[mfa]``'s levels."""
    instance = get_instance()
    return official_level(instance.settings.section(MfaSettings), person, instance.clock.now())
