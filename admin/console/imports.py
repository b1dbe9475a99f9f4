"""Console pages for the bulk import of officials: upload a CSV, read the dry run row by row, import, download the
per-row report.

The file is carried from the dry run to the real run on the server, not in the page: the upload is kept as a
temporary file under ``<data_dir>/admin-imports/`` named by a random id, which is remembered in the administrator's
session (and the file records whose it is). So the real run imports exactly the bytes that were previewed (a
hidden field could be edited in between, and a 2 MiB file would travel twice), the form carries only the id, and
another administrator who guesses an id gets 404. The real run plans again against the directory as it is then,
so what changed since the preview is seen. It runs within the request (a few seconds for thousands of rows): the
page shows an "importing…" state while it waits, then the result. Files older than a day are removed.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
from pathlib import Path
from typing import Any

from flask import abort, current_app, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.pages import actor, bp, holds, page, page_of, state
from admin.errors import AdminError, NotPermittedError
from admin.imports import MAX_IMPORT_BYTES, ImportReport, Imports
from admin.models import AdminAction

__all__: list[str] = []

SESSION_KEY = "admin_imports"
KEEP_SECONDS = 24 * 3600
KEEP_IN_SESSION = 5  # the last uploads of this session that may still be imported


def _folder() -> Path:
    instance = current_app.extensions["antin.instance"]
    folder = Path(instance.settings.core.data_dir) / "admin-imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _tidy(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _owned(upload_id: str) -> Path:
    """The upload's folder entry stem, if it is this session's and this administrator's; 404 otherwise."""
    if upload_id not in session.get(SESSION_KEY, []) or not upload_id.isalnum():
        abort(404)
    stem = _folder() / upload_id
    meta = stem.with_suffix(".json")
    if not meta.exists() or json.loads(meta.read_text())["actor"] != actor().name:
        abort(404)
    return stem


def _load(stem: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(stem.with_suffix(".json").read_text())
    return loaded


def _save(stem: Path, report: ImportReport, name: str) -> None:
    stem.with_suffix(".json").write_text(json.dumps({"actor": actor().name, "name": name, **report.as_json()}))


@bp.get("/import")
def import_form() -> tuple[str, int]:
    if not holds(AdminAction.OFFICIALS_WRITE):  # an auditor, say: the service would refuse the upload anyway
        raise NotPermittedError(AdminAction.OFFICIALS_WRITE.value)
    return page("console/import_upload.html", limit=MAX_IMPORT_BYTES // (1024 * 1024))


@bp.post("/import")
def import_upload() -> Response | tuple[str, int]:
    uploaded = request.files.get("file")
    limit = MAX_IMPORT_BYTES // (1024 * 1024)
    if uploaded is None or not uploaded.filename:
        return page("console/import_upload.html", 400, limit=limit, problem=_("Choose a CSV file to import."))
    body = uploaded.stream.read(MAX_IMPORT_BYTES + 1)
    try:
        report = current_imports().preview(actor(), body)
    except AdminError as err:
        if err.status not in (400, 413):
            raise
        return page(
            "console/import_upload.html", 400, limit=limit, problem=_("This file cannot be imported."), detail=str(err)
        )
    folder = _folder()
    _tidy(folder)
    upload_id = secrets.token_hex(16)
    stem = folder / upload_id
    stem.with_suffix(".csv").write_bytes(body)
    _save(stem, report, Path(uploaded.filename).name)
    session[SESSION_KEY] = [*session.get(SESSION_KEY, [])[-(KEEP_IN_SESSION - 1) :], upload_id]
    return redirect(url_for("console.import_preview", upload_id=upload_id))


@bp.get("/import/<upload_id>")
def import_preview(upload_id: str) -> tuple[str, int]:
    stem = _owned(upload_id)
    report = _load(stem)
    template = "console/import_preview.html" if report["dry_run"] else "console/import_result.html"
    return page(template, upload_id=upload_id, report=report, rows=page_of(report["rows"]))


@bp.post("/import/<upload_id>/apply")
def import_apply(upload_id: str) -> Response:
    stem = _owned(upload_id)
    name = _load(stem)["name"]
    source = stem.with_suffix(".csv")
    if not source.exists():  # imported already (a second click, or the back button): show that result
        return redirect(url_for("console.import_preview", upload_id=upload_id))
    report = current_imports().apply(actor(), source.read_bytes(), skip_refused=request.form.get("skip_refused") == "1")
    _save(stem, report, name)
    source.unlink(missing_ok=True)
    return redirect(url_for("console.import_preview", upload_id=upload_id))


@bp.get("/import/<upload_id>/report.csv")
def import_report(upload_id: str) -> Response:
    report = _load(_owned(upload_id))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "login", "action", "fields", "outcome", "reason"])
    for row in report["rows"]:
        writer.writerow(
            [row["line"], row["login"], row["action"], " ".join(row["fields"]), row["outcome"], row["reason"]]
        )
    stem = Path(report["name"]).stem or "import"
    return Response(
        "\ufeff" + buffer.getvalue(),  # a BOM: spreadsheet programs then read the Vietnamese as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_safe(stem)}-report.csv"'},
    )


def current_imports() -> Imports:
    return state().service.imports


def _safe(name: str) -> str:
    return "".join(c for c in name if c.isascii() and (c.isalnum() or c in "-_.")) or "import"
