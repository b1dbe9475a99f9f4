"""The seal certificate paths and schemas of the admin API's OpenAPI fragment (see :mod:`admin.openapi`)."""

from __future__ import annotations

from typing import Any

from signing.pki import REVOCATION_REASONS

__all__ = ["SEAL_PATHS", "SEAL_SCHEMAS"]

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_SECURITY: list[dict[str, list[str]]] = [{"adminBearer": []}]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_REFUSALS = {
    "401": _problem("No access token, or one that is invalid, expired or revoked."),
    "403": _problem("The token lacks the scope admin, or the caller holds this power on no unit."),
    "503": _problem("The directory, the token (HSM) or the CA cannot be reached."),
}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}, "description": "A unit code."}
_SERIAL = {
    "name": "serial",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The seal certificate's serial number, hexadecimal.",
}
_NOBODY = _problem("No such unit (or seal) in the caller's units: another province's reads alike.")
_ONE_SEAL = _json(_ref("AdminSeal"), "The seal certificate.")

SEAL_PATHS: dict[str, Any] = {
    "/api/admin/seals": {
        "get": {
            "summary": "The units in reach, each with its valid seal certificate or null (certificates:read)",
            "operationId": "adminSeals",
            "security": _SECURITY,
            "parameters": [
                {
                    "name": "unit",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Only this unit and the units under it.",
                }
            ],
            "responses": {
                "200": _json(_ref("AdminUnitSeals"), "The units and their seals."),
                "404": _NOBODY,
                **_REFUSALS,
            },
        }
    },
    "/api/admin/units/{code}/seals": {
        "get": {
            "summary": "A unit's seal certificates, newest first (certificates:read)",
            "operationId": "adminUnitSeals",
            "security": _SECURITY,
            "parameters": [_CODE],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "unit": {"type": "string"},
                            "items": {"type": "array", "items": _ref("AdminSeal")},
                        },
                    },
                    "The unit's seals.",
                ),
                "404": _NOBODY,
                **_REFUSALS,
            },
        },
        "post": {
            "summary": "Issue the unit's seal certificate, its key made in the HSM (certificates:manage)",
            "operationId": "adminIssueSeal",
            "security": _SECURITY,
            "parameters": [_CODE],
            "responses": {
                "201": _json(_ref("AdminSeal"), "The new seal certificate."),
                "404": _NOBODY,
                "409": _problem("The unit has a valid seal: renew it, or revoke it first."),
                **_REFUSALS,
            },
        },
    },
    "/api/admin/seals/{serial}": {
        "get": {
            "summary": "One seal certificate (certificates:read on its unit)",
            "operationId": "adminSeal",
            "security": _SECURITY,
            "parameters": [_SERIAL],
            "responses": {"200": _ONE_SEAL, "404": _NOBODY, **_REFUSALS},
        }
    },
    "/api/admin/seals/{serial}/renew": {
        "post": {
            "summary": "Renew a valid seal: a new key in the HSM and a new certificate for its unit; this one is "
            "revoked as superseded (certificates:manage)",
            "operationId": "adminRenewSeal",
            "security": _SECURITY,
            "parameters": [_SERIAL],
            "responses": {
                "201": _json(_ref("AdminSeal"), "The new seal certificate."),
                "404": _NOBODY,
                "409": _problem("The seal is revoked: issue a new one for its unit instead."),
                **_REFUSALS,
            },
        }
    },
    "/api/admin/seals/{serial}/revoke": {
        "post": {
            "summary": "Revoke a seal with an RFC 5280 reason: the CRL and OCSP say so at once (certificates:manage)",
            "operationId": "adminRevokeSeal",
            "security": _SECURITY,
            "parameters": [_SERIAL],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AdminRevocation")}}},
            "responses": {
                "200": _json(_ref("AdminSeal"), "The revoked seal certificate."),
                "400": _problem("No reason, or one that is not a CRLReason (" + ", ".join(REVOCATION_REASONS) + ")."),
                "404": _NOBODY,
                "409": _problem("Already revoked."),
                **_REFUSALS,
            },
        }
    },
}

SEAL_SCHEMAS: dict[str, Any] = {
    "AdminSeal": {
        "type": "object",
        "properties": {
            "serial": {"type": "string", "description": "Hexadecimal."},
            "unit": {"type": "string"},
            "subject": {"type": "string"},
            "not_before": {"type": "string", "format": "date-time"},
            "not_after": {"type": "string", "format": "date-time"},
            "days_left": {"type": "integer", "description": "Whole days to not_after; negative once expired."},
            "expiry": {
                "enum": ["ok", "expiring", "expired"],
                "description": "expiring: fewer than [admin] pki_warning_days left.",
            },
            "status": {"enum": ["valid", "revoked"]},
            "revoked_at": {"type": ["string", "null"], "format": "date-time"},
            "revocation_reason": {"type": ["string", "null"]},
            "pem": {"type": "string"},
        },
        "required": ["serial", "unit", "subject", "not_before", "not_after", "days_left", "expiry", "status"],
    },
    "AdminUnitSeals": {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "unit": {"type": "string"},
                        "name": {"type": "string"},
                        "seal": {"oneOf": [_ref("AdminSeal"), {"type": "null"}]},
                    },
                },
            }
        },
        "required": ["items"],
    },
}
