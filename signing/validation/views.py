"""HTTP: the public page ``/verify`` (no login) and ``POST /api/signing/verify`` (bearer token, scope
``signing:verify``). Views translate HTTP to :mod:`signing.validation.service` calls and back; uploads are
verified in memory and never stored.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request

from idp.errors import ProblemError
from idp.web import exempt_blueprint, get_instance
from signing.validation.errors import UnusableInputError
from signing.validation.model import DocumentReport
from signing.validation.policy import ValidationPolicy
from signing.validation.render import render_html, render_pdf
from signing.validation.service import policy_from_settings, verify_bytes

__all__ = [
    "AccessCheck",
    "BearerVerifier",
    "VerifyExtension",
    "access_check_from_verifier",
    "api",
    "page",
    "refuse_until_configured",
]

AccessCheck = Callable[[str], None]
"""Checks the request's ``Authorization`` header for scope ``signing:verify``; raises ``ProblemError``
(401/403) when it does not pass. The signing package's JWKS-based relying-party check plugs in here."""

DocumentLookup = Callable[[str], dict[str, str] | None]
"""Finds what the platform knows about a document ID from a QR code (title, signers…), or None."""

SCOPE = "signing:verify"
_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")
_DOC_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

log = logging.getLogger("antin.verify")
page = Blueprint(
    "verify_page", __name__, template_folder="templates", static_folder="static", static_url_path="/verify/static"
)
api = Blueprint("verify_api", __name__)


def refuse_until_configured(authorization: str) -> None:
    """The default access check: fail closed until the signing package's JWKS check is wired in."""
    raise ProblemError(
        401,
        "Unauthorized",
        "bearer token verification is not configured on this instance",
        type_="urn:antin:unauthorized",
    )


class BearerVerifier(Protocol):
    """What ``signing.auth.AccessTokenVerifier`` offers: ``verify(header, scope)`` raising on refusal."""

    def verify(self, authorization: str | None, scope: str) -> object: ...


def access_check_from_verifier(verifier: BearerVerifier) -> AccessCheck:
    """Adapt the signing package's JWKS relying-party verifier to this API's access check.

    Its ``TokenError`` carries ``status`` (401, 403 or 503) and an RFC 6750 ``error``; both reach the client
    as problem details, the description only as the generic title's detail.
    """

    def check(authorization: str) -> None:
        try:
            verifier.verify(authorization, SCOPE)
        except Exception as err:
            status = getattr(err, "status", None)
            if not isinstance(status, int):
                raise
            title = {401: "Unauthorized", 403: "Forbidden"}.get(status, "Service Unavailable")
            raise ProblemError(
                status,
                title,
                str(getattr(err, "description", "")),
                type_="urn:antin:bearer",
                error=getattr(err, "error", "invalid_token"),
            ) from None

    return check


@dataclass
class VerifyExtension:
    """Per-app state in ``app.extensions["antin.verify"]``."""

    access_check: AccessCheck = refuse_until_configured
    lookup_document: DocumentLookup | None = None
    policy: ValidationPolicy | None = field(default=None)


def _extension() -> VerifyExtension:
    ext: VerifyExtension = current_app.extensions["antin.verify"]
    return ext


def _policy() -> ValidationPolicy:
    ext = _extension()
    if ext.policy is None:
        # Built on first use: the platform CA's root file appears once `antin pki init` has run.
        ext.policy = policy_from_settings(get_instance().settings)
    return ext.policy


def _max_bytes() -> int:
    return get_instance().settings.signing.verify_max_bytes


def _read_upload() -> tuple[bytes, str]:
    """The uploaded PDF (multipart field ``file`` or a raw ``application/pdf`` body), size checked first."""
    limit = _max_bytes()
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise UnusableInputError("too-large", f"the limit is {limit} bytes")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ProblemError(400, "Bad Request", "send the PDF in the form field “file”", type_="urn:antin:no-file")
        data = upload.stream.read(limit + 1)
        name = upload.filename
    else:
        data = request.get_data(cache=False)
        name = "document.pdf"
    if len(data) > limit:
        raise UnusableInputError("too-large", f"the limit is {limit} bytes")
    return data, name[:200]


def _unusable_problem(err: UnusableInputError) -> ProblemError:
    status = 413 if err.reason == "too-large" else 422
    return ProblemError(
        status,
        "Unusable input",
        f"{err.message_en} {err.detail}".strip(),
        type_=f"urn:antin:verify:{err.reason}",
        reason=err.reason,
        detail_vi=err.message_vi,
    )


# -- the API ------------------------------------------------------------------------------------------------


@api.post("/api/signing/verify")
def api_verify() -> Response:
    authorization = request.headers.get("Authorization", "")
    if not authorization.lower().startswith("bearer "):
        raise ProblemError(
            401,
            "Unauthorized",
            "a bearer access token with scope signing:verify is required",
            type_="urn:antin:unauthorized",
        )
    _extension().access_check(authorization)
    try:
        data, name = _read_upload()
        report = verify_bytes(data, _policy(), file_name=name, max_bytes=_max_bytes())
    except UnusableInputError as err:
        raise _unusable_problem(err) from None
    return jsonify(report.as_dict())


# -- the public page ----------------------------------------------------------------------------------------


def _qr_context(args: Any) -> dict[str, Any]:
    """What a QR code on a signed document carries: ``id`` (document ID) and ``d`` (its SHA-256)."""
    doc_id = args.get("id", "")
    digest = args.get("d", "")
    context: dict[str, Any] = {
        "doc_id": doc_id if _DOC_ID.match(doc_id or "") else "",
        "doc_digest": digest.lower() if _DIGEST.match(digest or "") else "",
        "doc_info": None,
    }
    lookup = _extension().lookup_document
    if lookup is not None and context["doc_id"]:
        try:
            context["doc_info"] = lookup(context["doc_id"])
        except Exception:  # the record is a courtesy: verifying the upload must not depend on it
            log.warning("could not look up signed document %s", context["doc_id"], exc_info=True)
    return context


def _page(status: int = 200, **context: Any) -> Response:
    html = render_template("verify/page.html", max_mb=_max_bytes() // (1024 * 1024), **context)
    return Response(html, status=status, mimetype="text/html")


@page.get("/verify")
def verify_form() -> Response:
    return _page(**_qr_context(request.args))


@page.post("/verify")
def verify_upload() -> Response:
    context = _qr_context(request.form)
    try:
        data, name = _read_upload()
        report = verify_bytes(data, _policy(), file_name=name, max_bytes=_max_bytes())
    except UnusableInputError as err:
        status = 413 if err.reason == "too-large" else 422
        return _page(status, problem=err, **context)
    except ProblemError as err:
        return _page(err.status, problem_text=err.detail, **context)
    if request.form.get("format") == "pdf":
        return _pdf_response(report)
    matches = None
    if context["doc_digest"]:
        matches = context["doc_digest"] == report.sha256
    pdf_b64 = base64.b64encode(render_pdf(report)).decode()
    return _page(
        report_html=render_html(report, standalone=False),
        report=report,
        pdf_b64=pdf_b64,
        digest_matches=matches,
        **context,
    )


def _pdf_response(report: DocumentReport) -> Response:
    response = Response(render_pdf(report), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="bao-cao-kiem-tra-chu-ky.pdf"'
    return response


def register(app: Flask, extension: VerifyExtension) -> None:
    app.extensions["antin.verify"] = extension
    app.register_blueprint(page)
    app.register_blueprint(api)
    # The API authenticates every call with its bearer token; there is no cookie session to forge.
    app.extensions.setdefault("antin.csrf_exempt_blueprints", set())
    exempt_blueprint(app, api)
