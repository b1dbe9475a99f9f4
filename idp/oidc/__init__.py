"""The OpenID Connect provider: discovery, JWKS, authorization (with PAR), token, userinfo, introspection,
revocation, RP-initiated and back-channel logout. ``init_app(app)`` plugs it into the app factory.

Where things are: ``views/`` (the endpoints, one module per group, on the blueprint ``bp``), ``provider.py``
(the service, reached with ``get_provider(instance)``), ``server.py`` (authlib's server and grants, reached with
``get_authorization_server(instance)``), ``errors.py`` (every exception, under ``OidcError``), ``models.py``,
``cli.py``; tokens are minted in ``tokens.py``, codes live in ``codes.py``, look-ups in ``token_lookup.py``,
revocation in ``revocation.py``; on PostgreSQL their hot statements are SQL text on psycopg in ``token_driver.py``.
The discovery document and the JWKS (``discovery_documents.py``), /token's grants and /introspect
(``fastpath.py``, over the rules in ``token_grants.py`` that authlib's grants use too) are answered before Flask.

The platform's own resource servers (``signing``) use only what this package exports: the revocation and DPoP
checks of :mod:`idp.oidc.resource` (and, for CSC's credential authorisation, a registered client's name, redirect
URIs and secret check), and the authentication levels (``ACR_VALUES``, weakest first, and
``normalise_acr`` for the EAP values ``phr``/``phrh``) that a resource server may require (RFC 9470).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from idp.oidc.acr import ACR_VALUES, normalise_acr

if TYPE_CHECKING:
    from flask import Flask

    from idp.oidc.errors import DPoPProofError
    from idp.oidc.registered_clients import RegisteredClient, client_secret_matches, registered_client
    from idp.oidc.resource import DPOP_ALGS, ResourceServerChecks, resource_server_checks

# Imported on first use (PEP 562): the signing settings read ACR_VALUES from here, and every command, `antin verify`
# too, would otherwise load the resource server's checks with the provider's SQL models behind them.
_LAZY = {
    "DPoPProofError": "idp.oidc.errors",
    "DPOP_ALGS": "idp.oidc.resource",
    "ResourceServerChecks": "idp.oidc.resource",
    "resource_server_checks": "idp.oidc.resource",
    "RegisteredClient": "idp.oidc.registered_clients",
    "client_secret_matches": "idp.oidc.registered_clients",
    "registered_client": "idp.oidc.registered_clients",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACR_VALUES",
    "DPOP_ALGS",
    "DPoPProofError",
    "RegisteredClient",
    "ResourceServerChecks",
    "client_secret_matches",
    "init_app",
    "normalise_acr",
    "registered_client",
    "resource_server_checks",
]


def init_app(app: Flask) -> None:
    from idp.oidc.discovery_documents import PublishedDocuments
    from idp.oidc.fastpath import EXTENSION_KEY as FASTPATH
    from idp.oidc.fastpath import MachineEndpoints
    from idp.oidc.service import get_provider
    from idp.oidc.ui import init_ui
    from idp.oidc.views import bp

    instance = app.extensions["antin.instance"]
    provider = get_provider(instance)
    init_ui(app)
    app.register_blueprint(bp)
    # the public documents and the machine-to-machine token requests are answered before Flask (see each module)
    trusted = app.config.get("ANTIN_TRUSTED_PROXIES", 0) > 0
    fast = MachineEndpoints(app.wsgi_app, app, provider, trusted_proxies=trusted)
    app.extensions[FASTPATH] = fast
    app.wsgi_app = PublishedDocuments(fast, provider, trusted_proxies=trusted)  # type: ignore[method-assign]
    if "antin.readiness" in app.extensions:
        from antin.kernel.health import add_readiness_check

        def signing_keys_readable() -> None:
            # the active private keys can be read (the instance secret has not changed under them)
            provider.keys.signing_key("ES256")

        add_readiness_check(app, "signing-keys", signing_keys_readable)

    @app.before_request
    def _start_backchannel_drainer() -> None:
        # started lazily in each worker (threads do not survive gunicorn's fork)
        provider.backchannel.start()
        fast.app_request_started()
