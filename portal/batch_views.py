"""Signing several documents at once: the inbox's chosen documents on one confirmation page (each one's title,
number, SHA-256 and box), one security-key confirmation over all of them, then a page with each one's outcome.

The service is :mod:`signing.documents.batch`; a refused confirmation signs nothing (the page says why), after it
one document's refusal (someone else acted, the document changed) leaves the others signed.
"""

from __future__ import annotations

import json

from flask import request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from directory.models import Person
from portal.document_views import sole_control_messages
from portal.officials import client_ip, instance
from portal.views import bp, official_required, page
from signing.documents.batch import begin_batch, sign_batch
from signing.documents.errors import BatchRefusedError
from signing.documents.service import document_service
from signing.errors import SoleControlRefused

__all__: list[str] = []


def batch_messages() -> dict[str, str]:
    limit = document_service(instance()).settings.batch_max
    return {
        "empty": _("Choose at least one document to sign."),
        "too-many": _("At most %(n)s documents can be signed at once.", n=limit),
        "twice": _("A document was chosen twice."),
        "not-signable": _("A chosen document is not waiting for your signature now."),
    }


def outcome_messages() -> dict[str, str]:
    return {
        "changed": _("The document changed after you confirmed it: open it and sign it again."),
        "not-your-turn": _("It is no longer waiting for your signature (someone else acted meanwhile)."),
        "not-found": _("The document is no longer yours to see."),
    }


def _refused(err: BatchRefusedError) -> Response:
    message = batch_messages().get(err.reason, err.reason)
    return page(
        "portal/message.html",
        409 if err.reason == "not-signable" else 422,
        title=_("These documents cannot be signed together"),
        message=message,
        detail=err.detail if err.reason == "not-signable" else "",
    )


@bp.get("/documents/batch")
@official_required
def batch_confirm(official: Person) -> Response:
    service = document_service(instance())
    try:
        authorisation_id, options, items = begin_batch(service, official, request.args.getlist("document"))
    except BatchRefusedError as err:
        return _refused(err)
    except SoleControlRefused as refused:
        return page("portal/batch.html", 403, items=[], error=sole_control_messages()[refused.reason], no_key=True)
    return page(
        "portal/batch.html",
        items=items,
        authorisation=authorisation_id,
        options=json.dumps(options),
        reason=_("Approved"),
        location=official.unit.name if official.unit else "",
    )


def _digests(values: list[str]) -> list[bytes]:
    try:
        return [bytes.fromhex(v) for v in values]
    except ValueError:
        return []


@bp.post("/documents/batch")
@official_required
def batch_sign(official: Person) -> Response:
    try:
        credential = json.loads(request.form.get("credential", ""))
        if not isinstance(credential, dict):
            raise ValueError("not an object")
    except ValueError:
        credential = {}
    try:
        results = sign_batch(
            document_service(instance()),
            official,
            request.form.getlist("document"),
            _digests(request.form.getlist("sha256")),
            authorisation_id=request.form.get("authorisation", ""),
            credential=credential,
            reason=request.form.get("reason", ""),
            location=request.form.get("location", ""),
            ip=client_ip(),
        )
    except BatchRefusedError as err:
        return _refused(err)
    except SoleControlRefused as refused:
        message = sole_control_messages().get(refused.reason, _("Nothing was signed."))
        return page("portal/batch_result.html", 403, results=[], error=message, reason=refused.reason)
    return page("portal/batch_result.html", results=results, messages=outcome_messages())
