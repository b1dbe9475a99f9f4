"""The bulk paths and schemas of the admin API's OpenAPI fragment (see :mod:`admin.openapi`): units imported from
CSV, imports as background jobs, exports."""

from __future__ import annotations

from typing import Any

__all__ = ["BULK_PATHS", "BULK_SCHEMAS"]

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
    "403": _problem("The token lacks the scope admin, or the caller holds this power on no unit."),
    "503": _problem("The directory cannot be reached."),
}
_BAD_FILE = {
    "400": _problem("Not a UTF-8 CSV file, a wrong header, an empty file, or not sent as text/csv."),
    "413": _problem("The file is over 2 MiB."),
}
_CSV_BODY = {
    "required": True,
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "code,name,kind,parent,description\nBNH-TS,Đảng ủy xã Tam Sơn,commune-committee,BNH,\n",
        }
    },
}
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_NO_JOB = {"404": _problem("No such import job of the caller's (another administrator's reads like none).")}
_CSV_ANSWER = {
    "description": "The CSV file (UTF-8 with a BOM).",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}
_UNIT = _query("unit", "A unit's code: only its subtree (which must be within the caller's reach).")

BULK_PATHS: dict[str, Any] = {
    "/api/admin/units/imports": {
        "post": {
            "summary": "Import units from a CSV file (code, name, kind, parent, description), a dry run by default",
            "description": "Each row's unit (when it exists) and parent must be within the caller's units:write; a "
            "row outside is refused naming the unit. Resumable, not all-or-nothing: with a refused row nothing is "
            "written unless skip_refused; the run stops at the first row the directory refuses, and the same file "
            "again continues.",
            "operationId": "adminImportUnits",
            "security": _SECURITY,
            "parameters": [
                _query(
                    "dry_run", "true (default): report each row, write nothing; false: import.", {"type": "boolean"}
                ),
                _query("skip_refused", "With dry_run=false: import the other rows.", {"type": "boolean"}),
            ],
            "requestBody": _CSV_BODY,
            "responses": {
                "200": _json("AdminImportReport", "Each row: create, change (moved), unchanged or refused (and why)."),
                **_BAD_FILE,
                **_REFUSALS,
            },
        }
    },
    "/api/admin/import-jobs": {
        "post": {
            "summary": "Check a CSV file and keep it as an import job (its dry run); start it later",
            "operationId": "adminCreateImportJob",
            "security": _SECURITY,
            "parameters": [
                _query("kind", "officials (default) or units.", {"type": "string", "enum": ["officials", "units"]}),
                _query("filename", "The file's name, shown to the administrator."),
            ],
            "requestBody": _CSV_BODY,
            "responses": {
                "201": _json("AdminImportJob", "The job, status checked, with its dry run (Location: the job)."),
                **_BAD_FILE,
                **_REFUSALS,
            },
        }
    },
    "/api/admin/import-jobs/{job_id}": {
        "get": {
            "summary": "An import job: its status, rows written of rows to write, and its report",
            "description": "Read from the database: any instance answers, whichever runs the job.",
            "operationId": "adminImportJob",
            "security": _SECURITY,
            "parameters": [_JOB_ID],
            "responses": {"200": _json("AdminImportJob", "The job."), **_NO_JOB, **_REFUSALS},
        }
    },
    "/api/admin/import-jobs/{job_id}/start": {
        "post": {
            "summary": "Run the checked import in the background (or continue one that stopped, failed or whose "
            "instance died)",
            "description": "One conditional UPDATE claims the job: a second call while it runs starts nothing. A job "
            "that applied everything is not run again.",
            "operationId": "adminStartImportJob",
            "security": _SECURITY,
            "parameters": [
                _JOB_ID,
                _query("skip_refused", "Import the other rows when some are refused.", {"type": "boolean"}),
            ],
            "responses": {"202": _json("AdminImportJob", "The job as it is now."), **_NO_JOB, **_REFUSALS},
        }
    },
    "/api/admin/exports/officials.csv": {
        "get": {
            "summary": "The officials within the caller's reach as CSV (the columns the officials' import reads)",
            "operationId": "adminExportOfficials",
            "security": _SECURITY,
            "parameters": [_UNIT],
            "responses": {"200": _CSV_ANSWER, "404": _problem("No such unit in the caller's units."), **_REFUSALS},
        }
    },
    "/api/admin/exports/units.csv": {
        "get": {
            "summary": "The units within reach as CSV, parents first (the columns the units' import reads)",
            "operationId": "adminExportUnits",
            "security": _SECURITY,
            "parameters": [_UNIT],
            "responses": {"200": _CSV_ANSWER, "404": _problem("No such unit in the caller's units."), **_REFUSALS},
        }
    },
}

BULK_SCHEMAS: dict[str, Any] = {
    "AdminImportJob": {
        "type": "object",
        "required": ["id", "kind", "status", "done", "total", "finished", "report"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": ["officials", "units"]},
            "filename": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["checked", "running", "interrupted", "applied", "stopped", "nothing-applied", "failed"],
                "description": "interrupted: running, but its instance has not written for a minute (start it "
                "again); failed: the run could not go on (the directory down, say: start it again).",
            },
            "done": {"type": "integer", "description": "Rows written so far."},
            "total": {"type": "integer", "description": "Rows the run writes."},
            "finished": {"type": "boolean"},
            "report": {"$ref": "#/components/schemas/AdminImportReport"},
        },
    },
}
