"""The bulk edit path and schemas of the admin API's OpenAPI fragment (see :mod:`admin.openapi`): one action on many
officials, each official's result."""

from __future__ import annotations

from typing import Any

from admin.bulk_edit import BulkAction
from admin.openapi_parts import SECURITY, json_of, problem, ref

__all__ = ["BULK_EDIT_PATHS", "BULK_EDIT_SCHEMAS"]

BULK_EDIT_PATHS: dict[str, Any] = {
    "/api/admin/officials/bulk": {
        "post": {
            "summary": "One action on many officials: disable, enable, move to a unit, add to or remove from a group",
            "description": "Each official is changed by the single action's own operation: the delegation is checked "
            "for that official (one outside the caller's units is refused for that row only, and reads like nobody), "
            "disabling ends their sessions and revokes their tokens and signing certificates, each change is audited "
            "with its values before and after. Not all-or-nothing: each row says what happened to that official. "
            "The unit or group named must be within the caller's reach, or nothing is done (404). At most [admin] "
            "bulk_max_logins logins per call.",
            "operationId": "adminBulkEditOfficials",
            "security": SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("AdminBulkEdit")}}},
            "responses": {
                "200": json_of(ref("AdminBulkEditReport"), "Each official's result, in the order given."),
                "400": problem("A bad body, an unknown action, no logins, or more than bulk_max_logins of them."),
                "401": problem("No access token, or one that is invalid, expired or revoked."),
                "403": problem("The token lacks the scope admin, or the caller holds the action's power on no unit."),
                "404": problem("The unit or group named is not among the caller's (or does not exist)."),
                "503": problem("The directory cannot be reached."),
            },
        }
    },
}

_ROW = {
    "type": "object",
    "required": ["login", "outcome"],
    "properties": {
        "login": {"type": "string"},
        "outcome": {
            "type": "string",
            "enum": ["change", "changed", "refused", "failed"],
            "description": "change: would change (dry run); changed: done; refused: left as it was (reason says "
            "why); failed: the directory could not do it.",
        },
        "reason": {
            "type": ["string", "null"],
            "description": "not-found (outside the caller's units, or nobody), self, already-disabled, "
            "already-active, already-in-unit, already-member, not-member, changed-meanwhile, directory-unavailable…",
        },
        "detail": {"type": "string"},
        "full_name": {"type": ["string", "null"], "description": "null for an official out of reach."},
        "before": {"type": "object", "description": "status, unit (and unit_name) or member, as it was."},
        "after": {"type": "object", "description": "status, unit (and unit_name) or member, as it is (or would be)."},
        "version": {"type": ["string", "null"], "description": "The official's ETag as read for the plan."},
    },
}

BULK_EDIT_SCHEMAS: dict[str, Any] = {
    "AdminBulkEdit": {
        "type": "object",
        "required": ["action", "logins"],
        "properties": {
            "action": {"type": "string", "enum": [a.value for a in BulkAction]},
            "logins": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "unit": {"type": "string", "description": 'move: the unit\'s code ("*": outside every unit).'},
            "group": {"type": "string", "description": "add_to_group, remove_from_group: the group's name."},
            "status": {"type": "string", "enum": ["suspended", "retired"], "default": "suspended"},
            "dry_run": {"type": "boolean", "default": False, "description": "true: plan each row, change nothing."},
            "versions": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "login → the ETag read (a dry run's version): an official changed since is refused.",
            },
        },
    },
    "AdminBulkEditReport": {
        "type": "object",
        "properties": {
            "action": {"type": "string"},
            "dry_run": {"type": "boolean"},
            "unit": {"type": ["string", "null"]},
            "group": {"type": ["string", "null"]},
            "status": {"type": ["string", "null"]},
            "changed": {"type": "integer", "description": "Officials changed (to_change in a dry run)."},
            "to_change": {"type": "integer"},
            "refused": {"type": "integer"},
            "failed": {"type": "integer"},
            "results": {"type": "array", "items": _ROW},
        },
    },
}
