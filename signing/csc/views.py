"""HTTP of the CSC API under ``/csc/v2`` (and ``/csc/v1``, the paths pyHanko's ``CSCSigner`` calls).

``info`` is public; ``credentials/*`` and ``signatures/signHash`` take the platform's OIDC access tokens (scope
``signing:sign``, the official's ``sub``); ``oauth2/authorize`` is the official's page in the browser and
``oauth2/token`` the client's code exchange. Every error is CSC's JSON (``error``, ``error_description``).
The blueprint is CSRF-exempt: its POSTs come from clients with bearer tokens, and the page's one form carries a
WebAuthn assertion over a server-side nonce for this origin, which no other site can forge.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from antin.kernel.ratelimit import RateLimitedError, limiter_for
from antin.kernel.web import exempt_blueprint
from directory.errors import DirectoryError
from directory.models import Person
from signing.auth import AccessToken, TokenError
from signing.csc.errors import CscError
from signing.csc.service import CscService, get_csc
from signing.errors import SigningError
from signing.settings import SigningSettings
from signing.views import signing_state

__all__ = ["bp", "register"]

log = logging.getLogger(__name__)

SCOPE = "signing:sign"
bp = Blueprint("csc", __name__, url_prefix="/csc", template_folder="templates")
VERSION = "<any(v1, v2):version>"


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    if "antin.csrf_exempt_blueprints" in app.extensions:
        exempt_blueprint(app, bp)


def _csc() -> CscService:
    return get_csc(signing_state().service.instance)


@bp.errorhandler(CscError)
def _csc_error(err: CscError) -> Response:
    response = jsonify(err.to_json())
    response.status_code = err.status
    return response


@bp.errorhandler(TokenError)
def _token_error(err: TokenError) -> Response:
    response = jsonify({"error": err.error, "error_description": err.description})
    response.status_code = err.status
    response.headers.update(err.headers)
    return response


@bp.errorhandler(SigningError)
def _signing_error(err: SigningError) -> Response:
    log.warning("CSC request failed: %s", err)
    response = jsonify(
        {"error": "server_error" if err.status >= 500 else "invalid_request", "error_description": str(err)}
    )
    response.status_code = 503 if err.status >= 500 else 400
    return response


@bp.errorhandler(RateLimitedError)
def _rate_limited(err: RateLimitedError) -> Response:
    response = jsonify({"error": "temporarily_unavailable", "error_description": "Too many requests; try later"})
    response.status_code = 429
    response.headers["Retry-After"] = str(err.retry_after)
    return response


def _check_rate(scope: str) -> None:
    # the page and the token endpoint answer without a bearer token, and each page stores a pending approval
    instance = signing_state().service.instance
    limit = instance.settings.section(SigningSettings).csc_rate_limit
    limiter_for(instance).check_rate(scope, request.remote_addr or "unknown", limit, 60)


@bp.errorhandler(DirectoryError)
def _directory_error(_err: DirectoryError) -> Response:
    response = jsonify({"error": "temporarily_unavailable", "error_description": "the directory cannot be reached"})
    response.status_code = 503
    return response


def _body() -> dict[str, Any]:
    try:
        body = request.get_json(force=True, silent=False) if request.content_length else {}
    except BadRequest:
        raise CscError("invalid_request", "The body is not JSON") from None
    if not isinstance(body, dict):
        raise CscError("invalid_request", "The body must be a JSON object")
    return body


def _official() -> tuple[Person, AccessToken]:
    state = signing_state()
    verifier = state.verifier
    # no acr here: each signature is authorised by the official's own WebAuthn assertion with user verification
    token = verifier.verify(
        request.headers.get("Authorization"),
        SCOPE,
        method=request.method,
        url=verifier.resource_url(request.path),
        dpop_proofs=request.headers.getlist("DPoP"),
    )
    person = state.service.directory.find_by_uuid(token.subject)
    if person is None or not person.active:
        raise TokenError("invalid_token", "the token's subject is not an active official", scheme=token.scheme)
    return person, token


@bp.route(f"/{VERSION}/info", methods=["GET", "POST"])
def info(version: str) -> Response:
    return jsonify(_csc().info(version))


@bp.post(f"/{VERSION}/credentials/list")
def credentials_list(version: str) -> Response:
    person, token = _official()
    return jsonify(_csc().list_credentials(person, _body(), client_id=token.client_id))


@bp.post(f"/{VERSION}/credentials/info")
def credentials_info(version: str) -> Response:
    person, _token = _official()
    return jsonify(_csc().credential(person, _body()))


@bp.post(f"/{VERSION}/credentials/authorize")
def credentials_authorize(version: str) -> Response:
    _official()
    raise CscError("invalid_request", "Credentials are authorised with oauth2/authorize (scope credential) only")


@bp.post(f"/{VERSION}/signatures/signHash")
def sign_hash(version: str) -> Response:
    person, token = _official()
    signatures = _csc().sign_hash(person, _body(), client_id=token.client_id, ip=request.remote_addr or "")
    return jsonify({"signatures": signatures})


@bp.post(f"/{VERSION}/oauth2/token")
def token(version: str) -> Response:
    _check_rate("csc-token")
    auth = request.authorization
    basic = (auth.username or "", auth.password or "") if auth and auth.type == "basic" else None
    answer = _csc().authorisation.exchange(request.form.to_dict(), basic=basic)
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(f"/{VERSION}/oauth2/authorize", methods=["GET", "POST"])
def authorize(version: str) -> ResponseReturnValue:
    _check_rate("csc-authorize")
    flow = _csc().authorisation
    if request.method == "GET":
        try:
            page = flow.begin(request.args.to_dict())
        except CscError as err:
            if err.redirectable:
                return redirect(_error_redirect(err))
            return _error_page(err)
        return render_template("csc/authorize.html", page=page, version=version), 200
    pending = request.form.get("pending", "")
    try:
        credential = json.loads(request.form.get("credential") or "null")
        if not isinstance(credential, dict):
            raise CscError("access_denied", "The security key was not used")
        return redirect(flow.finish(pending, credential, ip=request.remote_addr or ""))
    except (CscError, ValueError) as err:
        refusal = err if isinstance(err, CscError) else CscError("invalid_request", "The answer is not JSON")
        target = flow.redirect_error(pending, refusal) if refusal.redirectable else None
        return redirect(target) if target else _error_page(refusal)


def _error_redirect(err: CscError) -> str:
    uri = request.args.get("redirect_uri", "")
    values = {"error": err.error, "error_description": err.description, "state": request.args.get("state")}
    return uri + ("&" if "?" in uri else "?") + urlencode({k: v for k, v in values.items() if v is not None})


def _error_page(err: CscError) -> tuple[str, int]:
    return render_template("csc/error.html", error=err), err.status if err.status != 401 else 400
