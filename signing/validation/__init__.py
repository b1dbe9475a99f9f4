"""Verification of PAdES signatures: EN 319 102-1 indications, change analysis, reports, CLI, page and API.

``init_app(app)`` registers the public page ``/verify`` and ``POST /api/signing/verify`` and describes the API
in ``/api/openapi.json``. ``access_check`` is the bearer-token check of the API (the signing package's JWKS
relying-party check); until one is given the API refuses every request (fail closed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from signing.pades.reading.errors import UnusableInputError, ValidationError
from signing.pades.reading.policy import ValidationPolicy
from signing.validation.models import DocumentReport, Indication, SignatureReport

if TYPE_CHECKING:
    from flask import Flask

    from signing.validation.service import policy_from_settings, verify_bytes, verify_file, verify_stream
    from signing.validation.views import AccessCheck, DocumentLookup, access_check_from_verifier

_LAZY = {
    "policy_from_settings": "signing.validation.service",
    "verify_bytes": "signing.validation.service",
    "verify_file": "signing.validation.service",
    "verify_stream": "signing.validation.service",
    "AccessCheck": "signing.validation.views",
    "access_check_from_verifier": "signing.validation.views",
}


def __getattr__(name: str) -> Any:
    # pyHanko and Flask load on first use, so that `antin --help` does not pay for them.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = [
    "AccessCheck",
    "DocumentReport",
    "Indication",
    "SignatureReport",
    "UnusableInputError",
    "ValidationError",
    "ValidationPolicy",
    "access_check_from_verifier",
    "init_app",
    "policy_from_settings",
    "verify_bytes",
    "verify_file",
    "verify_stream",
]


def init_app(
    app: Flask,
    *,
    access_check: AccessCheck | None = None,
    lookup_document: DocumentLookup | None = None,
) -> None:
    from antin.kernel.openapi import add_openapi
    from signing.pades.reading import verifier_caches  # noqa: F401  (on /metrics from the start; pyHanko on first use)
    from signing.validation.openapi import OPENAPI_PATHS, OPENAPI_SCHEMAS, OPENAPI_SECURITY
    from signing.validation.render import register_jinja
    from signing.validation.views import VerifyExtension, register

    extension = VerifyExtension(lookup_document=lookup_document)
    if access_check is not None:
        extension.access_check = access_check
    register(app, extension)
    register_jinja(app)
    if "antin.openapi" in app.extensions:
        add_openapi(app, paths=OPENAPI_PATHS, schemas=OPENAPI_SCHEMAS, security_schemes=OPENAPI_SECURITY)
