"""Re-sending a rejected document from its page: the drafter uploads a corrected PDF (or sends it again as it was,
with a note), and the workflow starts again at the first review. A refusal is the document page again with the
form and its message."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from directory.models import Person
from portal.deadline_views import DeadlineError, deadline_messages, form_deadline
from portal.document_views import placement_context, upload_messages, view_of
from portal.officials import client_ip, instance
from portal.views import bp, official_required, page
from signing.documents.errors import ResendRefusedError, UploadRefusedError
from signing.documents.resend import resend
from signing.documents.service import document_service

__all__: list[str] = []


def resend_messages() -> dict[str, str]:
    return {
        "not-rejected": _("Only a rejected document can be sent again."),
        "not-drafter": _("Only the official who sent the document can send it again."),
        "note-required": _("Sending the same file again: say in the note what was done about the rejection."),
        "note-too-long": _("The note is too long."),
    } | upload_messages()


def _form_again(official: Person, document_id: str, status: int, reason: str) -> Response:
    view = view_of(official, document_id)
    messages = resend_messages() | deadline_messages()
    return page(
        "portal/document.html",
        status,
        view=view,
        resend_error=messages.get(reason, _("The document could not be sent again.")),
        resend_reason=reason,
        note=request.form.get("note", ""),
        **placement_context(view),
    )


@bp.post("/documents/<document_id>/resend")
@official_required
def resend_document(official: Person, document_id: str) -> Response:
    """``file`` (optional: a corrected PDF), ``note`` (required without a file), ``deadline`` (optional)."""
    service = document_service(instance())
    upload = request.files.get("file")
    stream = upload.stream if upload is not None and upload.filename else None
    try:
        deadline = form_deadline(request.form.get("deadline", ""), instance().clock.now())
        resend(
            service,
            official,
            document_id,
            stream=stream,
            file_name=upload.filename or "" if upload is not None else "",
            note=request.form.get("note", ""),
            deadline=deadline,
            ip=client_ip(),
        )
    except DeadlineError as err:
        return _form_again(official, document_id, 422, err.reason)
    except ResendRefusedError as err:
        return _form_again(
            official, document_id, 409 if err.reason in ("not-rejected", "not-drafter") else 422, err.reason
        )
    except UploadRefusedError as err:
        return _form_again(official, document_id, 413 if err.reason == "too-large" else 422, err.reason)
    return redirect(url_for("portal.document", document_id=document_id, resent=1), 303)
