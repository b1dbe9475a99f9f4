"""The OpenAPI 3.1 description of the admin API, a fragment merged into ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from admin.openapi_audit import AUDIT_PATHS, AUDIT_SCHEMAS
from admin.openapi_bulk import BULK_PATHS, BULK_SCHEMAS
from admin.openapi_bulk_edit import BULK_EDIT_PATHS, BULK_EDIT_SCHEMAS
from admin.openapi_certificates import CERTIFICATE_PATHS, CERTIFICATE_SCHEMAS
from admin.openapi_clients import CLIENT_PATHS, CLIENT_SCHEMAS
from admin.openapi_schemas import WRITE_SCHEMAS
from admin.openapi_seals import SEAL_PATHS, SEAL_SCHEMAS

__all__ = ["OPENAPI"]

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_SECURITY: list[dict[str, list[str]]] = [{"adminBearer": []}]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM}}}


def _json(schema: str, description: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


_REFUSALS = {
    "401": _problem("No access token, or one that is invalid, expired or revoked."),
    "403": _problem("The token lacks the scope admin, or the caller holds this power on no unit."),
    "503": _problem("The directory cannot be reached."),
}
_LOGIN = {"name": "login", "in": "path", "required": True, "schema": {"type": "string"}}
_ONE_OFFICIAL = {
    "200": _json("AdminOfficial", "The official."),
    "404": _problem("No such official in the units the caller administers (a stranger and nobody read alike)."),
    **_REFUSALS,
}

_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "schema": {"type": "string"},
    "description": "The ETag of the version read; a change against another version is refused (412).",
}
_IF_MATCH_REQUIRED = {**_IF_MATCH, "required": True}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
_CN = {"name": "cn", "in": "path", "required": True, "schema": {"type": "string"}}
_UNIT_QUERY = {
    "name": "unit",
    "in": "query",
    "schema": {"type": "string"},
    "description": "Code of a unit: only its subtree (it must be within the caller's units).",
}
_CHANGE_REFUSALS = {
    "400": _problem("A bad body or value (the problem names the field)."),
    "409": _problem("A login, e-mail, employee number or code already taken, or a change that cannot be made."),
    "412": _problem("If-Match names another version: someone changed it since (the current ETag is in the answer)."),
}
_ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "The version, for If-Match."}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _json_etag(schema: str, description: str) -> dict[str, Any]:
    return {**_json(schema, description), "headers": _ETAG_HEADER}


def _operation(summary: str, operation_id: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"summary": summary, "operationId": operation_id, "security": _SECURITY, **more, "responses": responses}


_ONE_UNIT = {
    "200": _json_etag("AdminUnit", "The unit."),
    "404": _problem("No such unit in the caller's units (another province's reads alike)."),
    **_REFUSALS,
}
_ONE_GROUP = {
    "200": _json_etag("AdminGroup", "The group, with the members within the caller's reach."),
    "404": _problem("No such group or official in the caller's units."),
    **_REFUSALS,
}
_WRITE_PATHS: dict[str, Any] = {
    "/api/admin/imports": {
        "post": _operation(
            "Import officials from a CSV file (the directory's import), a dry run by default",
            "adminImportOfficials",
            {
                "200": _json("AdminImportReport", "Each row: create, change, unchanged or refused (and why)."),
                "400": _problem("Not a UTF-8 CSV file, a wrong header, an empty file, or not sent as text/csv."),
                "413": _problem("The file is over 2 MiB."),
                **_REFUSALS,
            },
            parameters=[
                {
                    "name": "dry_run",
                    "in": "query",
                    "schema": {"type": "boolean", "default": True},
                    "description": "true: report what each row would do, write nothing; false: import.",
                },
                {
                    "name": "skip_refused",
                    "in": "query",
                    "schema": {"type": "boolean", "default": False},
                    "description": "With dry_run=false: import the other rows when some are refused (otherwise "
                    "nothing is written).",
                },
            ],
            requestBody={
                "required": True,
                "content": {
                    "text/csv": {
                        "schema": {"type": "string"},
                        "example": "uid,name,unit,mail\nnguyenvana,Nguyễn Văn A,BNH-VP,a@bacninh.dcs.vn\n",
                    }
                },
            },
        )
    },
    "/api/admin/officials/{login}/move": {
        "post": _operation(
            "Move an official to another unit (both within the caller's units)",
            "adminMoveOfficial",
            {**_ONE_OFFICIAL, **_CHANGE_REFUSALS},
            parameters=[_LOGIN, _IF_MATCH],
            requestBody=_body("AdminMove"),
        )
    },
    "/api/admin/officials/{login}/unlock": {
        "post": _operation(
            "Lift the password policy's lockout",
            "adminUnlockOfficial",
            {**_ONE_OFFICIAL, **_CHANGE_REFUSALS},
            parameters=[_LOGIN, _IF_MATCH],
        )
    },
    "/api/admin/officials/{login}/password": {
        "post": _operation(
            "Reset the password: a new one made by the platform, to change at the next login, in this answer only "
            'or e-mailed to the official ({"deliver": "mail"})',
            "adminResetPassword",
            {
                **_ONE_OFFICIAL,
                "200": _json_etag(
                    "AdminOfficialWithPassword",
                    "The official and the new password (shown once; null when e-mailed: delivered says which).",
                ),
                **_CHANGE_REFUSALS,
                "409": _problem(
                    "deliver=mail but the platform has no [mail] server (mail-not-configured) or the official no "
                    "address (no-mail-address): nothing was changed."
                ),
            },
            parameters=[_LOGIN, _IF_MATCH],
            requestBody={
                "required": False,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AdminPasswordReset"}}},
            },
        )
    },
    "/api/admin/units": {
        "get": _operation(
            "The units within the caller's reach, flat or as a tree",
            "adminListUnits",
            {
                "200": _json("AdminUnits", "The units (items), or with tree=true their trees."),
                "404": _problem("The unit is not within the caller's units."),
                **_REFUSALS,
            },
            parameters=[_UNIT_QUERY, {"name": "tree", "in": "query", "schema": {"type": "boolean"}}],
        ),
        "post": _operation(
            "Create a unit under a unit of the caller's",
            "adminCreateUnit",
            {"201": _json_etag("AdminUnit", "The new unit."), **_ONE_UNIT, **_CHANGE_REFUSALS},
            requestBody=_body("AdminNewUnit"),
        ),
    },
    "/api/admin/units/{code}": {
        "get": _operation("Read one unit", "adminGetUnit", _ONE_UNIT, parameters=[_CODE]),
        "patch": _operation(
            "Rename a unit or change its description (its code stays)",
            "adminRenameUnit",
            {**_ONE_UNIT, **_CHANGE_REFUSALS, "428": _problem("No If-Match.")},
            parameters=[_CODE, _IF_MATCH_REQUIRED],
            requestBody=_body("AdminUnitChange"),
        ),
    },
    "/api/admin/units/{code}/move": {
        "post": _operation(
            "Move a unit with its whole subtree and its people under another unit (both within the caller's units)",
            "adminMoveUnit",
            {**_ONE_UNIT, **_CHANGE_REFUSALS},
            parameters=[_CODE, _IF_MATCH],
            requestBody=_body("AdminUnitMove"),
        )
    },
    "/api/admin/groups": {
        "get": _operation(
            "The groups and roles of the caller's units",
            "adminListGroups",
            {"200": _json("AdminGroups", "The groups."), "404": _problem("The unit is not within reach."), **_REFUSALS},
            parameters=[_UNIT_QUERY],
        ),
        "post": _operation(
            "Create a group (or a role) of a unit within the caller's reach",
            "adminCreateGroup",
            {"201": _json_etag("AdminGroup", "The new group."), **_ONE_GROUP, **_CHANGE_REFUSALS},
            requestBody=_body("AdminNewGroup"),
        ),
    },
    "/api/admin/groups/{cn}": {
        "get": _operation("Read one group", "adminGetGroup", _ONE_GROUP, parameters=[_CN]),
        "delete": _operation(
            "Delete a group (refused while it has members outside the caller's reach)",
            "adminDeleteGroup",
            {"204": {"description": "Deleted."}, **_ONE_GROUP, **_CHANGE_REFUSALS},
            parameters=[_CN, _IF_MATCH],
        ),
    },
    "/api/admin/groups/{cn}/members": {
        "get": _operation("The group's direct members", "adminGroupMembers", _ONE_GROUP, parameters=[_CN]),
        "post": _operation(
            "Add an official to the group, or nest a group in it (both within reach; a cycle is refused)",
            "adminAddGroupMember",
            {**_ONE_GROUP, **_CHANGE_REFUSALS},
            parameters=[_CN, _IF_MATCH],
            requestBody=_body("AdminMember"),
        ),
    },
    "/api/admin/groups/{cn}/groups/{member}": {
        "delete": _operation(
            "Take a nested group out of the group",
            "adminRemoveNestedGroup",
            {**_ONE_GROUP, **_CHANGE_REFUSALS},
            parameters=[
                _CN,
                {"name": "member", "in": "path", "required": True, "schema": {"type": "string"}},
                _IF_MATCH,
            ],
        )
    },
    "/api/admin/groups/{cn}/members/{login}": {
        "delete": _operation(
            "Remove an official from the group",
            "adminRemoveGroupMember",
            {**_ONE_GROUP, **_CHANGE_REFUSALS},
            parameters=[_CN, _LOGIN, _IF_MATCH],
        )
    },
}

OPENAPI: dict[str, Any] = {
    "paths": {
        "/api/admin/officials": {
            "get": {
                "summary": "Search the officials of the units the caller administers",
                "operationId": "adminSearchOfficials",
                "security": _SECURITY,
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": 128},
                        "description": "Part of a name (with or without Vietnamese diacritics) or of a login (of"
                        " four letters or more; a shorter one matches a name's or a login's start or end), a whole"
                        " e-mail address, or an employee number.",
                    },
                    {
                        "name": "unit",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Code of a unit: only its subtree (it must be within the caller's units).",
                    },
                    {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {
                        "name": "cursor",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "The next_cursor of the previous page, with the same q and unit.",
                    },
                ],
                "responses": {
                    "200": _json("AdminOfficialsPage", "One page of officials."),
                    "400": _problem("A bad page size or cursor."),
                    "404": _problem("The unit is not within the caller's units."),
                    **_REFUSALS,
                },
            },
            "post": _operation(
                "Create an official in a unit of the caller's",
                "adminCreateOfficial",
                {
                    "201": _json_etag("AdminOfficialWithPassword", "The new official (and the password made, once)."),
                    **_ONE_OFFICIAL,
                    **_CHANGE_REFUSALS,
                },
                requestBody=_body("AdminNewOfficial"),
            ),
        },
        "/api/admin/officials/{login}": {
            "get": {
                "summary": "Read one official",
                "operationId": "adminGetOfficial",
                "security": _SECURITY,
                "parameters": [_LOGIN],
                "responses": _ONE_OFFICIAL,
            },
            "patch": _operation(
                "Change an official's name, e-mail, phone, employee number, party card number or position",
                "adminEditOfficial",
                {**_ONE_OFFICIAL, **_CHANGE_REFUSALS, "428": _problem("No If-Match.")},
                parameters=[_LOGIN, _IF_MATCH_REQUIRED],
                requestBody=_body("AdminOfficialChange"),
            ),
        },
        "/api/admin/officials/{login}/disable": {
            "post": {
                "summary": "Disable an official: end their sessions, revoke their tokens and signing certificates",
                "operationId": "adminDisableOfficial",
                "security": _SECURITY,
                "parameters": [_LOGIN, _IF_MATCH],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"status": {"enum": ["suspended", "retired"], "default": "suspended"}},
                            }
                        }
                    },
                },
                "responses": {
                    **_ONE_OFFICIAL,
                    "400": _problem("A bad status."),
                    "409": _problem("An administrator cannot disable their own account."),
                },
            }
        },
        "/api/admin/officials/{login}/enable": {
            "post": {
                "summary": "Make a suspended or retired official active again",
                "operationId": "adminEnableOfficial",
                "security": _SECURITY,
                "parameters": [_LOGIN, _IF_MATCH],
                "responses": _ONE_OFFICIAL,
            }
        },
        **_WRITE_PATHS,
        **CERTIFICATE_PATHS,
        **SEAL_PATHS,
        **CLIENT_PATHS,
        **AUDIT_PATHS,
        **BULK_PATHS,
        **BULK_EDIT_PATHS,
    },
    "components": {
        "securitySchemes": {
            "adminBearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "RFC 9068 access token from the platform's OpenID provider with the scope admin, "
                "audience the issuer or <issuer>/api/admin. What it allows is decided by the grants of its subject "
                "(antin admin grant): a role on a unit covers the unit's whole subtree. DPoP-bound tokens go as "
                "'Authorization: DPoP <token>' with a proof (RFC 9449).",
            }
        },
        "schemas": {
            "AdminOfficial": {
                "type": "object",
                "properties": {
                    "login": {"type": "string"},
                    "sub": {"type": "string", "description": "The stable identifier (entryUUID, the OIDC sub)."},
                    "full_name": {"type": "string"},
                    "display_name": {"type": "string"},
                    "mail": {"type": ["string", "null"]},
                    "phone": {"type": ["string", "null"]},
                    "employee_number": {"type": ["string", "null"]},
                    "position": {"type": ["string", "null"]},
                    "status": {"enum": ["active", "suspended", "retired"]},
                    "locked": {"type": "boolean"},
                    "unit": {
                        "type": ["object", "null"],
                        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                    },
                    "unit_path": {"type": "array", "items": {"type": "string"}, "description": "Unit up to the top."},
                    "groups": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["login", "sub", "full_name", "status", "unit_path"],
            },
            "AdminOfficialsPage": {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/AdminOfficial"}},
                    "next_cursor": {"type": ["string", "null"]},
                },
                "required": ["items", "next_cursor"],
            },
            **WRITE_SCHEMAS,
            **CERTIFICATE_SCHEMAS,
            **SEAL_SCHEMAS,
            **CLIENT_SCHEMAS,
            **AUDIT_SCHEMAS,
            **BULK_SCHEMAS,
            **BULK_EDIT_SCHEMAS,
        },
    },
}
