"""The OpenAPI 3.1 description of the signing API, a fragment merged into ``/api/openapi.json``.

``signing.init_app`` merges ``OPENAPI["paths"]`` and ``OPENAPI["components"]`` with
``antin.kernel.openapi.add_openapi``; errors refer to the platform's shared ``Problem`` schema.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAPI"]

_PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM}}}


_SIGN_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The PDF to sign."},
        "level": {
            "type": "string",
            "enum": ["B-B", "B-T", "B-LT", "B-LTA"],
            "description": "PAdES baseline level; default: the platform's (B-LTA).",
        },
        "seal": {
            "type": "string",
            "description": "Code of a unit of the caller: apply that unit's seal (records office) instead of signing.",
        },
        "certify": {
            "type": "boolean",
            "default": False,
            "description": "Certify (DocMDP) an unsigned document; lock a signed one against further changes.",
        },
        "visible": {
            "type": "string",
            "pattern": r"^\d+,[\d.]+,[\d.]+,[\d.]+,[\d.]+$",
            "description": "PAGE,X,Y,W,H: page from 1 and the box in PDF points; omit for an invisible signature.",
            "example": "1,320,60,240,72",
        },
        "reason": {"type": "string"},
        "location": {"type": "string"},
    },
}

_SIGNATURE_HEADERS = {
    "Antin-Signature-Reference": {
        "description": "Reference of the signature (the QR code of the appearance carries it).",
        "schema": {"type": "string", "format": "uuid"},
    },
    "Antin-Signature-Level": {"description": "PAdES level reached.", "schema": {"type": "string"}},
    "Antin-Certificate-Serial": {
        "description": "Serial number (hex) of the signing certificate.",
        "schema": {"type": "string"},
    },
    "Antin-Verification-Url": {
        "description": "Public verification page for this signature.",
        "schema": {"type": "string"},
    },
}

_ERRORS = {
    "400": _problem_response("A form field is malformed (level, visible, certify)."),
    "401": _problem_response("No valid access token."),
    "403": _problem_response("The token lacks scope signing:sign, or the caller may not sign this way."),
    "404": _problem_response("The signer or the unit is unknown."),
    "409": _problem_response("The signer's certificate is revoked, or the document is locked."),
    "413": _problem_response("The PDF is over the size limit."),
    "422": _problem_response("Not a PDF, empty, truncated, damaged or encrypted."),
    "503": _problem_response("The HSM, the directory or the CA is not available."),
}

OPENAPI: dict[str, Any] = {
    "paths": {
        "/api/signing/sign": {
            "post": {
                "operationId": "signDocument",
                "summary": "Sign a PDF (PAdES) as the official the access token names",
                "tags": ["signing"],
                "security": [{"bearer": ["signing:sign"]}],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _SIGN_FORM}}},
                "responses": {
                    "200": {
                        "description": "The signed PDF.",
                        "headers": _SIGNATURE_HEADERS,
                        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **_ERRORS,
                },
            }
        },
        "/api/signing/batch": {
            "post": {
                "operationId": "signDocuments",
                "summary": "Sign up to 20 PDFs with the same options; a ZIP of signed PDFs and manifest.json",
                "tags": ["signing"],
                "security": [{"bearer": ["signing:sign"]}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                **_SIGN_FORM,
                                "properties": {
                                    **_SIGN_FORM["properties"],
                                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "ZIP archive: <name>-signed.pdf for each input and manifest.json.",
                        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **_ERRORS,
                },
            }
        },
        "/api/signing/certificate": {
            "get": {
                "operationId": "getMySigningCertificate",
                "summary": "The caller's current signing certificate",
                "tags": ["signing"],
                "security": [{"bearer": ["signing:sign"]}],
                "responses": {
                    "200": {
                        "description": "The certificate.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Certificate"}}},
                    },
                    "401": _ERRORS["401"],
                    "403": _ERRORS["403"],
                    "404": _problem_response("The caller has no certificate yet."),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "RFC 9068 access token from the platform's OpenID provider (typ at+jwt), "
                "audience <issuer>/api/signing, scope signing:sign (granted to a client only by an operator). "
                "A DPoP-bound token (cnf.jkt) goes as 'Authorization: DPoP <token>' with a DPoP proof header "
                "(RFC 9449); a token whose grant was revoked is refused.",
            }
        },
        "schemas": {
            "Certificate": {
                "type": "object",
                "properties": {
                    "serial": {"type": "string"},
                    "role": {"type": "string", "enum": ["person", "seal"]},
                    "subject": {"type": "string"},
                    "uid": {"type": ["string", "null"]},
                    "unit": {"type": ["string", "null"]},
                    "not_before": {"type": "string", "format": "date-time"},
                    "not_after": {"type": "string", "format": "date-time"},
                    "status": {"type": "string", "enum": ["valid", "revoked"]},
                    "revoked_at": {"type": ["string", "null"], "format": "date-time"},
                    "revocation_reason": {"type": ["string", "null"]},
                    "pem": {"type": "string"},
                },
            },
        },
    },
}
