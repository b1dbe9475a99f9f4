"""The OpenAPI 3.1 description of the CSC API (v2 paths; the v1 paths pyHanko calls take the same bodies), merged
into ``/api/openapi.json`` by :func:`signing.init_app`. Errors are CSC's ``{error, error_description}``."""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAPI"]

_ERROR = {"$ref": "#/components/schemas/CscError"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    text = {
        "400": "A CSC error: invalid_request (the SAD is unknown, used, expired or for other hashes or credential…).",
        "401": "No valid access token (invalid_token).",
        "403": "The token lacks the scope signing:sign (insufficient_scope).",
    }
    return {status: _json(_ERROR, text[status]) for status in statuses}


def _operation(operation_id: str, summary: str, body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["csc"],
            "security": [{"bearer": ["signing:sign"]}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"200": _json(answer, "The answer."), **_errors("400", "401", "403")},
        }
    }


_HASHES = {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}, "minItems": 1, "maxItems": 100}

OPENAPI: dict[str, Any] = {
    "paths": {
        "/csc/v2/info": {
            "post": {
                "operationId": "cscInfo",
                "summary": "The CSC service: version, authorisation types, methods (no token needed)",
                "tags": ["csc"],
                "responses": {"200": _json({"type": "object"}, "specs, name, authType, oauth2, methods…")},
            }
        },
        "/csc/v2/credentials/list": _operation(
            "cscCredentialsList",
            "The credentials (signing certificates with HSM keys) of the token's official",
            {"type": "object", "properties": {"userID": {"type": "string"}, "credentialInfo": {"type": "boolean"}}},
            {"type": "object", "properties": {"credentialIDs": {"type": "array", "items": {"type": "string"}}}},
        ),
        "/csc/v2/credentials/info": _operation(
            "cscCredentialsInfo",
            "One credential: key algorithms, certificates, authMode oauth2code, SCAL 2, multisign",
            {
                "type": "object",
                "required": ["credentialID"],
                "properties": {
                    "credentialID": {"type": "string"},
                    "certificates": {"type": "string", "enum": ["none", "single", "chain"]},
                    "certInfo": {"type": "boolean"},
                },
            },
            {"type": "object"},
        ),
        "/csc/v2/signatures/signHash": _operation(
            "cscSignHash",
            "Sign, once, exactly the hashes the official approved with WebAuthn (the SAD of oauth2/token)",
            {
                "type": "object",
                "required": ["credentialID", "SAD", "hashes", "signAlgo"],
                "properties": {
                    "credentialID": {"type": "string"},
                    "SAD": {"type": "string"},
                    "hashes": _HASHES,
                    "hashAlgorithmOID": {"type": "string", "enum": ["2.16.840.1.101.3.4.2.1"]},
                    "signAlgo": {"type": "string", "description": "From credentials/info key.algo."},
                },
            },
            {"type": "object", "properties": {"signatures": _HASHES}},
        ),
        "/csc/v2/oauth2/authorize": {
            "get": {
                "operationId": "cscAuthorizeCredential",
                "summary": "The official's page: approve the hashes with a security key or passkey (WebAuthn, UV)",
                "tags": ["csc"],
                "parameters": [
                    {"name": name, "in": "query", "required": required, "schema": {"type": "string"}}
                    for name, required in (
                        ("response_type", True),
                        ("client_id", True),
                        ("redirect_uri", True),
                        ("scope", True),
                        ("credentialID", True),
                        ("numSignatures", True),
                        ("hashes", True),
                        ("hashAlgorithmOID", False),
                        ("state", False),
                        ("code_challenge", False),
                        ("code_challenge_method", False),
                        ("description", False),
                    )
                ],
                "responses": {
                    "200": {"description": "The page (HTML)."},
                    "302": {"description": "Back to redirect_uri with an error (or, after approval, a code)."},
                    "400": {"description": "An unknown client or redirect URI: a page, never a redirect."},
                },
            }
        },
        "/csc/v2/oauth2/token": {
            "post": {
                "operationId": "cscToken",
                "summary": "Exchange the code for the SAD (access_token): single use, short-lived, bound to the hashes",
                "tags": ["csc"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["grant_type", "code", "client_id", "redirect_uri"],
                                "properties": {
                                    "grant_type": {"type": "string", "enum": ["authorization_code"]},
                                    "code": {"type": "string"},
                                    "client_id": {"type": "string"},
                                    "client_secret": {"type": "string"},
                                    "redirect_uri": {"type": "string"},
                                    "code_verifier": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "access_token": {"type": "string", "description": "The SAD."},
                                "SAD": {"type": "string"},
                                "token_type": {"type": "string"},
                                "expires_in": {"type": "integer"},
                            },
                        },
                        "The SAD.",
                    ),
                    "400": _json(_ERROR, "invalid_grant (unknown, used or expired code; bad PKCE verifier)…"),
                    "401": _json(_ERROR, "invalid_client."),
                },
            }
        },
    },
    "schemas": {
        "CscError": {
            "type": "object",
            "required": ["error", "error_description"],
            "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
        }
    },
}
