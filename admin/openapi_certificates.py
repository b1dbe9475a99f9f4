"""The certificate paths and schemas of the admin API's OpenAPI fragment (see :mod:`admin.openapi`)."""

from __future__ import annotations

from typing import Any

from signing.pki import REVOCATION_REASONS

__all__ = ["CERTIFICATE_PATHS", "CERTIFICATE_SCHEMAS"]

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
_LOGIN = {"name": "login", "in": "path", "required": True, "schema": {"type": "string"}}
_SERIAL = {
    "name": "serial",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The certificate's serial number, hexadecimal.",
}
_NOBODY = _problem("No such official (or certificate) in the caller's units: another province's reads alike.")

CERTIFICATE_PATHS: dict[str, Any] = {
    "/api/admin/officials/{login}/certificates": {
        "get": {
            "summary": "An official's signing certificates, newest first (certificates:read)",
            "operationId": "adminOfficialCertificates",
            "security": _SECURITY,
            "parameters": [_LOGIN],
            "responses": {
                "200": _json(
                    {"type": "object", "properties": {"items": {"type": "array", "items": _ref("AdminCertificate")}}},
                    "The certificates.",
                ),
                "404": _NOBODY,
                **_REFUSALS,
            },
        },
        "post": {
            "summary": "Issue a new signing certificate, its key made in the HSM; the previous one is superseded "
            "(certificates:manage)",
            "operationId": "adminIssueCertificate",
            "security": _SECURITY,
            "parameters": [_LOGIN],
            "responses": {
                "201": _json(_ref("AdminCertificate"), "The new certificate."),
                "404": _NOBODY,
                "409": _problem("The official is not active."),
                **_REFUSALS,
            },
        },
    },
    "/api/admin/certificates/{serial}/revoke": {
        "post": {
            "summary": "Revoke an official's certificate with an RFC 5280 reason: the CRL and OCSP say so at once "
            "(certificates:manage)",
            "operationId": "adminRevokeCertificate",
            "security": _SECURITY,
            "parameters": [_SERIAL],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AdminRevocation")}}},
            "responses": {
                "200": _json(_ref("AdminCertificate"), "The revoked certificate."),
                "400": _problem("No reason, or one that is not a CRLReason."),
                "404": _NOBODY,
                "409": _problem("Already revoked."),
                **_REFUSALS,
            },
        }
    },
    "/api/admin/pki": {
        "get": {
            "summary": "The CA's certificates (root, issuing, OCSP, TSA) with validity and days left, amber under "
            "[admin] pki_warning_days and red once expired; the OCSP responder and the TSA each sent a real request; "
            "the CRLs' next update (certificates:read on the whole directory)",
            "operationId": "adminPkiStatus",
            "security": _SECURITY,
            "responses": {
                "200": _json(_ref("AdminPkiStatus"), "The CA's status."),
                "404": _problem("The caller holds certificates:read only on units, not on the whole directory."),
                **_REFUSALS,
            },
        }
    },
}

CERTIFICATE_SCHEMAS: dict[str, Any] = {
    "AdminCertificate": {
        "type": "object",
        "properties": {
            "serial": {"type": "string", "description": "Hexadecimal."},
            "subject": {"type": "string"},
            "login": {"type": ["string", "null"]},
            "not_before": {"type": "string", "format": "date-time"},
            "not_after": {"type": "string", "format": "date-time"},
            "status": {"enum": ["valid", "revoked"]},
            "revoked_at": {"type": ["string", "null"], "format": "date-time"},
            "revocation_reason": {"type": ["string", "null"]},
            "pem": {"type": "string"},
        },
        "required": ["serial", "subject", "not_before", "not_after", "status"],
    },
    "AdminRevocation": {
        "type": "object",
        "properties": {
            "reason": {
                "type": "string",
                "description": "One of " + ", ".join(REVOCATION_REASONS) + ", or RFC 5280's name (keyCompromise…).",
            }
        },
        "required": ["reason"],
    },
    "AdminPkiStatus": {
        "type": "object",
        "properties": {
            "warning": {
                "type": "boolean",
                "description": "A CA certificate expires within [admin] pki_warning_days (or has expired), or the "
                "OCSP responder or the TSA is not answering.",
            },
            "certificates": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "role": {"enum": ["root", "issuing", "ocsp", "tsa"]},
                        "subject": {"type": "string"},
                        "serial": {"type": "string"},
                        "not_before": {"type": "string", "format": "date-time"},
                        "not_after": {"type": "string", "format": "date-time"},
                        "days_left": {"type": "integer", "description": "Negative once expired."},
                        "expiry": {"enum": ["ok", "expiring", "expired"]},
                        "warning": {"type": "boolean", "description": "expiry is not ok."},
                    },
                },
            },
            "ocsp": {
                "oneOf": [_ref("AdminPkiProbe"), {"type": "null"}],
                "description": "A real OCSP request for the OCSP responder's own certificate; detail: its status.",
            },
            "tsa": {
                "allOf": [_ref("AdminPkiProbe")],
                "description": "A real RFC 3161 request with a nonce; detail: the time in the token.",
            },
            "crls": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "ca": {"enum": ["root", "issuing"]},
                        "url": {"type": "string"},
                        "number": {"type": "integer"},
                        "this_update": {"type": "string", "format": "date-time"},
                        "next_update": {"type": "string", "format": "date-time"},
                        "revoked": {"type": "integer"},
                    },
                },
            },
        },
        "required": ["warning", "certificates", "ocsp", "tsa", "crls"],
    },
    "AdminPkiProbe": {
        "type": "object",
        "properties": {
            "url": {"type": "string"},
            "answering": {
                "type": "boolean",
                "description": "Reached within [admin] pki_probe_timeout and answered with a success status.",
            },
            "detail": {"type": "string", "description": "What it answered, or why it failed."},
            "millis": {"type": "integer", "description": "The round trip."},
        },
        "required": ["url", "answering", "detail", "millis"],
    },
}
