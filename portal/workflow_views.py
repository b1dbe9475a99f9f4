"""The workflow's pages beside the document page: a reviewer's decision (approve, or reject with a comment), and
the records office sending a sealed document to its recipients.

Out of turn (not a reviewer, or the review decided already) is the 409 page of ``document_views``; a rejection
without a comment is the document page again with the form and a message.
"""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from directory.instance import directory_service
from directory.models import Person
from portal.document_views import placement_context, view_of
from portal.officials import client_ip, instance
from portal.views import bp, official_required, page
from signing.documents.errors import ReviewRefusedError
from signing.documents.service import document_service

__all__: list[str] = []


def review_messages() -> dict[str, str]:
    return {
        "comment-required": _("Say why you reject the document: the comment is required."),
        "comment-too-long": _("The comment is too long."),
        "no-decision": _("Choose Approve or Reject."),
    }


def _form_again(official: Person, document_id: str, status: int, reason: str, comment: str) -> Response:
    view = view_of(official, document_id)
    return page(
        "portal/document.html",
        status,
        view=view,
        review_error=review_messages().get(reason, reason),
        review_reason=reason,
        comment=comment,
        **placement_context(view),
    )


@bp.post("/documents/<document_id>/review")
@official_required
def review(official: Person, document_id: str) -> Response:
    """The reviewer's decision: ``decision`` is ``approve`` or ``reject``, ``comment`` (required to reject)."""
    decision = request.form.get("decision", "")
    comment = request.form.get("comment", "")
    if decision not in ("approve", "reject"):
        return _form_again(official, document_id, 400, "no-decision", comment)
    try:
        document_service(instance()).review(official, document_id, decision == "approve", comment, ip=client_ip())
    except ReviewRefusedError as err:
        return _form_again(official, document_id, 422, err.reason, comment)
    return redirect(url_for("portal.document", document_id=document_id, reviewed=decision), 303)


@bp.post("/documents/<document_id>/issue")
@official_required
def issue(official: Person, document_id: str) -> Response:
    """The records office sends the sealed document to its recipients (the ``issue`` step); out of turn is 409."""
    document_service(instance()).issue(official, document_id, ip=client_ip())
    return redirect(url_for("portal.document", document_id=document_id, issued=1), 303)


@bp.app_template_global("acted_by_name")
def acted_by_name(sub: str | None) -> str:
    """Who acted on a group step (any of a unit's leaders, its records office): their name as the directory has it."""
    if not sub:
        return ""
    person = directory_service(instance()).find_by_uuid(sub)
    return person.full_name if person is not None else ""
