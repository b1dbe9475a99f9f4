"""The pages of one document: upload, the document with its page previews and the signature box to drag, the
confirmation (digest, reason, location, the security key), the signed file, its verification report, history.

A document the official may not see answers the same 404 page as one that does not exist.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask import redirect, request, send_file, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from directory.models import Person
from portal.deadline_views import (
    DeadlineError,
    deadline_messages,
    form_deadline,
    planned_steps,
    step_deadline_fields,
)
from portal.officials import MAX_NAMED, NamedOfficialError, client_ip, instance, recipients_named, steps_named
from portal.views import VIETNAM_TIME, bp, not_found, official_required, page
from signing.documents.errors import (
    DocumentNotFoundError,
    PreviewError,
    RegisterRefusedError,
    StepNotActiveError,
    UploadRefusedError,
)
from signing.documents.models import StepKind
from signing.documents.placement import Box
from signing.documents.service import DocumentView, document_service
from signing.errors import SigningError, SoleControlRefused

__all__: list[str] = []

PREVIEW_UNAVAILABLE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><rect width="100%" height="100%" fill="#eee"/>'
    '<text x="50%" y="50%" text-anchor="middle" font-family="sans-serif" font-size="20">{text}</text></svg>'
)


def upload_limit_mb() -> int:
    """The largest upload in MB: the portal's setting, unless the server's request limit is lower."""
    return min(document_service(instance()).settings.upload_max_mb, instance().settings.server.max_upload_mb)


def upload_messages() -> dict[str, str]:
    limit = upload_limit_mb()
    return {
        "too-large": _("The file is larger than %(mb)s MB, the most the portal accepts.", mb=limit),
        "empty": _("The file is empty."),
        "not-pdf": _("The file is not a PDF. Choose a PDF file."),
        "truncated": _("The PDF is incomplete (its end is missing). Save or export it again."),
        "damaged": _("The PDF cannot be read. Save or export it again."),
        "encrypted": _("The PDF is protected by a password. Remove the protection, then upload it again."),
        "locked": _(
            "The PDF is already signed in a way that forbids any change: a new signature would break the existing one."
        ),
        "too-many-pages": _("The PDF has too many pages for the portal."),
    }


def sole_control_messages() -> dict[str, str]:
    return {
        "no_key": _("You have no security key or passkey yet. Register one on your security page, then sign."),
        "reused": _("This confirmation was used already. Open the document and sign again."),
        "expired": _("The confirmation took too long. Open the document and sign again."),
        "foreign": _("This confirmation is not yours, or not for this document."),
        "wrong_document": _("The security key confirmed another document than this one. Nothing was signed."),
        "bad_assertion": _("The security key's answer could not be accepted. Nothing was signed."),
    }


def view_of(official: Person, document_id: str) -> DocumentView:
    return document_service(instance()).view(official, document_id)


@bp.errorhandler(DocumentNotFoundError)
def _document_not_found(_err: DocumentNotFoundError) -> Response:
    return not_found()


@bp.errorhandler(StepNotActiveError)
def _not_your_turn(err: StepNotActiveError) -> Response:
    if err.reason == "not-your-review":
        return page(
            "portal/message.html",
            409,
            title=_("Nothing to review here now"),
            message=_("This document is not waiting for your review (it is decided already, or not your turn yet)."),
        )
    if err.reason == "not-your-issue":
        return page(
            "portal/message.html",
            409,
            title=_("Nothing to issue here now"),
            message=_("This document is not waiting to be issued by you (it is issued already, or not sealed yet)."),
        )
    return page(
        "portal/message.html",
        409,
        title=_("Nothing to sign here now"),
        message=_("This document is not waiting for your signature (it is signed already, or not your turn)."),
    )


# -- upload ------------------------------------------------------------------------------------------------


@bp.get("/documents/new")
@official_required
def upload_form(official: Person) -> Response:
    return page("portal/upload.html", max_mb=upload_limit_mb())


@bp.post("/documents/new")
@official_required
def upload(official: Person) -> Response:
    service = document_service(instance())

    def refused(reason: str, status: int = 422, login: str = "") -> Response:
        messages = upload_messages() | {
            "unknown-official": _("No active official has the login %(login)s.", login=login),
            "unknown-group": _(
                "The directory has no leaders' group %(name)s (lanh-dao- and a unit's code, e.g. lanh-dao-bnh).",
                name=login,
            ),
            "named-twice": _("%(login)s is named twice in the same list.", login=login),
            "too-many": _("At most %(n)s officials in a list.", n=MAX_NAMED),
            "unknown-unit": _("No unit has the code %(code)s.", code=login),
            "no-recipients": _("Name the units or officials the records office issues the document to."),
            "no-records-office": _(
                "Your unit has no records office in the directory (a group van-thu-<unit code>, here or above)."
            ),
        }
        messages |= deadline_messages()
        return page(
            "portal/upload.html",
            status,
            max_mb=upload_limit_mb(),
            error=messages.get(reason, _("The file cannot be used.")),
            reason=reason,
            title=request.form.get("title", ""),
            number=request.form.get("number", ""),
            reviewers=request.form.get("reviewers", ""),
            signers=request.form.get("signers", ""),
            deadline=request.form.get("deadline", ""),
            step_deadlines=step_deadline_fields(request.form),
            records_office=request.form.get("records_office") == "1",
            recipient_units=request.form.get("recipient_units", ""),
            recipient_officials=request.form.get("recipient_officials", ""),
        )

    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return refused("too-large", 413)
    if upload is None or not upload.filename:
        return refused("empty", 400)
    try:
        reviewers = steps_named(request.form.get("reviewers", ""))
        signers = steps_named(request.form.get("signers", ""))
        recipients = (
            recipients_named(request.form.get("recipient_units", ""), request.form.get("recipient_officials", ""))
            if request.form.get("records_office") == "1"
            else None
        )
    except NamedOfficialError as err:
        return refused(err.reason, 422, login=err.login)
    try:
        now = instance().clock.now()
        deadline = form_deadline(request.form.get("deadline", ""), now)
        planned_reviews = planned_steps(request.form, "review", reviewers, now)
        planned_signatures = planned_steps(request.form, "sign", signers, now)
    except DeadlineError as err:
        return refused(err.reason, 422)
    try:
        view = service.upload(
            official,
            upload.stream,
            file_name=upload.filename,
            title=request.form.get("title", ""),
            number=request.form.get("number", ""),
            signers=planned_signatures,
            reviewers=planned_reviews,
            deadline=deadline,
            recipients=recipients,
            ip=client_ip(),
        )
    except UploadRefusedError as err:
        return refused(err.reason, 413 if err.reason == "too-large" else 422)
    return redirect(url_for("portal.document", document_id=view.id), 303)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_err: RequestEntityTooLarge) -> Response:
    return page(
        "portal/upload.html",
        413,
        max_mb=upload_limit_mb(),
        error=upload_messages()["too-large"],
        reason="too-large",
    )


# -- the document ------------------------------------------------------------------------------------------


def placement_context(view: DocumentView) -> dict[str, Any]:
    service = document_service(instance())
    sizes = service.sizes(view)
    context: dict[str, Any] = {"sizes": sizes, "placement": None}
    if view.my_step is not None and view.my_step.kind in (StepKind.SIGN, StepKind.SEAL):
        context["placement"] = service.placement(view)
    return context


@bp.get("/documents/<document_id>")
@official_required
def document(official: Person, document_id: str) -> Response:
    view = view_of(official, document_id)
    return page(
        "portal/document.html",
        view=view,
        signed_now=request.args.get("signed") == "1",
        reviewed_now=request.args.get("reviewed", ""),
        issued_now=request.args.get("issued") == "1",
        **placement_context(view),
    )


@bp.get("/documents/<document_id>/pages/<int:number>.png")
@official_required
def preview(official: Person, document_id: str, number: int) -> Response:
    view = view_of(official, document_id)
    try:
        path = document_service(instance()).preview(view, number)
    except PreviewError:
        svg = PREVIEW_UNAVAILABLE.format(text=_("This page cannot be shown"))
        return Response(svg, status=200, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})
    response = send_file(path, mimetype="image/png", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _float(name: str) -> float:
    try:
        return float(request.form.get(name, ""))
    except ValueError:
        return -1.0


@bp.post("/documents/<document_id>/placement")
@official_required
def place(official: Person, document_id: str) -> Response:
    try:
        number = int(request.form.get("page", "0"))
    except ValueError:
        number = 0
    box = Box(number, _float("x"), _float("y"), _float("width"), _float("height"))
    document_service(instance()).place(official, document_id, box, ip=client_ip())
    return redirect(url_for("portal.confirm", document_id=document_id), 303)


# -- signing -----------------------------------------------------------------------------------------------


def register_messages() -> dict[str, str]:
    return {
        "bad-number": _("Write the number and symbol as in 12/QĐ-TU: digits, then / or -, then the symbol."),
        "number-taken": _("This number is used already this year by the issuing unit. Give the next free one."),
        "bad-date": _("The date of issue is between the day the document was uploaded and today."),
        "numbered": _("The document has its number already."),
    }


@bp.get("/documents/<document_id>/sign")
@official_required
def confirm(official: Person, document_id: str) -> Response:
    return _confirmation(official, document_id)


def _confirmation(
    official: Person, document_id: str, status: int = 200, register_error: str = "", **values: str
) -> Response:
    service = document_service(instance())
    view = view_of(official, document_id)
    placement = service.placement(view)
    sealing = view.my_step is not None and view.my_step.kind == StepKind.SEAL
    today = datetime.now(VIETNAM_TIME).date().isoformat()
    context: dict[str, Any] = {
        "view": view,
        "placement": placement,
        "digest": view.current.sha256,
        "reason": values.get("reason", "" if sealing else _("Approved")),
        "location": values.get("location", official.unit.name if official.unit else ""),
        "sealing": sealing,
        "number": values.get("number", ""),
        "issued_on": values.get("issued_on", today),
        "register_error": register_error,
    }
    try:
        authorisation_id, options, _digest = service.begin_signing(official, document_id)
    except SoleControlRefused as refused:
        return page("portal/confirm.html", 403, error=sole_control_messages()[refused.reason], no_key=True, **context)
    return page("portal/confirm.html", status, authorisation=authorisation_id, options=json.dumps(options), **context)


def _issue_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@bp.post("/documents/<document_id>/sign")
@official_required
def sign(official: Person, document_id: str) -> Response:

    service = document_service(instance())
    try:
        credential = json.loads(request.form.get("credential", ""))
        if not isinstance(credential, dict):
            raise ValueError("not an object")
    except ValueError:
        credential = {}
    try:
        service.sign(
            official,
            document_id,
            authorisation_id=request.form.get("authorisation", ""),
            credential=credential,
            reason=request.form.get("reason", ""),
            location=request.form.get("location", ""),
            number=request.form.get("number", ""),
            issued_on=_issue_date(request.form.get("issued_on", "")),
            ip=client_ip(),
        )
    except RegisterRefusedError as err:  # nothing signed, the authorisation unused: the form again, a new one
        fields = {k: request.form.get(k, "")[:200] for k in ("number", "issued_on", "reason", "location")}
        return _confirmation(official, document_id, 422, register_messages().get(err.reason, err.reason), **fields)
    except SoleControlRefused as refused:
        view = view_of(official, document_id)
        return page(
            "portal/refused.html",
            403,
            view=view,
            reason=refused.reason,
            message=sole_control_messages().get(refused.reason, _("Nothing was signed.")),
        )
    except SigningError as err:
        view = view_of(official, document_id)
        if err.status == 503:  # the HSM (its PIN), the TSA or the directory away: not the document's fault
            unavailable = page("portal/refused.html", 503, view=view, reason=err.code, message=unavailable_message())
            unavailable.headers["Retry-After"] = RETRY_AFTER
            return unavailable
        return page("portal/refused.html", 422, view=view, reason=err.code, message=str(err))
    return redirect(url_for("portal.document", document_id=document_id, signed=1), 303)


RETRY_AFTER = "5"  # as the signing API says it: the component is usually back within seconds


def unavailable_message() -> str:
    return str(_("Signing is unavailable for a moment. Nothing was signed: try again in a few minutes."))


# -- the result --------------------------------------------------------------------------------------------


@bp.get("/documents/<document_id>/file")
@official_required
def download(official: Person, document_id: str) -> Response:
    service = document_service(instance())
    view = view_of(official, document_id)
    service.record_download(official, view, ip=client_ip())
    return send_file(
        service.file(view), mimetype="application/pdf", as_attachment=True, download_name=_download_name(view)
    )


def _download_name(view: DocumentView) -> str:
    stem = view.document.file_name.removesuffix(".pdf") or "document"
    return f"{stem}-signed.pdf" if view.signed else f"{stem}.pdf"


@bp.get("/documents/<document_id>/report")
@official_required
def report(official: Person, document_id: str) -> Response:
    from signing.validation.render import render_html
    from signing.validation.service import policy_from_settings, verify_stream

    service = document_service(instance())
    view = view_of(official, document_id)
    path = service.file(view)
    with open(path, "rb") as fh:
        verdict = verify_stream(
            fh,
            path.stat().st_size,
            policy_from_settings(instance().settings),
            file_name=_download_name(view),
            max_bytes=path.stat().st_size,
        )
    return page("portal/report.html", view=view, report_html=render_html(verdict, standalone=False))


@bp.get("/documents/<document_id>/history")
@official_required
def history(official: Person, document_id: str) -> Response:
    view = view_of(official, document_id)
    if view.only_received:  # the drafting unit's reviews and comments are its own; the recipients get the document
        return not_found()
    return page("portal/history.html", view=view, entries=document_service(instance()).history(view))
