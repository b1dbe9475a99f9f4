"""The app factory: the one place that puts every feature of the platform together."""

from __future__ import annotations

from flask import Flask

import admin
import idp.login
import idp.mfa
import idp.oidc
import portal
import signing
import signing.validation
from antin.kernel import errors, health, i18n, openapi, web
from antin.kernel.audit.anchor_job import EXTENSION_KEY as AUDIT_ANCHORS
from antin.kernel.audit.anchor_job import AnchorJob
from antin.kernel.audit.anchor_keys import provide_anchor_signer
from antin.kernel.health import add_readiness_check
from antin.kernel.instance import Instance
from antin.kernel.logs import configure_logging
from antin.kernel.overload import QueueDeadline
from antin.kernel.proxy_fix import ForwardedFix
from antin.kernel.settings import Settings
from antin.settings import load_settings
from directory.instance import directory_service, search_keys_warning
from idp.oidc.browser import SSO_COOKIE
from signing.anchor_key import HsmAnchorSigner
from signing.service import signing_service

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, instance: Instance | None = None) -> Flask:
    """Build the WSGI application for one instance (settings read from the environment when not given)."""
    if instance is None:
        instance = Instance(settings or load_settings())
    settings = instance.settings
    configure_logging(settings.log)

    app = Flask("antin")
    app.config.update(
        SECRET_KEY=instance.secret_key,
        SESSION_COOKIE_NAME="antin_session",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=settings.server.max_upload_mb * 1024 * 1024,
        ANTIN_TRUSTED_PROXIES=settings.server.trusted_proxies,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["antin.instance"] = instance
    web.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    health.init_app(app)
    openapi.init_app(app)
    add_readiness_check(app, "directory", lambda: directory_service(instance).check())
    add_readiness_check(app, "search_keys", lambda: search_keys_warning(instance))
    # each server process anchors the audit log every [audit] anchor_every_minutes, when set (started lazily:
    # threads do not survive gunicorn's fork)
    # the anchors are signed with a key in the HSM, through the signing service's session
    provide_anchor_signer(instance, lambda i: HsmAnchorSigner(signing_service(i).keystore, i.database))
    app.before_request(instance.service(AUDIT_ANCHORS, AnchorJob).start)

    idp.oidc.init_app(app)
    web.add_credential_cookie(app, SSO_COOKIE)  # the SSO session authenticates a browser on its own
    idp.login.init_app(app)
    idp.mfa.init_app(app)
    signing.validation.init_app(app)
    signing.init_app(app)
    admin.init_app(app)
    portal.init_app(app)
    if settings.server.trusted_proxies:
        # around every feature's own wrapping, so that what answers before Flask (idp.oidc's documents and token
        # requests) sees the client's address and scheme too
        n = settings.server.trusted_proxies
        app.wsgi_app = ForwardedFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)  # type: ignore[method-assign]
    if settings.server.trusted_proxies and settings.server.queue_timeout:
        # outermost, outside the proxy's fix too: a request that waited too long costs nothing more
        app.wsgi_app = QueueDeadline(app, app.wsgi_app, settings.server.queue_timeout)  # type: ignore[method-assign]
    return app
