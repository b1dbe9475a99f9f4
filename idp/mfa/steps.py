"""The second step of the login (see :mod:`idp.login.steps`): a TOTP code, or a recovery code instead, asked
after the password of every official who enrolled a TOTP factor."""

from __future__ import annotations

from dataclasses import dataclass

from antin.kernel.web import get_instance
from idp.login.steps import StepContext
from idp.mfa import get_mfa_service

__all__ = ["TOTP_STEP", "TotpStep"]

TOTP_STEP = "totp"


@dataclass(frozen=True)
class TotpStep:
    name: str = TOTP_STEP
    endpoint: str = "mfa.second_step"

    def required(self, ctx: StepContext) -> bool:
        return get_mfa_service(get_instance()).has_totp(ctx.person.entry_uuid)
