"""OpenID Provider metadata (OpenID Connect Discovery 1.0 and RFC 8414), from one exact issuer string."""

from __future__ import annotations

from typing import Any

from idp.oidc.acr import ACR_VALUES
from idp.oidc.claims import SUPPORTED_CLAIMS
from idp.oidc.client_auth import ALL_AUTH_METHODS, ASSERTION_ALGS, CONFIDENTIAL_AUTH_METHODS
from idp.oidc.clients import GRANT_TYPES, SUPPORTED_SCOPES
from idp.oidc.dpop import DPOP_ALGS
from idp.oidc.keys import SIGNING_ALGS

__all__ = ["ENDPOINT_PATHS", "UI_LOCALES", "provider_metadata"]

ENDPOINT_PATHS = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "userinfo_endpoint": "/userinfo",
    "jwks_uri": "/jwks.json",
    "end_session_endpoint": "/logout",
    "revocation_endpoint": "/revoke",
    "introspection_endpoint": "/introspect",
    "pushed_authorization_request_endpoint": "/par",
}
UI_LOCALES = ("vi", "en")


def provider_metadata(issuer: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"issuer": issuer}
    metadata.update({name: issuer + path for name, path in ENDPOINT_PATHS.items()})
    metadata.update(
        {
            "scopes_supported": list(SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
            "token_endpoint_auth_methods_supported": ALL_AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
            "revocation_endpoint_auth_methods_supported": ALL_AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_AUTH_METHODS,
            "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": list(SUPPORTED_CLAIMS),
            "claims_parameter_supported": True,
            "claim_types_supported": ["normal"],
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "require_request_uri_registration": True,
            "require_pushed_authorization_requests": False,
            "acr_values_supported": list(ACR_VALUES),
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "display_values_supported": ["page", "popup", "touch"],
            "ui_locales_supported": list(UI_LOCALES),
            "claims_locales_supported": ["vi", "en"],
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "frontchannel_logout_supported": False,
            "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        }
    )
    return metadata
