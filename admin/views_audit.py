"""HTTP: the audit log in ``/api/admin`` — search and the chain's verification (routes of :data:`admin.views.bp`,
authenticated there). The same service as the console's audit pages (:mod:`admin.audit`): one who reads the audit
only on units names an official of those units as the actor or the subject; ``audit:read`` on ``*`` reads it all."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, jsonify, request

from admin.audit import AuditQuery
from admin.views import _int_arg, actor, bp, state
from directory.errors import InvalidInputError

__all__: list[str] = []

MAX_PAGE = 200
_FILTERS = ("actor", "subject", "event")


def _instant(name: str) -> datetime | None:
    """An ISO 8601 date or date-time (a date: midnight UTC; no zone: UTC)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInputError(name, "must be an ISO 8601 date or date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _query() -> AuditQuery:
    for name in _FILTERS:
        if len(request.args.get(name, "")) > 256:
            raise InvalidInputError(name, "is over 256 characters")
    since, until = _instant("since"), _instant("until")
    if since and until and since >= until:
        raise InvalidInputError("until", "must be after since")
    values = {name: request.args.get(name, "").strip() for name in _FILTERS}
    return AuditQuery(**values, since=since, until=until)


@bp.get("/audit")
def search_audit() -> Response:
    """Entries newest first; ``before`` (a ``seq``) pages to older ones: the answer's ``next_before``."""
    size = _int_arg("size", 50)
    if not 1 <= size <= MAX_PAGE:
        raise InvalidInputError("size", f"must be between 1 and {MAX_PAGE}")
    before = request.args.get("before")
    found = state().service.audit.search(actor(), _query(), before=_int_arg("before", 0) if before else None, size=size)
    return jsonify({"items": [entry.as_json() for entry in found.items], "next_before": found.before})


@bp.get("/audit/verify")
def verify_audit() -> Response:
    """The whole chain walked (``antin audit verify``): for those who read the whole log."""
    result = state().service.audit.verify(actor())
    body: dict[str, object] = {"ok": result.ok, "entries_checked": result.entries_checked}
    if result.first_break is not None:
        body["first_break"] = {"seq": result.first_break.seq, "reason": result.first_break.reason}
    return jsonify(body)
