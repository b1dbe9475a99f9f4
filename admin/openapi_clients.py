"""The OIDC client paths and schemas of the admin API's OpenAPI fragment (see :mod:`admin.openapi`)."""

from __future__ import annotations

from typing import Any

from idp.oidc.acr import ACR_VALUES
from idp.oidc.clients import AUTH_METHODS, GRANT_TYPES, SUPPORTED_SCOPES

__all__ = ["CLIENT_PATHS", "CLIENT_SCHEMAS"]

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_SECURITY: list[dict[str, list[str]]] = [{"adminBearer": []}]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM}}}


def _client(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"ETag": {"schema": {"type": "string"}, "description": "The client's version, for If-Match."}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AdminClient"}}},
    }


_REFUSALS = {
    "401": _problem("No access token, or one that is invalid, expired or revoked."),
    "403": _problem(
        "The token lacks the scope admin, the caller holds clients:manage on no unit, or (platform-only) asks to "
        "make a client trusted or give it a signing, admin or scim scope without holding clients:manage on *."
    ),
}
_CLIENT_ID = {"name": "client_id", "in": "path", "required": True, "schema": {"type": "string"}}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "schema": {"type": "string"},
    "description": "The ETag of the version read: a change made meanwhile gives 412 (with the current ETag).",
}
_NONE = _problem("No such client in the caller's units: another province's reads alike.")
_CHANGED = {
    "412": _problem("The client changed since the If-Match version was read; the answer's ETag is the current one."),
}
_METADATA = _problem(
    "A field the provider refuses (invalid-client-metadata): a redirect URI with a fragment, plain http to a host "
    "other than the loopback (refused in production), not absolute; an unknown scope, grant type or level; a "
    "public client with a secret method. The detail names the field."
)

CLIENT_PATHS: dict[str, Any] = {
    "/api/admin/clients": {
        "get": {
            "summary": "The OIDC clients of the caller's units (clients:manage)",
            "operationId": "adminListClients",
            "security": _SECURITY,
            "parameters": [
                {
                    "name": "q",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": 128},
                    "description": "Text in the client's name (with or without diacritics) or its client_id.",
                },
                {
                    "name": "unit",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Code of a unit: only its subtree's clients (it must be within the caller's units).",
                },
                {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {
                    "name": "cursor",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "The next_cursor of the previous page, with the same q and unit.",
                },
            ],
            "responses": {
                "200": {
                    "description": "One page of clients, ordered by client_id.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AdminClientsPage"}}},
                },
                "400": _problem("A bad page size, search text or cursor."),
                "404": _problem("The unit named is not within the caller's units."),
                **_REFUSALS,
            },
        },
        "post": {
            "summary": "Register a client in a unit; its secret (confidential clients) is in this answer only",
            "operationId": "adminRegisterClient",
            "security": _SECURITY,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AdminClientRegistration"}}},
            },
            "responses": {
                "201": _client("The client, with client_secret when it has one (Cache-Control: no-store)."),
                "400": _METADATA,
                "404": _problem("The unit named is not within the caller's units."),
                "409": _problem("The client_id asked for is already registered."),
                **_REFUSALS,
            },
        },
    },
    "/api/admin/clients/{client_id}": {
        "get": {
            "summary": "One client (clients:manage on its unit)",
            "operationId": "adminGetClient",
            "security": _SECURITY,
            "parameters": [_CLIENT_ID],
            "responses": {"200": _client("The client."), "404": _NONE, **_REFUSALS},
        },
        "patch": {
            "summary": "Change fields of a client (null clears an optional one); If-Match required. Moving it to "
            "another unit (unit) needs both in reach",
            "operationId": "adminEditClient",
            "security": _SECURITY,
            "parameters": [_CLIENT_ID, {**_IF_MATCH, "required": True}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AdminClientChanges"}}},
            },
            "responses": {
                "200": _client("The client; with client_secret when the change made it start using one."),
                "400": _METADATA,
                "404": _NONE,
                "409": _problem("One of the platform's own clients (the portal, the console): not edited here."),
                "428": _problem("No If-Match."),
                **_CHANGED,
                **_REFUSALS,
            },
        },
    },
    "/api/admin/clients/{client_id}/secret": {
        "post": {
            "summary": "A new secret, in this answer only; the old one stops working at once",
            "operationId": "adminRotateClientSecret",
            "security": _SECURITY,
            "parameters": [_CLIENT_ID, _IF_MATCH],
            "responses": {
                "200": _client("The client with client_secret (Cache-Control: no-store)."),
                "404": _NONE,
                "409": _problem("The client does not authenticate with a secret."),
                **_CHANGED,
                **_REFUSALS,
            },
        }
    },
    "/api/admin/clients/{client_id}/disable": {
        "post": {
            "summary": "Disable a client: its tokens and sign-ins are refused at once",
            "operationId": "adminDisableClient",
            "security": _SECURITY,
            "parameters": [_CLIENT_ID, _IF_MATCH],
            "responses": {
                "200": _client("The client."),
                "404": _NONE,
                "409": _problem("One of the platform's own clients: not disabled here."),
                **_CHANGED,
                **_REFUSALS,
            },
        }
    },
    "/api/admin/clients/{client_id}/enable": {
        "post": {
            "summary": "Enable a disabled client again",
            "operationId": "adminEnableClient",
            "security": _SECURITY,
            "parameters": [_CLIENT_ID, _IF_MATCH],
            "responses": {"200": _client("The client."), "404": _NONE, **_CHANGED, **_REFUSALS},
        }
    },
}

_FIELDS: dict[str, Any] = {
    "client_name": {"type": "string", "maxLength": 200},
    "redirect_uris": {
        "type": "array",
        "items": {"type": "string", "format": "uri"},
        "description": "Compared exactly. https, or http to localhost/127.0.0.1/::1 (RFC 8252); plain http to "
        "another host outside production only; no fragment. Required for authorization_code.",
    },
    "post_logout_redirect_uris": {"type": "array", "items": {"type": "string", "format": "uri"}},
    "backchannel_logout_uri": {"type": ["string", "null"], "format": "uri"},
    "scope": {"type": "string", "description": "Space-separated, of: " + " ".join(SUPPORTED_SCOPES)},
    "grant_types": {"type": "array", "items": {"enum": list(GRANT_TYPES)}},
    "token_endpoint_auth_method": {"enum": list(AUTH_METHODS)},
    "public": {"type": "boolean", "description": "No secret, PKCE only (token_endpoint_auth_method none)."},
    "trusted": {"type": "boolean", "description": "First-party: no consent page (platform-only)."},
    "required_acr": {"type": ["string", "null"], "enum": [*ACR_VALUES, "phr", "phrh", None]},
    "home_url": {"type": ["string", "null"], "format": "uri", "description": "Linked from the officials' portal."},
    "jwks_uri": {"type": ["string", "null"], "format": "uri", "description": "For private_key_jwt."},
    "unit": {"type": "string", "description": "The unit whose client managers manage it; * for the platform."},
}

CLIENT_SCHEMAS: dict[str, Any] = {
    "AdminClientsPage": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/AdminClient"}},
            "next_cursor": {"type": ["string", "null"], "description": "Pass back as cursor; null on the last page."},
        },
        "required": ["items", "next_cursor"],
    },
    "AdminClient": {
        "type": "object",
        "properties": {
            "client_id": {"type": "string"},
            **_FIELDS,
            "client_secret": {"type": "string", "description": "Only in the answer that made it."},
            "default_acr_values": {"type": "array", "items": {"type": "string"}},
            "disabled": {"type": "boolean"},
            "orphaned": {
                "type": "boolean",
                "description": "Its unit was deleted (a unit given its code since is another): the platform's alone.",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "secret_rotated_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "required": ["client_id", "client_name", "public", "trusted", "unit", "disabled"],
    },
    "AdminClientRegistration": {
        "type": "object",
        "properties": {
            "client_id": {"type": "string", "maxLength": 64, "description": "Default: a random one."},
            **_FIELDS,
        },
        "required": ["client_name"],
        "additionalProperties": False,
    },
    "AdminClientChanges": {"type": "object", "properties": _FIELDS, "additionalProperties": False},
}
