"""The audit paths and schemas of the admin API's OpenAPI fragment (see :mod:`admin.openapi`)."""

from __future__ import annotations

from typing import Any

__all__ = ["AUDIT_PATHS", "AUDIT_SCHEMAS"]

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_SECURITY: list[dict[str, list[str]]] = [{"adminBearer": []}]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM}}}


def _json(name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema or {"type": "string"}, "description": description}


_REFUSALS = {
    "401": _problem("No access token, or one that is invalid, expired or revoked."),
    "403": _problem(
        "The token lacks the scope admin, or the caller reads the audit on no unit (or, for the whole log, not on *)."
    ),
}

AUDIT_PATHS: dict[str, Any] = {
    "/api/admin/audit": {
        "get": {
            "summary": "Search the audit log, newest first",
            "description": "One who holds audit:read only on units must name an official of those units as the actor"
            " or the subject (400 official-required otherwise; another province's official reads like nobody: 404);"
            " audit:read on * searches the whole log.",
            "security": _SECURITY,
            "parameters": [
                _query("actor", "A login or sub (an administrator, an official), or a CLI actor such as cli:root."),
                _query("subject", "A login or sub."),
                _query("event", "An event name, e.g. login:password:failure."),
                _query("since", "ISO 8601 date or date-time (UTC without a zone), inclusive."),
                _query("until", "ISO 8601 date or date-time, exclusive."),
                _query(
                    "before", "A seq: entries older than it (the previous answer's next_before).", {"type": "integer"}
                ),
                _query("size", "Entries per page, 1–200 (50).", {"type": "integer"}),
            ],
            "responses": {
                "200": _json("AdminAuditPage", "A page of entries."),
                "400": _problem("A bad filter, or no official named by one who reads the audit only on units."),
                "404": _problem("The named official is not in the caller's units."),
                **_REFUSALS,
            },
        }
    },
    "/api/admin/audit/verify": {
        "get": {
            "summary": "Verify the audit log's hash chains (the whole log)",
            "security": _SECURITY,
            "responses": {"200": _json("AdminAuditVerification", "The chain's verification."), **_REFUSALS},
        }
    },
}

AUDIT_SCHEMAS: dict[str, Any] = {
    "AdminAuditPage": {
        "type": "object",
        "required": ["items", "next_before"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "seq": {"type": "integer"},
                        "occurred_at": {"type": "string", "format": "date-time"},
                        "event": {"type": "string"},
                        "actor": {"type": ["string", "null"]},
                        "subject": {"type": ["string", "null"]},
                        "client_id": {"type": ["string", "null"]},
                        "ip": {"type": ["string", "null"]},
                        "details": {"type": "object"},
                    },
                },
            },
            "next_before": {
                "type": ["integer", "null"],
                "description": "Pass as before for the next page; null: last.",
            },
        },
    },
    "AdminAuditVerification": {
        "type": "object",
        "required": ["ok", "entries_checked"],
        "properties": {
            "ok": {"type": "boolean"},
            "entries_checked": {"type": "integer"},
            "first_break": {"type": "object", "properties": {"seq": {"type": "integer"}, "reason": {"type": "string"}}},
        },
    },
}
