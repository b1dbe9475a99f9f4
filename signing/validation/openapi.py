"""The OpenAPI description of ``POST /api/signing/verify`` (merged into ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "OPENAPI_SECURITY"]

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

OPENAPI_SECURITY: dict[str, Any] = {
    "bearerAccessToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT (RFC 9068 access token from the Ấn Tín issuer)",
    }
}

_CERT = {
    "type": ["object", "null"],
    "properties": {
        "subject": {"type": "string"},
        "common_name": {"type": "string"},
        "issuer": {"type": "string"},
        "serial_number": {"type": "string"},
        "not_before": {"type": "string", "format": "date-time"},
        "not_after": {"type": "string", "format": "date-time"},
        "sha256_fingerprint": {"type": "string"},
        "key": {"type": ["string", "null"]},
    },
}

_INDICATION = {"type": "string", "enum": ["TOTAL_PASSED", "INDETERMINATE", "TOTAL_FAILED"]}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "SignatureReport": {
        "type": "object",
        "required": ["indication", "sub_indication", "kind", "signer", "integrity", "coverage", "modifications"],
        "properties": {
            "field_name": {"type": "string"},
            "kind": {"type": "string", "enum": ["signature", "document-timestamp"]},
            "indication": _INDICATION,
            "sub_indication": {"type": ["string", "null"], "description": "ETSI EN 319 102-1 sub-indication"},
            "signer": _CERT,
            "signed_as": {
                "type": ["string", "null"],
                "enum": ["official", "seal", None],
                "description": "by the signer certificate's profile: an official's signature, or a unit's seal"
                " (a legal person's certificate, with an organizationIdentifier)",
            },
            "chain": {"type": "array", "items": _CERT},
            "trust_anchor": _CERT,
            "signing_time": {"type": ["string", "null"], "format": "date-time", "description": "claimed"},
            "timestamp_time": {"type": ["string", "null"], "format": "date-time", "description": "proven"},
            "timestamp": {"type": ["object", "null"]},
            "level": {"type": ["string", "null"], "enum": ["B-B", "B-T", "B-LT", "B-LTA", None]},
            "integrity": {"type": "object"},
            "coverage": {"type": "object"},
            "revocation": {"type": "object"},
            "certification": {"type": ["object", "null"]},
            "modifications": {"type": "array", "items": {"type": "object"}},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "errors": {"type": "array", "items": {"type": "string"}},
        },
    },
    "VerificationReport": {
        "type": "object",
        "required": ["indication", "signatures"],
        "properties": {
            "report_version": {"type": "integer"},
            "file": {"type": "object"},
            "indication": {"type": "string", "enum": ["TOTAL_PASSED", "INDETERMINATE", "TOTAL_FAILED", "NO_SIGNATURE"]},
            "sub_indication": {"type": ["string", "null"]},
            "validation_time": {"type": "string", "format": "date-time"},
            "signatures": {"type": "array", "items": {"$ref": "#/components/schemas/SignatureReport"}},
            "revisions": {"type": "array", "items": {"type": "object"}},
            "policy": {"type": "object"},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/signing/verify": {
        "post": {
            "summary": "Verify every signature and document time-stamp of a PDF",
            "description": "ETSI EN 319 102-1 indications per signature; the document's indication is the worst. "
            "The PDF is verified in memory and not stored.",
            "security": [{"bearerAccessToken": ["signing:verify"]}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                        }
                    },
                },
            },
            "responses": {
                "200": {
                    "description": "The verification report",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VerificationReport"}}},
                },
                "400": {"description": "No file in the request", "content": _PROBLEM},
                "401": {"description": "Missing or invalid bearer token", "content": _PROBLEM},
                "403": {"description": "The token lacks scope signing:verify", "content": _PROBLEM},
                "413": {"description": "The PDF is larger than ANTIN_SIGNING_VERIFY_MAX_BYTES", "content": _PROBLEM},
                "422": {
                    "description": "Unusable input: empty, not a PDF, truncated, encrypted, unreadable, or its "
                    "compressed streams expand past the decode budget (member `reason`: decode-limit)",
                    "content": _PROBLEM,
                },
                "429": {
                    "description": "Too many verifications from this address (ANTIN_SIGNING_VERIFY_RATE_LIMIT per "
                    "minute); header Retry-After",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": _PROBLEM,
                },
                "503": {
                    "description": "Every verification slot of the host is busy (ANTIN_SIGNING_VERIFY_CONCURRENCY); "
                    "header Retry-After",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": _PROBLEM,
                },
            },
        }
    }
}
