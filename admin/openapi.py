"""The OpenAPI 3.1 description of the admin API, a fragment merged into ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAPI"]

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_SECURITY: list[dict[str, list[str]]] = [{"adminBearer": []}]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM}}}


def _json(schema: str, description: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


_REFUSALS = {
    "401": _problem("No access token, or one that is invalid, expired or revoked."),
    "403": _problem("The token lacks the scope admin, or the caller holds this power on no unit."),
    "503": _problem("The directory cannot be reached."),
}
_LOGIN = {"name": "login", "in": "path", "required": True, "schema": {"type": "string"}}
_ONE_OFFICIAL = {
    "200": _json("AdminOfficial", "The official."),
    "404": _problem("No such official in the units the caller administers (a stranger and nobody read alike)."),
    **_REFUSALS,
}

OPENAPI: dict[str, Any] = {
    "paths": {
        "/api/admin/officials": {
            "get": {
                "summary": "Search the officials of the units the caller administers",
                "operationId": "adminSearchOfficials",
                "security": _SECURITY,
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": 128},
                        "description": "Part of a name (with or without Vietnamese diacritics), a login or an e-mail,"
                        " or an employee number.",
                    },
                    {
                        "name": "unit",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Code of a unit: only its subtree (it must be within the caller's units).",
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
                    "200": _json("AdminOfficialsPage", "One page of officials."),
                    "400": _problem("A bad page size or cursor."),
                    "404": _problem("The unit is not within the caller's units."),
                    **_REFUSALS,
                },
            }
        },
        "/api/admin/officials/{login}": {
            "get": {
                "summary": "Read one official",
                "operationId": "adminGetOfficial",
                "security": _SECURITY,
                "parameters": [_LOGIN],
                "responses": _ONE_OFFICIAL,
            }
        },
        "/api/admin/officials/{login}/disable": {
            "post": {
                "summary": "Disable an official: end their sessions, revoke their tokens and signing certificates",
                "operationId": "adminDisableOfficial",
                "security": _SECURITY,
                "parameters": [_LOGIN],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"status": {"enum": ["suspended", "retired"], "default": "suspended"}},
                            }
                        }
                    },
                },
                "responses": {
                    **_ONE_OFFICIAL,
                    "400": _problem("A bad status."),
                    "409": _problem("An administrator cannot disable their own account."),
                },
            }
        },
        "/api/admin/officials/{login}/enable": {
            "post": {
                "summary": "Make a suspended or retired official active again",
                "operationId": "adminEnableOfficial",
                "security": _SECURITY,
                "parameters": [_LOGIN],
                "responses": _ONE_OFFICIAL,
            }
        },
    },
    "components": {
        "securitySchemes": {
            "adminBearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "RFC 9068 access token from the platform's OpenID provider with the scope admin, "
                "audience the issuer or <issuer>/api/admin. What it allows is decided by the grants of its subject "
                "(antin admin grant): a role on a unit covers the unit's whole subtree. DPoP-bound tokens go as "
                "'Authorization: DPoP <token>' with a proof (RFC 9449).",
            }
        },
        "schemas": {
            "AdminOfficial": {
                "type": "object",
                "properties": {
                    "login": {"type": "string"},
                    "sub": {"type": "string", "description": "The stable identifier (entryUUID, the OIDC sub)."},
                    "full_name": {"type": "string"},
                    "display_name": {"type": "string"},
                    "mail": {"type": ["string", "null"]},
                    "phone": {"type": ["string", "null"]},
                    "employee_number": {"type": ["string", "null"]},
                    "position": {"type": ["string", "null"]},
                    "status": {"enum": ["active", "suspended", "retired"]},
                    "locked": {"type": "boolean"},
                    "unit": {
                        "type": ["object", "null"],
                        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                    },
                    "unit_path": {"type": "array", "items": {"type": "string"}, "description": "Unit up to the top."},
                    "groups": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["login", "sub", "full_name", "status", "unit_path"],
            },
            "AdminOfficialsPage": {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/AdminOfficial"}},
                    "next_cursor": {"type": ["string", "null"]},
                },
                "required": ["items", "next_cursor"],
            },
        },
    },
}
