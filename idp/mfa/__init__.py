"""Strong authentication: TOTP, security keys and passkeys (WebAuthn), recovery codes, the second step of the
login, the official's security pages and ``antin mfa``.

Where things are: :mod:`idp.mfa.service` (the service, reached through :func:`get_mfa_service`),
:mod:`idp.mfa.models` (the factors and recovery codes), :mod:`idp.mfa.totp` (the one importer of pyotp),
:mod:`idp.mfa.sealing` (secrets encrypted at rest, codes as keyed digests), :mod:`idp.mfa.code_throttle` (wrong
codes slowed, never a lockout), :mod:`idp.mfa.steps` (the login step, plugged into :mod:`idp.login.steps`),
:mod:`idp.mfa.views` (blueprint ``bp``: the step's page and ``/account/security``), :mod:`idp.mfa.cli`
(``antin mfa``), :mod:`idp.mfa.settings` (``[mfa]``) and :mod:`idp.mfa.errors` (root :class:`MfaError`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not at run time: `idp.mfa.settings` is read by every command, `antin verify` too
    from flask import Flask

    from antin.kernel.instance import Instance
    from idp.mfa.service import MfaService

__all__ = ["EXTENSION_KEY", "get_mfa_service", "init_app"]

EXTENSION_KEY = "antin.mfa"


def get_mfa_service(instance: Instance) -> MfaService:
    """The instance's MFA service, built on first use."""
    from idp.mfa.service import build_mfa_service

    return instance.service(EXTENSION_KEY, build_mfa_service)


def init_app(app: Flask) -> None:
    from idp.login.steps import register_level_policy, register_password_listener, register_step
    from idp.mfa import (
        enrolment_views,  # noqa: F401  (its routes join the blueprint)
        security_key_views,  # noqa: F401  (its routes join the blueprint)
    )
    from idp.mfa.notifications import notify_new_browser
    from idp.mfa.passkey_views import init_passkeys
    from idp.mfa.steps import EnrolmentStep, TotpStep, WebAuthnStep, group_policy
    from idp.mfa.views import bp
    from idp.oidc.ui import init_ui

    init_ui(app)
    app.register_blueprint(bp)
    init_passkeys(app)
    register_step(WebAuthnStep())  # before TOTP: the stronger factor first, the app offered on its page
    register_step(TotpStep())
    register_step(EnrolmentStep(), last=True)  # for what the factors above could not give
    register_level_policy(group_policy)
    register_password_listener(notify_new_browser)
