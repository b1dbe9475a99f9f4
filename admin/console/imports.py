"""Console pages for the bulk import of officials and of units: upload a CSV, read the dry run row by row, import
with a progress bar, download the per-row report.

The upload becomes an import job (:class:`~admin.import_jobs.ImportJobs`): the checked bytes and the dry run are kept
in SQL under a random id bound to the administrator, so the real run imports exactly what was previewed, the form
carries only the id, and another administrator who guesses an id gets 404. "Import" starts the run in the background
and sends the browser to the job's page, which shows a progress bar (rows written of rows to write) read from the
database every 0.4 s (``…/progress``, JSON) — so it works whichever instance serves the poll — and becomes the
result when the run is over. A run whose instance died shows as interrupted, with a button to continue it.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path

from flask import jsonify, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.pages import actor, bp, holds, page, page_of, state
from admin.errors import AdminError, NotPermittedError
from admin.import_jobs import ImportJobs, JobKind
from admin.imports import MAX_IMPORT_BYTES
from admin.models import AdminAction

__all__: list[str] = []

NEEDS: dict[JobKind, AdminAction] = {"officials": AdminAction.OFFICIALS_WRITE, "units": AdminAction.UNITS_WRITE}


def _form(kind: JobKind, status: int = 200, problem: str | None = None, detail: str = "") -> tuple[str, int]:
    return page(
        "console/import_upload.html",
        status,
        kind=kind,
        limit=MAX_IMPORT_BYTES // (1024 * 1024),
        problem=problem,
        detail=detail,
    )


def _upload(kind: JobKind) -> Response | tuple[str, int]:
    uploaded = request.files.get("file")
    if uploaded is None or not uploaded.filename:
        return _form(kind, 400, _("Choose a CSV file to import."))
    body = uploaded.stream.read(MAX_IMPORT_BYTES + 1)
    try:
        job = jobs().check(actor(), kind, Path(uploaded.filename).name, body)
    except AdminError as err:
        if err.status not in (400, 413):
            raise
        return _form(kind, 400, _("This file cannot be imported."), str(err))
    return redirect(url_for("console.import_preview", upload_id=job.id))


@bp.get("/import")
def import_form() -> tuple[str, int]:
    if not holds(AdminAction.OFFICIALS_WRITE):  # an auditor, say: the service would refuse the upload anyway
        raise NotPermittedError(AdminAction.OFFICIALS_WRITE.value)
    return _form("officials")


@bp.post("/import")
def import_upload() -> Response | tuple[str, int]:
    return _upload("officials")


@bp.get("/units/import")
def unit_import_form() -> tuple[str, int]:
    if not holds(AdminAction.UNITS_WRITE):
        raise NotPermittedError(AdminAction.UNITS_WRITE.value)
    return _form("units")


@bp.post("/units/import")
def unit_import_upload() -> Response | tuple[str, int]:
    return _upload("units")


@bp.get("/import/<upload_id>")
def import_preview(upload_id: str) -> tuple[str, int]:
    job = jobs().get(actor(), upload_id)
    if job.status == "checked":
        template = "console/import_preview.html"
    elif job.status in ("running", "interrupted"):
        template = "console/import_progress.html"
    else:
        template = "console/import_result.html"
    report = {**job.report, "name": job.filename}
    return page(template, upload_id=upload_id, job=job, kind=job.kind, report=report, rows=page_of(report["rows"]))


@bp.get("/import/<upload_id>/progress")
def import_progress(upload_id: str) -> Response:
    return jsonify(jobs().get(actor(), upload_id).progress_json())


@bp.post("/import/<upload_id>/apply")
def import_apply(upload_id: str) -> Response:
    jobs().start(actor(), upload_id, skip_refused=request.form.get("skip_refused") == "1")
    return redirect(url_for("console.import_preview", upload_id=upload_id))


@bp.get("/import/<upload_id>/report.csv")
def import_report(upload_id: str) -> Response:
    job = jobs().get(actor(), upload_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "login" if job.kind == "officials" else "code", "action", "fields", "outcome", "reason"])
    for row in job.report["rows"]:
        writer.writerow(
            [row["line"], row["login"], row["action"], " ".join(row["fields"]), row["outcome"], row["reason"]]
        )
    stem = Path(job.filename).stem or "import"
    return Response(
        "\ufeff" + buffer.getvalue(),  # a BOM: spreadsheet programs then read the Vietnamese as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_safe(stem)}-report.csv"'},
    )


@bp.get("/export/officials.csv")
def export_officials() -> Response:
    unit = request.args.get("unit", "").strip() or None
    lines = state().service.exports.officials_csv(actor(), unit)
    return _csv_download(lines, f"officials-{_safe(unit or 'all')}.csv")


@bp.get("/export/units.csv")
def export_units() -> Response:
    unit = request.args.get("unit", "").strip() or None
    lines = state().service.exports.units_csv(actor(), unit)
    return _csv_download(lines, f"units-{_safe(unit or 'all')}.csv")


def _csv_download(lines: Iterator[str], filename: str) -> Response:
    """A CSV streamed as it is read from the directory, with a BOM (spreadsheets then read the Vietnamese as UTF-8)."""
    return Response(
        itertools.chain(["\ufeff"], lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def jobs() -> ImportJobs:
    return state().service.import_jobs


def _safe(name: str) -> str:
    return "".join(c for c in name if c.isascii() and (c.isalnum() or c in "-_.")) or "import"
