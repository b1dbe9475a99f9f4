"""The login interaction: password sign-in, password change, consent, and the official's account page.

It is separate from the protocol: :mod:`idp.oidc` hands it an interaction and takes back an
:class:`idp.oidc.interaction.AuthenticationResult` (subject, auth_time, acr, amr). MFA steps plug in through
:mod:`idp.login.steps`.
"""

from __future__ import annotations

from flask import Flask, current_app

from antin.kernel.instance import Instance
from idp.login.service import LoginService
from idp.settings import ThrottleSettings

__all__ = ["EXTENSION_KEY", "get_login_service", "init_app"]

EXTENSION_KEY = "antin.login"


def _build(instance: Instance) -> LoginService:
    from idp.oidc.provider import get_provider
    from idp.throttle import DatabaseThrottleStore, DeviceCookies, LoginThrottle, RedisThrottleStore, ThrottleStore

    provider = get_provider(instance)
    settings = provider.settings
    store: ThrottleStore
    if settings.redis.url:
        store = RedisThrottleStore(settings.redis.url)
    else:
        store = DatabaseThrottleStore(provider.instance.database)
    devices = DeviceCookies.from_secret(
        provider.instance.secret_key, settings.section(ThrottleSettings).device_days * 86400
    )
    return LoginService(
        provider.directory, LoginThrottle(store, settings.section(ThrottleSettings)), provider.audit, devices
    )


def get_login_service() -> LoginService:
    instance: Instance = current_app.extensions["antin.instance"]
    return instance.service(EXTENSION_KEY, _build)


def init_app(app: Flask) -> None:
    from idp.login.views import bp
    from idp.oidc.ui import init_ui

    init_ui(app)
    app.register_blueprint(bp)
