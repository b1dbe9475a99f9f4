"""HTTP for Party applications: ``/api/signing/requests`` (create, status, document, cancel).

The client is the caller: a token with the scope ``signing:request``, usually its own (client credentials), is
enough; the officials sign in their browser, so no official's sign-in level is asked of the token here. Errors
are the signing API's problem+json.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, g, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from antin.kernel.web import exempt_blueprint
from directory.errors import DirectoryError
from idp.oidc import registered_client
from signing.auth import AccessToken
from signing.documents.errors import UploadRefusedError
from signing.errors import InvalidRequestError, SigningError, TokenError
from signing.requests.service import RequestService, StepAsked, request_service
from signing.views import FORM_OVERHEAD, problem, signing_state
from signing.views import _directory_error as directory_problem
from signing.views import _offer_dpop_nonce as offer_dpop_nonce
from signing.views import _signing_error as signing_problem
from signing.views import _token_error as token_problem

__all__ = ["SCOPE", "bp", "register"]

SCOPE = "signing:request"

bp = Blueprint("signing_requests", __name__, url_prefix="/api/signing/requests")
bp.after_request(offer_dpop_nonce)
bp.register_error_handler(SigningError, signing_problem)
bp.register_error_handler(TokenError, token_problem)
bp.register_error_handler(DirectoryError, directory_problem)


def register(app: Flask, service: RequestService) -> None:
    app.extensions["antin.signing.requests"] = service
    app.register_blueprint(bp)

    @app.before_request
    def _start_webhook_drainer() -> None:
        # in each worker, lazily (threads do not survive gunicorn's fork): retries left by a restart go on
        service.webhooks.start()

    if "antin.csrf_exempt_blueprints" in app.extensions:
        exempt_blueprint(app, bp)  # bearer tokens only, no session cookie


def _service() -> RequestService:
    service = signing_state().service
    return request_service(service.instance)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_err: RequestEntityTooLarge) -> Response:
    limit = _service().documents.settings.upload_max_mb
    return problem(413, "invalid-document", "Document too large", f"the upload is over the {limit} MB limit")


@bp.errorhandler(UploadRefusedError)
def _refused(err: UploadRefusedError) -> Response:
    status = 413 if err.reason == "too-large" else 422
    return problem(status, "invalid-document", "Unusable document", f"{err.reason}: {err.detail or err.reason}")


def _client() -> tuple[AccessToken, str]:
    verifier = signing_state().verifier
    token = verifier.verify(
        request.headers.get("Authorization"),
        SCOPE,
        method=request.method,
        url=verifier.resource_url(request.path),
        dpop_proofs=request.headers.getlist("DPoP"),
    )
    if token.dpop_nonce:
        g.signing_dpop_nonce = token.dpop_nonce
    if not token.client_id:
        raise TokenError("invalid_token", "the token names no client", status=403, scheme=token.scheme)
    return token, token.client_id


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")


def _deadline(value: str | None, field: str = "deadline") -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidRequestError(field, "an ISO 8601 date-time, e.g. 2026-12-31T17:00:00+07:00") from None
    parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if parsed <= _service().instance.clock.now():
        raise InvalidRequestError(field, "must be in the future")
    return parsed.astimezone(UTC)  # in UTC: SQLite keeps no offset, and a +07:00 time would be read back as UTC


def _list(form: Any, field: str) -> list[Any]:
    raw = form.get(field)
    if raw is None:
        return [s for s in form.getlist(f"{field}[]") if s]
    try:
        value = json.loads(raw)
    except ValueError:
        value = [s.strip() for s in raw.split(",") if s.strip()]  # also "an,binh"
    if not isinstance(value, list):
        raise InvalidRequestError(field, "a JSON list, in order")
    return value


def _signers(form: Any, field: str = "signers") -> list[str]:
    value = _list(form, field)
    if not all(isinstance(s, str) for s in value):
        raise InvalidRequestError(field, "a JSON list of logins, in order")
    return value


def _steps(form: Any, field: str = "signers") -> list[StepAsked]:
    """Reviewers or signers in order: each a login or a leaders' group name, or an object with ``login`` or
    ``group`` and an optional ``deadline`` of its own."""
    steps = []
    for entry in _list(form, field):
        if isinstance(entry, str):
            steps.append(StepAsked(entry))
            continue
        names = [entry.get(key) for key in ("login", "group")] if isinstance(entry, dict) else []
        given = [name for name in names if name is not None]
        if len(given) != 1 or not isinstance(given[0], str) or set(entry) - {"login", "group", "deadline"}:
            raise InvalidRequestError(
                field, 'a JSON list of logins or groups, or of objects {"login" or "group", "deadline"}, in order'
            )
        steps.append(StepAsked(given[0], _deadline(entry.get("deadline"), f"{field}[].deadline")))
    return steps


@bp.post("")
def create_request() -> Response:
    _token, client_id = _client()
    service = _service()
    request.max_content_length = service.documents.max_bytes + FORM_OVERHEAD
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidRequestError("file", "upload the PDF as the multipart field 'file'")
    form = request.form
    client = registered_client(service.instance, client_id)
    status = service.create(
        client_id,
        client.name if client else client_id,
        upload.stream,
        file_name=upload.filename,
        title=form.get("title", ""),
        number=form.get("number", ""),
        signers=_steps(form),
        reviewers=_steps(form, "reviewers"),
        seal_unit=form.get("seal_unit") or None,
        recipient_units=_signers(form, "recipient_units"),
        recipient_officials=_signers(form, "recipient_officials"),
        callback_url=form.get("callback_url") or None,
        deadline=_deadline(form.get("deadline")),
        ip=request.remote_addr,
    )
    response = _json(status, 201)
    response.headers["Location"] = f"{bp.url_prefix}/{status['id']}"
    return response


@bp.get("/<request_id>")
def get_request(request_id: str) -> Response:
    _token, client_id = _client()
    return _json(_service().status(client_id, request_id))


@bp.get("/<request_id>/document")
def get_document(request_id: str) -> Response:
    _token, client_id = _client()
    path, name = _service().file(client_id, request_id)
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name)


@bp.post("/<request_id>/resend")
def resend_request(request_id: str) -> Response:
    _token, client_id = _client()
    service = _service()
    request.max_content_length = service.documents.max_bytes + FORM_OVERHEAD
    upload = request.files.get("file")
    form = request.form
    status = service.resend(
        client_id,
        request_id,
        upload.stream if upload is not None and upload.filename else None,
        file_name=upload.filename or "" if upload is not None else "",
        note=form.get("note", ""),
        deadline=_deadline(form.get("deadline")),
        ip=request.remote_addr,
    )
    return _json(status)


@bp.post("/<request_id>/cancel")
def cancel_request(request_id: str) -> Response:
    _token, client_id = _client()
    return _json(_service().cancel(client_id, request_id, ip=request.remote_addr))
