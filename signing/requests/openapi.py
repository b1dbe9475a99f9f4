"""The OpenAPI 3.1 fragment of ``/api/signing/requests``, merged into ``/api/openapi.json`` by ``signing.init_app``."""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAPI"]

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_SECURITY = [{"bearer": ["signing:request"]}]
_STATUS = {"$ref": "#/components/schemas/SigningRequest"}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM}}}


def _ok(description: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {"application/json": {"schema": _STATUS}}}}


_AUTH = {
    "401": _problem("No valid access token."),
    "403": _problem("The token lacks the scope signing:request."),
}
_NOT_FOUND = {"404": _problem("No such request, or another client's.")}

_STEP = {
    "type": "object",
    "properties": {
        "position": {"type": "integer"},
        "kind": {"type": "string", "enum": ["review", "sign", "seal", "issue"]},
        "signer": {
            "type": "string",
            "description": "The login of the official whose step it is (reviewer or signer); empty for a group's.",
        },
        "group": {
            "type": ["string", "null"],
            "description": "A group's step (a unit's leaders, lanh-dao-<code>; the records office's seal and issue):"
            " the directory group any of whose members working in `unit` acts.",
        },
        "unit": {
            "type": ["string", "null"],
            "description": "A group's step: the code of the unit its members work in.",
        },
        "name": {"type": "string"},
        "status": {"type": "string", "enum": ["waiting", "active", "signing", "done", "rejected", "skipped"]},
        "deadline": {"type": ["string", "null"], "format": "date-time"},
        "round": {"type": "integer", "description": "1, then one more each time the request is re-sent."},
        "acted_at": {"type": ["string", "null"], "format": "date-time"},
        "acted_by": {
            "type": ["string", "null"],
            "description": "The login of who acted: the official, or the member of the group who did; null until then.",
        },
        "reason": {"type": ["string", "null"]},
        "comment": {"type": ["string", "null"], "description": "A reviewer's note (required to a rejection)."},
        "decision": {
            "type": ["string", "null"],
            "enum": ["approved", "rejected", None],
            "description": "Review steps only: the reviewer's decision, null until made.",
        },
    },
}

SCHEMAS: dict[str, Any] = {
    "SigningRequest": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "number": {"type": "string"},
            "file_name": {"type": "string"},
            "pages": {"type": "integer"},
            "status": {"type": "string", "enum": ["in_progress", "done", "rejected", "cancelled"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "deadline": {"type": ["string", "null"], "format": "date-time"},
            "round": {"type": "integer", "description": "The workflow's round: 1, then one more per re-send."},
            "callback_url": {"type": ["string", "null"]},
            "current_step": {"oneOf": [{"$ref": "#/components/schemas/SigningRequestStep"}, {"type": "null"}]},
            "steps": {"type": "array", "items": {"$ref": "#/components/schemas/SigningRequestStep"}},
            "document": {
                "type": "object",
                "properties": {
                    "version": {"type": "integer"},
                    "sha256": {"type": "string"},
                    "bytes": {"type": "integer"},
                    "signatures": {"type": "integer"},
                    "url": {"type": "string"},
                },
            },
        },
    },
    "SigningRequestStep": _STEP,
}

OPENAPI: dict[str, Any] = {
    "paths": {
        "/api/signing/requests": {
            "post": {
                "operationId": "createSigningRequest",
                "summary": "Send a PDF for officials to sign, in order, in their browser (the API never signs)",
                "tags": ["signing requests"],
                "security": _SECURITY,
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file", "signers"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "title": {"type": "string"},
                                    "number": {"type": "string", "description": "Số, ký hiệu."},
                                    "signers": {
                                        "type": "string",
                                        "description": "JSON list in signing order: logins or a unit's leaders'"
                                        ' group (lanh-dao-<unit code>), e.g. ["an","lanh-dao-bnh"]; an entry may be'
                                        ' an object {"login" or "group", "deadline"} with its own ISO 8601 deadline'
                                        " (default: the request's).",
                                    },
                                    "reviewers": {
                                        "type": "string",
                                        "description": "JSON list of those who review (approve or reject with a "
                                        "comment) in order, before the signers: as signers, logins, leaders' groups"
                                        " or objects with their own deadline.",
                                    },
                                    "seal_unit": {
                                        "type": "string",
                                        "description": "After the signatures, the records office (văn thư) of this"
                                        " unit (code; or of the nearest unit above it that has one) gives the number"
                                        " and date, applies that unit's seal and issues it to the recipients.",
                                    },
                                    "recipient_units": {
                                        "type": "string",
                                        "description": "With seal_unit: JSON list of unit codes the document is"
                                        " issued to (their officials find it under Received).",
                                    },
                                    "recipient_officials": {
                                        "type": "string",
                                        "description": "With seal_unit: JSON list of logins it is issued to by name.",
                                    },
                                    "callback_url": {
                                        "type": "string",
                                        "format": "uri",
                                        "description": "Where signed webhook events go (HTTPS).",
                                    },
                                    "deadline": {"type": "string", "format": "date-time"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    **_ok("The request, created; Location names it.", "201"),
                    "400": _problem("A field is malformed (signers, reviewers, deadline, callback_url)."),
                    **_AUTH,
                    "413": _problem("The PDF is over the size limit."),
                    "422": _problem(
                        "Not a usable PDF (empty, encrypted, locked…), an unknown signer login (named), "
                        "or a callback URL for a client without a webhook secret."
                    ),
                },
            }
        },
        "/api/signing/requests/{id}": {
            "get": {
                "operationId": "getSigningRequest",
                "summary": "A request's status, its steps (who, when) and the current step",
                "tags": ["signing requests"],
                "security": _SECURITY,
                "parameters": [_ID],
                "responses": {**_ok("The request."), **_AUTH, **_NOT_FOUND},
            }
        },
        "/api/signing/requests/{id}/document": {
            "get": {
                "operationId": "getSigningRequestDocument",
                "summary": "The request's current PDF: signed by every official once it is done",
                "tags": ["signing requests"],
                "security": _SECURITY,
                "parameters": [_ID],
                "responses": {
                    "200": {
                        "description": "The PDF.",
                        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **_AUTH,
                    **_NOT_FOUND,
                },
            }
        },
        "/api/signing/requests/{id}/cancel": {
            "post": {
                "operationId": "cancelSigningRequest",
                "summary": "Cancel a request that is not finished: it leaves the officials' inboxes",
                "tags": ["signing requests"],
                "security": _SECURITY,
                "parameters": [_ID],
                "responses": {
                    **_ok("The request, cancelled."),
                    **_AUTH,
                    **_NOT_FOUND,
                    "409": _problem("The request is finished (done, rejected or cancelled) already."),
                },
            }
        },
        "/api/signing/requests/{id}/resend": {
            "post": {
                "operationId": "resendSigningRequest",
                "summary": "Send a rejected request again: a corrected PDF, or the same with a note; the workflow "
                "starts again from its first review",
                "tags": ["signing requests"],
                "security": _SECURITY,
                "parameters": [_ID],
                "requestBody": {
                    "required": False,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "file": {
                                        "type": "string",
                                        "format": "binary",
                                        "description": "The corrected PDF (a new version); none: the same file.",
                                    },
                                    "note": {
                                        "type": "string",
                                        "description": "What was done (required when no file is sent).",
                                    },
                                    "deadline": {"type": "string", "format": "date-time"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    **_ok("The request, in progress again (round one more; the rejected round is kept in steps)."),
                    "400": _problem("A field is malformed (note missing or too long, deadline)."),
                    **_AUTH,
                    **_NOT_FOUND,
                    "409": _problem("The request is not rejected (in progress, done or cancelled)."),
                    "413": _problem("The PDF is over the size limit."),
                    "422": _problem("Not a usable PDF (empty, encrypted, locked…)."),
                },
            }
        },
    },
    "schemas": SCHEMAS,
}
