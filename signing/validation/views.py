"""HTTP: the public page ``/verify`` (no login) and ``POST /api/signing/verify`` (bearer token, scope
``signing:verify``). Views translate HTTP to :mod:`signing.validation.service` calls and back.

Verifying is the most expensive thing an anonymous client can ask for, so each request passes, in order: a rate
limit per client address (429), the upload spooled to a temporary file (never held in memory, deleted when the
request ends, never stored), and a cap on verifications running at once on this host (503). Both refusals carry
``Retry-After``; the page answers them with itself, the API with problem details. The report is rendered once,
in the format asked for.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import IO, Any, Protocol

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request

from antin.kernel.database import log_failure
from antin.kernel.errors import ProblemError
from antin.kernel.ratelimit import BusyError, RateLimitedError, limiter_for
from antin.kernel.web import exempt_blueprint, get_instance
from signing.pades.reading.errors import UnusableInputError
from signing.pades.reading.policy import ValidationPolicy
from signing.settings import SigningSettings
from signing.validation.models import DocumentReport
from signing.validation.render import render_html, render_pdf
from signing.validation.service import policy_from_settings, trust_state, verify_stream

__all__ = [
    "AccessCheck",
    "BearerVerifier",
    "VerifyExtension",
    "access_check_from_verifier",
    "api_bp",
    "bp",
    "refuse_until_configured",
]

AccessCheck = Callable[[str], None]
"""Checks the request's ``Authorization`` header for scope ``signing:verify``; raises ``ProblemError``
(401/403) when it does not pass. The signing package's JWKS-based relying-party check plugs in here."""

DocumentLookup = Callable[[str], dict[str, str] | None]
"""Finds what the platform knows about a document ID from a QR code (title, signers…), or None."""

SCOPE = "signing:verify"
RATE_WINDOW_SECONDS = 60
# A verification lease outlives the longest request a worker may run (gunicorn's timeout is 60 s), so that a
# worker killed mid-verification frees its slot by itself.
LEASE_SECONDS = 120
BUSY_RETRY_SECONDS = 5
_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")
_DOC_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

log = logging.getLogger("antin.verify")
RETRY_AFTER = "5"  # seconds, as the signing API's 503s (signing.views)
bp = Blueprint(
    "verify_page", __name__, template_folder="templates", static_folder="static", static_url_path="/verify/static"
)
api_bp = Blueprint("verify_api", __name__)


def refuse_until_configured(authorization: str) -> None:
    """The default access check: fail closed until the signing package's JWKS check is wired in."""
    raise ProblemError(
        401,
        "Unauthorized",
        "bearer token verification is not configured on this instance",
        type_="urn:antin:unauthorized",
    )


class BearerVerifier(Protocol):
    """What ``signing.auth.AccessTokenVerifier`` offers: ``verify(header, scope, …)`` raising on refusal."""

    def verify(
        self, authorization: str | None, scope: str, *, method: str, url: str, dpop_proofs: Sequence[str]
    ) -> object: ...

    def resource_url(self, path: str) -> str: ...


def access_check_from_verifier(verifier: BearerVerifier) -> AccessCheck:
    """Adapt the signing package's JWKS relying-party verifier to this API's access check.

    A DPoP-bound token comes with its proof (RFC 9449 §7), checked against this request's method and URL. The
    verifier's ``TokenError`` carries ``status`` (401, 403 or 503), an RFC 6750 ``error`` and the response headers
    of its challenge (``WWW-Authenticate``, ``DPoP-Nonce``); all reach the client, the description only as the
    generic title's detail.
    """

    def check(authorization: str) -> None:
        try:
            verifier.verify(
                authorization,
                SCOPE,
                method=request.method,
                url=verifier.resource_url(request.path),
                dpop_proofs=request.headers.getlist("DPoP"),
            )
        except Exception as err:
            status = getattr(err, "status", None)
            if not isinstance(status, int):
                raise
            title = {401: "Unauthorized", 403: "Forbidden"}.get(status, "Service Unavailable")
            given = getattr(err, "headers", None)
            headers = dict(given) if isinstance(given, dict) else {}
            if status == 503:  # the provider's keys or its revocation answers out of reach for now
                headers.setdefault("Retry-After", RETRY_AFTER)
            raise ProblemError(
                status,
                title,
                str(getattr(err, "description", "")),
                type_="urn:antin:bearer",
                headers=headers,
                error=getattr(err, "error", "invalid_token"),
            ) from None

    return check


@dataclass
class VerifyExtension:
    """Per-app state in ``app.extensions["antin.verify"]``."""

    access_check: AccessCheck = refuse_until_configured
    lookup_document: DocumentLookup | None = None
    policy: ValidationPolicy | None = field(default=None)
    policy_state: tuple[object, ...] | None = field(default=None)  # None: a policy given by the caller, kept
    # The platform CA's root (DER) as the database holds it, None until there is one. The root file in the data
    # folder is written only on the host that ran `antin pki init`: an instance on another host, sharing the
    # database, would otherwise find the platform's own signatures untrusted (scripts/soak.py found it).
    platform_root: Callable[[], bytes | None] | None = None


def _extension() -> VerifyExtension:
    ext: VerifyExtension = current_app.extensions["antin.verify"]
    return ext


def _policy() -> ValidationPolicy:
    ext = _extension()
    settings = get_instance().settings
    root = _platform_root(ext)
    state = (*trust_state(settings), root)
    if ext.policy is None or (ext.policy_state is not None and ext.policy_state != state):
        # Built on first use, and again when the platform root appears (`antin pki init`) or the trust list
        # changes (`antin pki trust add|remove`): two stat calls and the CA's cached chain per verification tell.
        policy = policy_from_settings(settings)
        if root is not None and root not in policy.trust_roots:
            policy = replace(policy, trust_roots=(root, *policy.trust_roots))
        ext.policy = policy
        ext.policy_state = state
    return ext.policy


def _platform_root(ext: VerifyExtension) -> bytes | None:
    if ext.platform_root is None:
        return None
    try:
        return ext.platform_root()
    except Exception:  # the CA not set up yet, the database away: the files alone decide, as before
        log.debug("the platform root is not readable now", exc_info=True)
        return None


def _max_bytes() -> int:
    return get_instance().settings.section(SigningSettings).verify_max_bytes


def _check_rate() -> None:
    """Count this verification for the client's address; raise ``RateLimitedError`` past the limit."""
    settings = get_instance().settings.section(SigningSettings)
    limiter_for(get_instance()).check_rate(
        "verify", request.remote_addr or "unknown", settings.verify_rate_limit, RATE_WINDOW_SECONDS
    )


@contextmanager
def _verification_slot() -> Iterator[None]:
    """One of this host's verification slots for the block; ``BusyError`` when all are taken."""
    capacity = get_instance().settings.section(SigningSettings).verify_concurrency
    with limiter_for(get_instance()).gate("verify", capacity, LEASE_SECONDS, retry_after=BUSY_RETRY_SECONDS):
        yield


@contextmanager
def _received_upload() -> Iterator[tuple[IO[bytes], int, str]]:
    """The uploaded PDF (multipart field ``file`` or a raw ``application/pdf`` body) as a seekable file, its size
    and name. The declared size is checked before anything is read, the real size while it is read."""
    limit = _max_bytes()
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise UnusableInputError("too-large", f"the limit is {limit} bytes")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ProblemError(400, "Bad Request", "send the PDF in the form field “file”", type_="urn:antin:no-file")
        # Werkzeug spooled the part to a temporary file as it arrived (kept in memory only below 500 KB).
        stream: IO[bytes] = upload.stream
        size = stream.seek(0, os.SEEK_END)
        if size > limit:
            raise UnusableInputError("too-large", f"the limit is {limit} bytes")
        yield stream, size, upload.filename[:200]
        return
    with tempfile.TemporaryFile() as spool:
        # copyfileobj with a bound: a body without Content-Length cannot grow past the limit on disk either
        shutil.copyfileobj(_BoundedReader(request.stream, limit + 1), spool, 1024 * 1024)
        size = spool.tell()
        if size > limit:
            raise UnusableInputError("too-large", f"the limit is {limit} bytes")
        yield spool, size, "document.pdf"


class _BoundedReader:
    """A readable that stops after ``limit`` bytes of ``raw``."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self._left = limit

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        chunk = self._raw.read(self._left if n < 0 else min(n, self._left))
        self._left -= len(chunk)
        return chunk


def _verify_upload() -> DocumentReport:
    """Rate limit, spool, then verify in one of this host's slots."""
    _check_rate()
    with _received_upload() as (stream, size, name), _verification_slot():
        return verify_stream(stream, size, _policy(), file_name=name, max_bytes=_max_bytes())


def _retry_message(err: RateLimitedError | BusyError) -> str:
    if isinstance(err, RateLimitedError):
        return (
            f"Quá nhiều yêu cầu kiểm tra từ địa chỉ của bạn; hãy thử lại sau {err.retry_after} giây. "
            f"Too many verifications from your address; try again in {err.retry_after} seconds."
        )
    return (
        f"Hệ thống đang kiểm tra nhiều tài liệu khác; hãy thử lại sau {err.retry_after} giây. "
        f"The service is busy verifying other documents; try again in {err.retry_after} seconds."
    )


def _retry_problem(err: RateLimitedError | BusyError) -> ProblemError:
    limited = isinstance(err, RateLimitedError)
    return ProblemError(
        429 if limited else 503,
        "Too Many Requests" if limited else "Service Unavailable",
        _retry_message(err),
        type_="urn:antin:verify:rate-limited" if limited else "urn:antin:verify:busy",
        headers={"Retry-After": str(err.retry_after)},
        reason="rate-limited" if limited else "busy",
    )


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


@api_bp.post("/api/signing/verify")
def api_verify() -> Response:
    authorization = request.headers.get("Authorization", "")
    if not authorization.lower().startswith(("bearer ", "dpop ")):
        raise ProblemError(
            401,
            "Unauthorized",
            "an access token with scope signing:verify is required (Bearer, or DPoP with its proof)",
            type_="urn:antin:unauthorized",
            headers={"WWW-Authenticate": "Bearer, DPoP"},
        )
    _extension().access_check(authorization)
    try:
        report = _verify_upload()
    except UnusableInputError as err:
        raise _unusable_problem(err) from None
    except (RateLimitedError, BusyError) as err:
        raise _retry_problem(err) from None
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
        except Exception as err:  # the record is a courtesy: verifying the upload must not depend on it
            log_failure(log, err, "could not look up signed document %s", context["doc_id"])
    return context


def _page(status: int = 200, **context: Any) -> Response:
    html = render_template("verify/page.html", max_mb=_max_bytes() // (1024 * 1024), **context)
    return Response(html, status=status, mimetype="text/html")


@bp.get("/verify")
def verify_form() -> Response:
    return _page(**_qr_context(request.args))


@bp.post("/verify")
def verify_upload() -> Response:
    context = _qr_context(request.form)
    try:
        report = _verify_upload()
    except UnusableInputError as err:
        status = 413 if err.reason == "too-large" else 422
        return _page(status, problem=err, **context)
    except ProblemError as err:
        return _page(err.status, problem_text=err.detail, **context)
    except (RateLimitedError, BusyError) as err:
        problem = _retry_problem(err)
        response = _page(problem.status, problem_text=problem.detail, problem_reason=problem.extra["reason"], **context)
        response.headers.update(problem.headers)
        return response
    if request.form.get("format") == "pdf":
        return _pdf_response(report)
    matches = None
    if context["doc_digest"]:
        matches = context["doc_digest"] == report.sha256
    return _page(report_html=render_html(report, standalone=False), report=report, digest_matches=matches, **context)


def _pdf_response(report: DocumentReport) -> Response:
    response = Response(render_pdf(report), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="bao-cao-kiem-tra-chu-ky.pdf"'
    return response


def register(app: Flask, extension: VerifyExtension) -> None:
    app.extensions["antin.verify"] = extension
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    # The API authenticates every call with its bearer token; there is no cookie session to forge.
    app.extensions.setdefault("antin.csrf_exempt_blueprints", set())
    exempt_blueprint(app, api_bp)
