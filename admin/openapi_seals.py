"""The seal certificate paths and schemas of the admin API's OpenAPI fragment (see :mod:`admin.openapi`)."""

from __future__ import annotations

from typing import Any

from admin.openapi_parts import PKI_REFUSALS, SECURITY, json_of, problem, ref
from signing.pki import REVOCATION_REASONS

__all__ = ["SEAL_PATHS", "SEAL_SCHEMAS"]

_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}, "description": "A unit code."}
_SERIAL = {
    "name": "serial",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The seal certificate's serial number, hexadecimal.",
}
_NOBODY = problem("No such unit (or seal) in the caller's units: another province's reads alike.")
_ONE_SEAL = json_of(ref("AdminSeal"), "The seal certificate.")

SEAL_PATHS: dict[str, Any] = {
    "/api/admin/seals": {
        "get": {
            "summary": "The units in reach, each with its valid seal certificate or null (certificates:read)",
            "operationId": "adminSeals",
            "security": SECURITY,
            "parameters": [
                {
                    "name": "unit",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "Only this unit and the units under it.",
                }
            ],
            "responses": {
                "200": json_of(ref("AdminUnitSeals"), "The units and their seals."),
                "404": _NOBODY,
                **PKI_REFUSALS,
            },
        }
    },
    "/api/admin/units/{code}/seals": {
        "get": {
            "summary": "A unit's seal certificates, newest first (certificates:read)",
            "operationId": "adminUnitSeals",
            "security": SECURITY,
            "parameters": [_CODE],
            "responses": {
                "200": json_of(
                    {
                        "type": "object",
                        "properties": {
                            "unit": {"type": "string"},
                            "items": {"type": "array", "items": ref("AdminSeal")},
                        },
                    },
                    "The unit's seals.",
                ),
                "404": _NOBODY,
                **PKI_REFUSALS,
            },
        },
        "post": {
            "summary": "Issue the unit's seal certificate, its key made in the HSM (certificates:manage)",
            "operationId": "adminIssueSeal",
            "security": SECURITY,
            "parameters": [_CODE],
            "responses": {
                "201": json_of(ref("AdminSeal"), "The new seal certificate."),
                "404": _NOBODY,
                "409": problem("The unit has a valid seal: renew it, or revoke it first."),
                **PKI_REFUSALS,
            },
        },
    },
    "/api/admin/seals/{serial}": {
        "get": {
            "summary": "One seal certificate (certificates:read on its unit)",
            "operationId": "adminSeal",
            "security": SECURITY,
            "parameters": [_SERIAL],
            "responses": {"200": _ONE_SEAL, "404": _NOBODY, **PKI_REFUSALS},
        }
    },
    "/api/admin/seals/{serial}/renew": {
        "post": {
            "summary": "Renew a valid seal: a new key in the HSM and a new certificate for its unit; this one is "
            "revoked as superseded (certificates:manage)",
            "operationId": "adminRenewSeal",
            "security": SECURITY,
            "parameters": [_SERIAL],
            "responses": {
                "201": json_of(ref("AdminSeal"), "The new seal certificate."),
                "404": _NOBODY,
                "409": problem("The seal is revoked: issue a new one for its unit instead."),
                **PKI_REFUSALS,
            },
        }
    },
    "/api/admin/seals/{serial}/revoke": {
        "post": {
            "summary": "Revoke a seal with an RFC 5280 reason: the CRL and OCSP say so at once (certificates:manage)",
            "operationId": "adminRevokeSeal",
            "security": SECURITY,
            "parameters": [_SERIAL],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("AdminRevocation")}}},
            "responses": {
                "200": json_of(ref("AdminSeal"), "The revoked seal certificate."),
                "400": problem("No reason, or one that is not a CRLReason (" + ", ".join(REVOCATION_REASONS) + ")."),
                "404": _NOBODY,
                "409": problem("Already revoked."),
                **PKI_REFUSALS,
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
            "orphaned": {
                "type": "boolean",
                "description": "Its unit is gone: a unit given the same code since is another, which it does not seal "
                "for (only who reads certificates on the whole directory sees it, to revoke it).",
            },
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
                        "seal": {"oneOf": [ref("AdminSeal"), {"type": "null"}]},
                    },
                },
            },
            "orphaned": {
                "type": "array",
                "items": ref("AdminSeal"),
                "description": "The valid seals of units that are gone (without ?unit=, to a platform reader only).",
            },
        },
        "required": ["items"],
    },
}
