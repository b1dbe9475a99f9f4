"""Administration delegated by unit: grants of roles on units, and the admin API over the other features.

The package has the platform's feature shape: ``init_app(app)`` here wires ``/api/admin`` (``admin.views``),
``admin.service`` is reached through ``admin_service(instance)``, ``admin.errors`` has one root (``AdminError``),
``admin.models`` the grants table and ``admin.cli`` the ``antin admin`` commands. Nothing imports it but the app
factory and the CLI. ``admin.console`` is the console at ``/admin``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from antin.kernel.instance import Instance

__all__ = ["init_app"]


def init_app(app: Flask, instance: Instance | None = None) -> None:
    """Register ``/api/admin`` and SCIM's ``/scim/v2`` on ``app`` (their access tokens checked like the signing
    API's, RFC 9068) and the console at ``/admin`` (a first-party relying party of the platform's provider)."""
    import admin.views_audit
    import admin.views_bulk
    import admin.views_certificates
    import admin.views_clients
    import admin.views_seals
    import admin.views_units  # noqa: F401
    from admin.service import admin_service
    from admin.views import register
    from idp.oidc import DPOP_ALGS, resource_server_checks
    from signing.auth import AccessTokenVerifier

    instance = instance or app.extensions["antin.instance"]
    issuer = instance.settings.core.issuer
    verifier = AccessTokenVerifier(
        issuer,
        (f"{issuer}/api/admin", issuer),  # RFC 8707 resource when the client asked for one, else the issuer
        checks=resource_server_checks(instance),
        dpop_algs=DPOP_ALGS,
        clock=lambda: instance.clock.now().timestamp(),
    )
    service = admin_service(instance)
    register(app, service, verifier)
    from admin.console import init_console
    from admin.scim import init_scim

    init_scim(app, instance, service)
    init_console(app, instance)
    if "antin.openapi" in app.extensions:
        from admin.openapi import OPENAPI
        from antin.kernel.openapi import add_openapi

        components = OPENAPI["components"]
        add_openapi(
            app,
            paths=OPENAPI["paths"],
            schemas=components["schemas"],
            security_schemes=components["securitySchemes"],
        )
