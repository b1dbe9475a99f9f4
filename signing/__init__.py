"""Documents, keys and certificates: PAdES signing, the platform's PKI (CA, CRL, OCSP) and its RFC 3161 TSA.

The package has the platform's feature shape: ``init_app(app, instance)`` here wires the HTTP endpoints of
``signing.views`` (blueprints ``bp``, the signing API, and ``pki_bp``, the PKI and the TSA), ``signing.service``
is reached through ``signing_service(instance)``, ``signing.errors`` has one root (``SigningError``),
``signing.models`` the tables and ``signing.cli`` the ``antin pki`` and ``antin sign`` commands.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from signing.settings import SigningSettings

if TYPE_CHECKING:
    from flask import Flask

    from antin.kernel.instance import Instance

__all__ = ["init_app"]

log = logging.getLogger(__name__)


def init_app(app: Flask, instance: Instance | None = None) -> None:
    """Register ``/api/signing``, ``/csc``, ``/pki`` and ``/tsa`` on ``app``.

    ``instance`` defaults to ``app.extensions["antin.instance"]``. In the embedded default the CA is generated on
    first start; in production it must have been imported (``antin pki import-ca``) or initialised beforehand.
    """
    from idp.oidc import ACR_VALUES, DPOP_ALGS, normalise_acr, resource_server_checks
    from signing.auth import AccessTokenVerifier, AcrRequirement
    from signing.errors import SigningError
    from signing.service import signing_service
    from signing.views import register

    instance = instance or app.extensions["antin.instance"]
    service = signing_service(instance)
    settings = instance.settings
    # The IdP gives access tokens the audience a client asks for (RFC 8707 resource) and else the issuer itself;
    # the scope signing:sign is what authorises signing.
    issuer = settings.core.issuer
    signing_settings = settings.section(SigningSettings)
    audience = (signing_settings.api_audience,) if signing_settings.api_audience else (f"{issuer}/api/signing", issuer)
    acr = None
    if signing_settings.required_acr:
        required = normalise_acr(signing_settings.required_acr)
        acr = AcrRequirement(required, frozenset(ACR_VALUES[ACR_VALUES.index(required) :]))
    verifier = AccessTokenVerifier(
        issuer,
        audience,
        checks=resource_server_checks(instance),
        dpop_algs=DPOP_ALGS,
        revocation_cache_seconds=signing_settings.revocation_cache_seconds,
        clock=lambda: instance.clock.now().timestamp(),  # token expiry and caches follow the instance clock
        acr=acr,
    )
    register(app, service, verifier)
    from signing.csc.views import register as register_csc

    register_csc(app)  # the Cloud Signature Consortium API, over the same verifier and service
    from signing.requests.service import request_service
    from signing.requests.views import register as register_requests

    # built now, so that its listener turns every signature of a request into a webhook, whoever signs it
    register_requests(app, request_service(instance))
    from signing.documents.reminders import reminder_job

    # each server process looks for due reminders every [documents] remind_every_minutes (started lazily: threads
    # do not survive gunicorn's fork); the claim in SQL sends each one once, whichever process finds it first
    app.before_request(reminder_job(instance).start)
    verify = app.extensions.get("antin.verify")
    if verify is not None:
        # The verification API takes the same bearer tokens, and its page shows what a QR code's id refers to.
        from signing.validation.views import access_check_from_verifier

        verify.access_check = access_check_from_verifier(verifier)
        verify.lookup_document = service.describe_signature
        verify.platform_root = lambda: bytes(service.ca.chain().root.dump())  # from the database, on every host
    if "antin.readiness" in app.extensions:
        from antin.kernel.health import add_readiness_check

        def check_hsm() -> None:
            service.keystore.check()

        def check_pki() -> None:
            service.ca.chain()

        add_readiness_check(app, "hsm", check_hsm)
        add_readiness_check(app, "pki", check_pki)
    if "antin.openapi" in app.extensions:
        from antin.kernel.openapi import add_openapi
        from signing.openapi import OPENAPI

        components = OPENAPI["components"]
        add_openapi(
            app,
            paths=OPENAPI["paths"],
            schemas=components["schemas"],
            security_schemes=components["securitySchemes"],
        )
        from signing.csc.openapi import OPENAPI as CSC_OPENAPI

        add_openapi(app, paths=CSC_OPENAPI["paths"], schemas=CSC_OPENAPI["schemas"])
        from signing.requests.openapi import OPENAPI as REQUESTS_OPENAPI

        add_openapi(app, paths=REQUESTS_OPENAPI["paths"], schemas=REQUESTS_OPENAPI["schemas"])
    if not settings.production:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            service.ensure_pki()
        except SigningError as err:
            log.error("the signing PKI could not be set up: %s", err)
        except SQLAlchemyError as err:
            # The app still starts (the directory and the IdP do not need these tables); /readyz says "pki".
            log.error("the signing tables are missing or unreadable (run `antin db upgrade`): %s", type(err).__name__)
