"""Console pages for the audit log: search by actor, subject, event and time, export (CSV, JSON lines), and the
chain's verification."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Response, request, stream_with_context

from admin.audit import AuditQuery
from admin.console.officials import int_arg
from admin.console.pages import actor, bp, page, state
from antin.kernel.audit import AuditEvent
from antin.kernel.readable import VIETNAM_TIME
from directory.errors import InvalidInputError

__all__: list[str] = []


def _day(name: str, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD field as the start of that day in Vietnam, where the page shows every time (``end``: the start
    of the next day)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInputError(name, "must be a date, YYYY-MM-DD") from None
    return datetime.combine(day + timedelta(days=1 if end else 0), time.min, tzinfo=VIETNAM_TIME).astimezone(UTC)


def _query() -> AuditQuery:
    for name in ("actor", "subject", "event"):
        if len(request.args.get(name, "")) > 256:
            raise InvalidInputError(name, "is over 256 characters")
    since, until = _day("since"), _day("until", end=True)
    if since and until and since >= until:
        raise InvalidInputError("until", "must not be before since")
    return AuditQuery(
        actor=request.args.get("actor", "").strip(),
        subject=request.args.get("subject", "").strip(),
        event=request.args.get("event", "").strip(),
        since=since,
        until=until,
    )


@bp.get("/audit")
def audit() -> tuple[str, int]:
    search = state().service.audit
    query = _query()
    whole = search.whole_log(actor())
    before = int_arg("before")
    found = None
    if whole or query.actor or query.subject:
        found = search.search(actor(), query, before=before, size=state().page_size)
    filters = {k: v for k, v in request.args.items() if k in ("actor", "subject", "event", "since", "until") and v}
    return page(
        "console/audit.html",
        query=query,
        filters=filters,
        found=found,
        whole=whole,
        events=[e.value for e in AuditEvent],
        paged=before is not None,
        logins=search.logins_of(found) if found else {},
    )


@bp.get("/audit/export")
def audit_export() -> Response:
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        raise InvalidInputError("format", "must be csv or jsonl")
    chunks = state().service.audit.export(actor(), _query(), fmt)
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        stream_with_context(chunks),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.{fmt}"'},
    )


@bp.get("/audit/verify")
def audit_verify() -> tuple[str, int]:
    result = state().service.audit.verify(actor())
    return page("console/audit_verify.html", result=result)
