"""HTTP: bulk work in ``/api/admin`` (routes of :data:`admin.views.bp`, authenticated there) — units imported from a
CSV file within the request, either kind of import as a background job whose progress is read from the database by
any instance, officials and units exported as CSV, and one action on many officials (``/officials/bulk``). The same
services as the console's (:mod:`admin.imports`, :mod:`admin.unit_imports`, :mod:`admin.import_jobs`,
:mod:`admin.exports`, :mod:`admin.bulk_edit`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from flask import Response, jsonify, request, url_for

from admin.import_jobs import ImportJobView, JobKind
from admin.views import _bool_arg, actor, bp, csv_body, json_body, state
from directory.errors import InvalidInputError

__all__: list[str] = []


@bp.post("/units/imports")
def import_units() -> Response:
    """A CSV of units (text/csv): ``dry_run=true`` (the default) reports each row, ``false`` imports."""
    dry_run = _bool_arg("dry_run", default=True)
    skip_refused = _bool_arg("skip_refused", default=False)
    body = csv_body()
    imports = state().service.unit_imports
    report = imports.preview(actor(), body) if dry_run else imports.apply(actor(), body, skip_refused=skip_refused)
    return jsonify(report.as_json())


@bp.post("/import-jobs")
def create_import_job() -> Response:
    """Check a CSV (``kind``: officials or units) and keep it as a job: its dry run, to be started later."""
    kind = request.args.get("kind", "officials")
    if kind not in ("officials", "units"):
        raise InvalidInputError("kind", "must be officials or units")
    checked: JobKind = "units" if kind == "units" else "officials"
    job = state().service.import_jobs.check(actor(), checked, request.args.get("filename", f"{kind}.csv"), csv_body())
    response = jsonify(_job_json(job))
    response.status_code = 201
    response.headers["Location"] = url_for("admin_api.import_job", job_id=job.id)
    return response


@bp.get("/import-jobs/<job_id>")
def import_job(job_id: str) -> Response:
    return jsonify(_job_json(state().service.import_jobs.get(actor(), job_id)))


@bp.post("/import-jobs/<job_id>/start")
def start_import_job(job_id: str) -> Response:
    """Run the checked job in the background (again, after it stopped, failed or was interrupted); 202."""
    job = state().service.import_jobs.start(actor(), job_id, skip_refused=_bool_arg("skip_refused", default=False))
    response = jsonify(_job_json(job))
    response.status_code = 202
    response.headers["Location"] = url_for("admin_api.import_job", job_id=job.id)
    return response


@bp.post("/officials/bulk")
def bulk_edit_officials() -> Response:
    """One action on many officials: ``{"action": ..., "logins": [...], "unit" | "group" | "status": ...}``; each
    official's result (a refused one does not stop the others); ``"dry_run": true`` plans without changing."""
    body = json_body()
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidInputError("dry_run", "must be true or false")
    versions = body.get("versions") or {}
    if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
        raise InvalidInputError("versions", "must map logins to the ETags read")
    edits = state().service.bulk_edits
    target = {name: body.get(name) for name in ("unit", "group", "status")}
    wanted = edits.parse(body.get("action"), body.get("logins"), **target)
    report = edits.plan(actor(), wanted) if dry_run else edits.apply(actor(), wanted, versions)
    return jsonify(report.as_json())


@bp.get("/exports/officials.csv")
def export_officials() -> Response:
    unit = request.args.get("unit", "").strip() or None
    return _csv(state().service.exports.officials_csv(actor(), unit), "officials.csv")


@bp.get("/exports/units.csv")
def export_units() -> Response:
    unit = request.args.get("unit", "").strip() or None
    return _csv(state().service.exports.units_csv(actor(), unit), "units.csv")


def _csv(lines: Iterator[str], filename: str) -> Response:
    # a BOM, as the console's: spreadsheet programs then read the Vietnamese as UTF-8
    return Response(
        itertools.chain(["\ufeff"], lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _job_json(job: ImportJobView) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "filename": job.filename, **job.progress_json(), "report": job.report}
