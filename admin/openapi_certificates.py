"""The certificate paths and schemas of the admin API's OpenAPI fragment (see :mod:`admin.openapi`)."""

from __future__ import annotations

from typing import Any

from admin.openapi_parts import PKI_REFUSALS, SECURITY, json_of, problem, ref
from signing.pki import RENEWABLE_ROLES, REVOCATION_REASONS

__all__ = ["CERTIFICATE_PATHS", "CERTIFICATE_SCHEMAS"]

_LOGIN = {"name": "login", "in": "path", "required": True, "schema": {"type": "string"}}
_SERIAL = {
    "name": "serial",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The certificate's serial number, hexadecimal.",
}
_NOBODY = problem("No such official (or certificate) in the caller's units: another province's reads alike.")

CERTIFICATE_PATHS: dict[str, Any] = {
    "/api/admin/officials/{login}/certificates": {
        "get": {
            "summary": "An official's signing certificates, newest first (certificates:read)",
            "operationId": "adminOfficialCertificates",
            "security": SECURITY,
            "parameters": [_LOGIN],
            "responses": {
                "200": json_of(
                    {"type": "object", "properties": {"items": {"type": "array", "items": ref("AdminCertificate")}}},
                    "The certificates.",
                ),
                "404": _NOBODY,
                **PKI_REFUSALS,
            },
        },
        "post": {
            "summary": "Issue a new signing certificate, its key made in the HSM; the previous one is superseded "
            "(certificates:manage)",
            "operationId": "adminIssueCertificate",
            "security": SECURITY,
            "parameters": [_LOGIN],
            "responses": {
                "201": json_of(ref("AdminCertificate"), "The new certificate."),
                "404": _NOBODY,
                "409": problem("The official is not active."),
                **PKI_REFUSALS,
            },
        },
    },
    "/api/admin/certificates/{serial}/revoke": {
        "post": {
            "summary": "Revoke an official's certificate with an RFC 5280 reason: the CRL and OCSP say so at once "
            "(certificates:manage)",
            "operationId": "adminRevokeCertificate",
            "security": SECURITY,
            "parameters": [_SERIAL],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("AdminRevocation")}}},
            "responses": {
                "200": json_of(ref("AdminCertificate"), "The revoked certificate."),
                "400": problem("No reason, or one that is not a CRLReason."),
                "404": _NOBODY,
                "409": problem("Already revoked."),
                **PKI_REFUSALS,
            },
        }
    },
    "/api/admin/pki": {
        "get": {
            "summary": "The CA's certificates (root, issuing, OCSP, TSA) with validity and days left, amber under "
            "[admin] pki_warning_days and red once expired; the OCSP responder and the TSA each sent a real request; "
            "the CRLs' next update (certificates:read on the whole directory)",
            "operationId": "adminPkiStatus",
            "security": SECURITY,
            "responses": {
                "200": json_of(ref("AdminPkiStatus"), "The CA's status."),
                "404": problem("The caller holds certificates:read only on units, not on the whole directory."),
                **PKI_REFUSALS,
            },
        }
    },
    "/api/admin/pki/renew/{role}": {
        "post": {
            "summary": "Renew a certificate of the CA: the OCSP responder's or the TSA's (a new key in the HSM, "
            "certified by the issuing CA) or the issuing CA's (its same key certified again by the root). The "
            "previous certificate stays valid until its end for what it signed. Audited as pki:ca:renew with the "
            "serials before and after (pki:renew on the whole directory: the platform administrator alone)",
            "operationId": "adminPkiRenew",
            "security": SECURITY,
            "parameters": [
                {"name": "role", "in": "path", "required": True, "schema": {"enum": list(RENEWABLE_ROLES)}},
            ],
            "requestBody": {"required": False, "content": {"application/json": {"schema": ref("AdminPkiRenewal")}}},
            "responses": {
                "200": json_of(ref("AdminPkiRenewed"), "The certificate in use before (kept) and the new one."),
                "400": problem("days is not a whole number from 1 to 3650."),
                "404": problem("No such CA certificate to renew (the root is not renewed here)."),
                "409": problem("The issuing CA was issued by an outside root: its owner renews it."),
                **PKI_REFUSALS,
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
    "AdminPkiRenewal": {
        "type": "object",
        "properties": {
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 3650,
                "description": "Validity (default: 730 for ocsp, 1825 for tsa, 3650 for issuing), cut at the "
                "issuer's own end.",
            }
        },
    },
    "AdminPkiRenewed": {
        "type": "object",
        "properties": {
            "role": {"enum": list(RENEWABLE_ROLES)},
            "previous": ref("AdminCertificate"),
            "current": ref("AdminCertificate"),
            "capped_at_issuer_expiry": {"type": "boolean"},
        },
        "required": ["role", "previous", "current", "capped_at_issuer_expiry"],
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
                "oneOf": [ref("AdminPkiProbe"), {"type": "null"}],
                "description": "A real OCSP request for the OCSP responder's own certificate; detail: its status.",
            },
            "tsa": {
                "allOf": [ref("AdminPkiProbe")],
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
