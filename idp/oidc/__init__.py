"""The OpenID Connect provider: discovery, JWKS, authorization (with PAR), token, userinfo, introspection,
revocation, RP-initiated and back-channel logout. ``init_app(app)`` plugs it into the app factory."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from idp.oidc.provider import get_provider
    from idp.oidc.ui import init_ui
    from idp.oidc.views import bp

    instance = app.extensions["antin.instance"]
    provider = get_provider(instance)
    init_ui(app)
    app.register_blueprint(bp)

    @app.before_request
    def _start_backchannel_drainer() -> None:
        # started lazily in each worker (threads do not survive gunicorn's fork)
        provider.backchannel.start()
