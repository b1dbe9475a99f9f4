"""HTTP: the signing REST API (``/api/signing``), the PKI's public endpoints (``/pki``) and the TSA (``/tsa``).

Two blueprints: ``bp``, the API (bearer tokens), and ``pki_bp``, the PKI's and the TSA's public endpoints (no
tokens, DER bodies). Views only translate HTTP to calls of :class:`~signing.service.SigningService` and back.
Errors are RFC 9457 ``application/problem+json``; uploads are streamed to temporary files and refused early when
over the limit.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Flask, Response, current_app, g, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from antin.kernel.errors import problem_response
from antin.kernel.web import exempt_blueprint
from directory.errors import DirectoryError
from signing.appearance import parse_visible
from signing.auth import AccessToken, AccessTokenVerifier, TokenError
from signing.errors import SigningError
from signing.pades import LEVELS
from signing.service import SigningService, SignOutcome, SignRequest
from signing.settings import SigningSettings

__all__ = ["EXTENSION_KEY", "bp", "pki_bp", "register", "signing_state"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "antin.signing.api"  # in app.extensions; the service is "antin.signing" in the instance
MAX_PROTOCOL_BODY = 64 * 1024  # OCSP and time-stamp requests are small
FORM_OVERHEAD = 1024 * 1024

# The signing API; the PKI's public endpoints and the TSA are a blueprint of their own (no bearer tokens there).
bp = Blueprint("signing_api", __name__, url_prefix="/api/signing")
pki_bp = Blueprint("signing_pki", __name__)


class SigningState:
    def __init__(self, service: SigningService, verifier: AccessTokenVerifier) -> None:
        self.service = service
        self.verifier = verifier


def signing_state() -> SigningState:
    state = current_app.extensions[EXTENSION_KEY]
    assert isinstance(state, SigningState)
    return state


def register(app: Flask, service: SigningService, verifier: AccessTokenVerifier) -> None:
    app.extensions[EXTENSION_KEY] = SigningState(service, verifier)
    app.register_blueprint(bp)
    app.register_blueprint(pki_bp)
    if "antin.csrf_exempt_blueprints" in app.extensions:
        # Neither uses the session cookie: the API takes bearer tokens only (so a request without one gets 401,
        # not a CSRF refusal); OCSP and time-stamp clients post DER bodies.
        exempt_blueprint(app, bp)
        exempt_blueprint(app, pki_bp)


# -- problems -------------------------------------------------------------------------------------------------


# Seconds a client waits before trying again after a 503: the HSM, the TSA, the directory or the provider's keys
# were out of reach; a restarted component is back within that (scripts/signing_faults.py, docs/production.md).
RETRY_AFTER = "5"


def problem(status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    response = problem_response(status, title, detail, type_=f"urn:antin:problem:{code}")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 503 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = RETRY_AFTER  # RFC 9110 §10.2.3: when to try again
    return response


@bp.after_request
def _offer_dpop_nonce(response: Response) -> Response:
    # RFC 9449 §8.2: a DPoP request's answer names the provider's current nonce, so the client keeps up with it
    nonce = g.get("signing_dpop_nonce")
    if nonce and "DPoP-Nonce" not in response.headers:
        response.headers["DPoP-Nonce"] = nonce
    return response


@bp.errorhandler(SigningError)
@pki_bp.errorhandler(SigningError)
def _signing_error(err: SigningError) -> Response:
    return problem(err.status, err.code, type(err).__name__.removesuffix("Error"), str(err))


@bp.errorhandler(TokenError)
def _token_error(err: TokenError) -> Response:
    return problem(
        err.status,
        err.error.replace("_", "-"),
        {401: "Unauthorized", 503: "Service Unavailable"}.get(err.status, "Forbidden"),
        err.description,
        err.headers,
    )


@bp.errorhandler(DirectoryError)
def _directory_error(err: DirectoryError) -> Response:
    log.warning("directory error during a signing request: %s", err)
    return problem(503, "directory-unavailable", "Directory unavailable", "the directory cannot be reached; try again")


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_err: RequestEntityTooLarge) -> Response:
    limit = signing_state().service.settings.section(SigningSettings).max_document_mb
    return problem(413, "invalid-document", "Document too large", f"the upload is over the {limit} MB limit")


# -- the signing API ------------------------------------------------------------------------------------------


def _authorise(scope: str) -> tuple[SigningState, AccessToken, str]:
    state = signing_state()
    verifier = state.verifier
    token = verifier.verify(
        request.headers.get("Authorization"),
        scope,
        method=request.method,
        url=verifier.resource_url(request.path),
        dpop_proofs=request.headers.getlist("DPoP"),
        require_acr=True,  # RFC 9470: signing needs the level of [signing] required_acr
    )
    if token.dpop_nonce:
        g.signing_dpop_nonce = token.dpop_nonce
    person = state.service.directory.find_by_uuid(token.subject)
    if person is None:
        raise TokenError(
            "invalid_token", "the token's subject is not an official of this directory", status=403, scheme=token.scheme
        )
    if not person.active:
        # a suspended or locked official's tokens stop here at once, whatever the cache of revocations says
        raise TokenError("invalid_token", "the official's account is no longer active", scheme=token.scheme)
    return state, token, person.uid


def _form_request(signer_uid: str, document_name: str) -> SignRequest:
    form = request.form
    level = form.get("level") or None
    if level is not None and level not in LEVELS:
        raise _bad("level", f"must be one of {', '.join(LEVELS)}")
    visible = None
    if form.get("visible"):
        try:
            visible = parse_visible(form["visible"])
        except ValueError as err:
            raise _bad("visible", str(err)) from None
    certify = form.get("certify", "false").lower()
    if certify not in ("true", "false", "1", "0", ""):
        raise _bad("certify", "must be true or false")
    return SignRequest(
        signer_uid=signer_uid,
        level=level,
        seal_unit=form.get("seal") or None,
        certify=certify in ("true", "1"),
        reason=form.get("reason") or None,
        location=form.get("location") or None,
        visible=visible,
        document_name=document_name,
    )


def _bad(field: str, reason: str) -> SigningError:
    from signing.errors import InvalidRequestError

    return InvalidRequestError(field, reason)


def _limit_upload(service: SigningService, files: int = 1) -> None:
    # Refused while the body is read, before anything is stored (Flask 3.1: per-request limit).
    request.max_content_length = files * service.max_bytes + FORM_OVERHEAD


def _outcome_headers(outcome: SignOutcome) -> dict[str, str]:
    return {
        "Antin-Signature-Reference": outcome.reference,
        "Antin-Signature-Level": outcome.level,
        "Antin-Certificate-Serial": outcome.certificate_serial,
        "Antin-Verification-Url": outcome.verification_url,
    }


def _sign_upload(
    service: SigningService, upload: Any, sign_request: SignRequest, actor: str
) -> tuple[Path, SignOutcome]:
    """Spool the upload to a temporary file and sign it into another; the caller deletes the result."""
    fd_in, path_in = tempfile.mkstemp(suffix=".pdf")
    fd_out, path_out = tempfile.mkstemp(suffix=".pdf")
    try:
        with os.fdopen(fd_in, "w+b") as source, os.fdopen(fd_out, "w+b") as output:
            upload.save(source)
            source.flush()
            outcome = service.sign(source, output, sign_request, actor=actor)
        return Path(path_out), outcome
    except BaseException:
        os.unlink(path_out)
        raise
    finally:
        os.unlink(path_in)


@bp.post("/sign")
def sign_document() -> Response:
    state, token, uid = _authorise("signing:sign")
    _limit_upload(state.service)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise _bad("file", "upload the PDF as the multipart field 'file'")
    sign_request = _form_request(uid, Path(upload.filename).name)
    signed, outcome = _sign_upload(state.service, upload, sign_request, actor=f"{uid} via {token.client_id or 'api'}")
    name = Path(upload.filename).stem + "-signed.pdf"
    response = send_file(signed, mimetype="application/pdf", as_attachment=True, download_name=name)
    response.call_on_close(lambda: signed.unlink(missing_ok=True))
    response.headers.update(_outcome_headers(outcome))
    return response


@bp.post("/batch")
def sign_batch() -> Response:
    state, token, uid = _authorise("signing:sign")
    _limit_upload(state.service, files=20)
    uploads = request.files.getlist("file")
    if not uploads or not all(u.filename for u in uploads):
        raise _bad("file", "upload one or more PDFs as multipart fields named 'file'")
    if len(uploads) > 20:
        raise _bad("file", "at most 20 documents per batch")
    archive = io.BytesIO()
    manifest = []
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        for upload in uploads:
            name = Path(upload.filename or "document.pdf").name
            signed, outcome = _sign_upload(
                state.service, upload, _form_request(uid, name), actor=f"{uid} via {token.client_id or 'api'}"
            )
            try:
                zf.write(signed, Path(name).stem + "-signed.pdf")
            finally:
                signed.unlink(missing_ok=True)
            manifest.append({"document": name, **outcome.to_json()})
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    archive.seek(0)
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name="signed.zip")


@bp.get("/certificate")
def my_certificate() -> Response:
    state, _token, uid = _authorise("signing:sign")
    cert = state.service.ca.signing_certificate(uid=uid)
    if cert is None:
        return problem(404, "certificate-not-found", "No certificate", f"{uid} has no signing certificate yet")
    return Response(json.dumps(cert.to_json(), ensure_ascii=False), mimetype="application/json")


# -- PKI and TSA ----------------------------------------------------------------------------------------------


def _binary(data: bytes, mimetype: str, max_age: int = 0) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={max_age}" if max_age else "no-store"
    return response


@pki_bp.get("/pki/crl/<name>.crl")
def crl(name: str) -> Response:
    return _binary(signing_state().service.ca.crl(name), "application/pkix-crl", max_age=300)


@pki_bp.get("/pki/ca/<name>.cer")
def ca_certificate(name: str) -> Response:
    chain = signing_state().service.ca.chain()
    cert = {"root": chain.root, "issuing": chain.issuing}.get(name)
    if cert is None:
        return problem(404, "certificate-not-found", "Not found", f"no CA certificate {name!r}")
    return _binary(cert.dump(), "application/pkix-cert", max_age=86400)


def _protocol_body(mimetype: str) -> bytes | Response:
    if request.mimetype != mimetype:
        return problem(415, "unsupported-media-type", "Unsupported media type", f"send {mimetype}")
    if (request.content_length or 0) > MAX_PROTOCOL_BODY:
        return problem(413, "request-too-large", "Request too large", "the request is too large")
    return request.get_data(cache=False)


def _respond(answer: Callable[[bytes], bytes], body: bytes | Response, mimetype: str) -> Response:
    if isinstance(body, Response):
        return body
    return _binary(answer(body), mimetype)


@pki_bp.post("/pki/ocsp")
def ocsp_post() -> Response:
    responder = signing_state().service.ca.ocsp_responder()
    return _respond(responder.respond, _protocol_body("application/ocsp-request"), "application/ocsp-response")


@pki_bp.get("/pki/ocsp/<path:encoded>")
def ocsp_get(encoded: str) -> Response:
    """RFC 6960 appendix A.1: the request, base64 then URL-encoded, in the path."""
    try:
        body = base64.b64decode(unquote(encoded), validate=True)
    except (binascii.Error, ValueError):
        return problem(400, "malformed-request", "Malformed request", "not a base64 OCSP request")
    responder = signing_state().service.ca.ocsp_responder()
    return _binary(responder.respond(body), "application/ocsp-response")


@pki_bp.post("/tsa")
def timestamp() -> Response:
    state = signing_state()
    if state.service.settings.section(SigningSettings).tsa_url:
        return problem(404, "tsa-disabled", "No TSA here", "this platform uses an external time-stamping authority")
    return _respond(
        state.service.tsa.respond, _protocol_body("application/timestamp-query"), "application/timestamp-reply"
    )
