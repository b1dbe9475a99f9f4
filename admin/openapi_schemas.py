"""The request and answer schemas of the admin API's changes, merged into ``/api/openapi.json`` by
:mod:`admin.openapi`."""

from __future__ import annotations

from typing import Any

__all__ = ["WRITE_SCHEMAS"]

_STRING = {"type": "string"}
_NULLABLE = {"type": ["string", "null"]}
WRITE_SCHEMAS: dict[str, Any] = {
    "AdminNewOfficial": {
        "type": "object",
        "properties": {
            "login": _STRING,
            "full_name": _STRING,
            "unit": {"type": "string", "description": "Unit code; '*' or absent: outside every unit (root only)."},
            "mail": _STRING,
            "phone": _STRING,
            "employee_number": _STRING,
            "party_card_number": _STRING,
            "position": _STRING,
            "password": {"type": "string", "description": "Absent: one is made, returned once, changed at login."},
            "status": {"enum": ["active", "suspended", "retired"]},
        },
        "required": ["login", "full_name"],
    },
    "AdminOfficialChange": {
        "type": "object",
        "description": "Fields to change; null or an empty string removes an optional one.",
        "properties": {
            "full_name": _STRING,
            "mail": _NULLABLE,
            "phone": _NULLABLE,
            "employee_number": _NULLABLE,
            "party_card_number": _NULLABLE,
            "position": _NULLABLE,
        },
    },
    "AdminOfficialWithPassword": {
        "allOf": [
            {"$ref": "#/components/schemas/AdminOfficial"},
            {
                "type": "object",
                "properties": {
                    "password": _NULLABLE,
                    "delivered": {"type": "string", "enum": ["shown", "mail", "none"]},
                },
            },
        ]
    },
    "AdminPasswordReset": {
        "type": "object",
        "properties": {
            "deliver": {
                "type": "string",
                "enum": ["show", "mail"],
                "default": "show",
                "description": "show: the password is in the answer, once; mail: e-mailed to the official only.",
            }
        },
    },
    "AdminMove": {"type": "object", "properties": {"unit": _STRING}, "required": ["unit"]},
    "AdminUnit": {
        "type": "object",
        "properties": {
            "code": _STRING,
            "name": _STRING,
            "kind": _STRING,
            "parent": _NULLABLE,
            "description": _STRING,
        },
        "required": ["code", "name", "kind", "parent"],
    },
    "AdminUnits": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/AdminUnit"}},
            "tree": {"type": "array", "items": {"type": "object"}},
        },
    },
    "AdminNewUnit": {
        "type": "object",
        "properties": {"code": _STRING, "name": _STRING, "kind": _STRING, "parent": _STRING, "description": _STRING},
        "required": ["code", "name"],
    },
    "AdminUnitMove": {
        "type": "object",
        "properties": {"parent": {"type": "string", "description": "The new parent's code; '*': to the top."}},
        "required": ["parent"],
    },
    "AdminUnitChange": {"type": "object", "properties": {"name": _STRING, "description": _STRING}},
    "AdminGroup": {
        "type": "object",
        "properties": {
            "name": _STRING,
            "description": _STRING,
            "role": {"type": "boolean"},
            "unit": _NULLABLE,
            "orphaned": {
                "type": "boolean",
                "description": "Its unit is gone (a unit given the same code since is another): the whole directory's "
                "administrators' alone.",
            },
            "members": {
                "type": "object",
                "properties": {
                    "officials": {"type": "array", "items": _STRING},
                    "groups": {"type": "array", "items": _STRING},
                    "hidden": {"type": "integer", "description": "Members outside the caller's units."},
                },
            },
        },
    },
    "AdminGroups": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/AdminGroup"}}},
    },
    "AdminNewGroup": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "1-64 of a-z, 0-9, '.', '_', '-'."},
            "unit": {"type": "string", "description": "The unit whose subtree the group belongs to ('*': the root)."},
            "description": _STRING,
            "role": {"type": "boolean", "default": False},
        },
        "required": ["name", "unit"],
    },
    "AdminMember": {
        "type": "object",
        "description": "An official (login) or a group to nest (group): one of the two.",
        "properties": {"login": _STRING, "group": _STRING},
    },
    "AdminImportReport": {
        "type": "object",
        "properties": {
            "dry_run": {"type": "boolean"},
            "status": {
                "enum": ["dry-run", "applied", "nothing-applied", "stopped"],
                "description": "nothing-applied: some rows were refused (fix them, or skip_refused=true); stopped: "
                "the directory refused a row midway (error says why; import the same file again to resume).",
            },
            "error": {"type": ["string", "null"]},
            "create": {"type": "integer"},
            "change": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "refused": {"type": "integer"},
            "applied": {"type": "integer"},
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "line": {"type": "integer"},
                        "login": _STRING,
                        "action": {"enum": ["create", "change", "unchanged", "refused"]},
                        "fields": {"type": "array", "items": _STRING, "description": "What a change changes."},
                        "reason": {"type": "string", "description": "Why the row is refused or failed."},
                        "outcome": {"enum": ["planned", "applied", "failed", "not-applied", "refused", "unchanged"]},
                    },
                },
            },
        },
    },
}
