"""HTTP: the admin REST API (``/api/admin``), bearer access tokens with the scope ``admin``.

Every request is authenticated before any view runs (the blueprint's ``before_request``); what the caller may do
is then decided by the service, on the target's unit. Views only translate HTTP to calls of
:class:`~admin.service.AdminService` and back; errors are RFC 9457 ``application/problem+json``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from admin.delegation import Actor
from admin.errors import AdminError
from admin.officials import DEFAULT_PAGE, person_json
from admin.service import AdminService
from antin.kernel.errors import problem_response
from antin.kernel.web import exempt_blueprint
from directory.errors import DirectoryError, InvalidInputError, NotFoundError
from directory.models import AccountStatus
from signing.auth import AccessTokenVerifier, TokenError

__all__ = ["ADMIN_SCOPE", "EXTENSION_KEY", "bp", "register"]

log = logging.getLogger(__name__)

ADMIN_SCOPE = "admin"
EXTENSION_KEY = "antin.admin.api"

bp = Blueprint("admin_api", __name__, url_prefix="/api/admin")


class AdminApiState:
    def __init__(self, service: AdminService, verifier: AccessTokenVerifier) -> None:
        self.service = service
        self.verifier = verifier


def register(app: Flask, service: AdminService, verifier: AccessTokenVerifier) -> None:
    app.extensions[EXTENSION_KEY] = AdminApiState(service, verifier)
    app.register_blueprint(bp)
    if "antin.csrf_exempt_blueprints" in app.extensions:
        exempt_blueprint(app, bp)  # bearer tokens only, no cookie: a request without a token gets 401


def _state() -> AdminApiState:
    state = current_app.extensions[EXTENSION_KEY]
    assert isinstance(state, AdminApiState)
    return state


def problem(status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    response = problem_response(status, title, detail, type_=f"urn:antin:problem:{code}")
    response.headers.update(headers or {})
    return response


@bp.errorhandler(TokenError)
def _token_error(err: TokenError) -> Response:
    title = "Unauthorized" if err.status == 401 else "Forbidden"
    return problem(err.status, err.error.replace("_", "-"), title, err.description, err.headers)


@bp.errorhandler(AdminError)
def _admin_error(err: AdminError) -> Response:
    titles = {403: "Forbidden", 404: "Not Found", 409: "Conflict"}
    return problem(err.status, err.code, titles.get(err.status, "Bad Request"), str(err))


@bp.errorhandler(InvalidInputError)
def _invalid_input(err: InvalidInputError) -> Response:
    return problem(400, "invalid-input", "Bad Request", str(err))


@bp.errorhandler(NotFoundError)
def _not_found(err: NotFoundError) -> Response:
    return problem(404, "not-found", "Not Found", str(err))


@bp.errorhandler(DirectoryError)
def _directory_error(err: DirectoryError) -> Response:
    log.warning("directory error during an admin request: %s", err)
    return problem(503, "directory-unavailable", "Directory unavailable", "the directory cannot be reached; try again")


@bp.before_request
def _authenticate() -> None:
    """Every route of the blueprint needs an access token with the scope ``admin`` of an active official."""
    state = _state()
    verifier = state.verifier
    token = verifier.verify(
        request.headers.get("Authorization"),
        ADMIN_SCOPE,
        method=request.method,
        url=verifier.resource_url(request.path),
        dpop_proofs=request.headers.getlist("DPoP"),
    )
    person = state.service.officials.directory.find_by_uuid(token.subject)
    if person is None or not person.active:
        # a disabled administrator's tokens stop here at once, whatever the revocation cache says
        raise TokenError("invalid_token", "the token's official is not an active account", scheme=token.scheme)
    g.admin_actor = state.service.actor(token.subject)


def _actor() -> Actor:
    actor = g.admin_actor
    assert isinstance(actor, Actor)
    return actor


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInputError(name, "must be a whole number") from None


@bp.get("/officials")
def search_officials() -> Response:
    page = _state().service.officials.search(
        _actor(),
        request.args.get("q", ""),
        unit=request.args.get("unit") or None,
        cursor=request.args.get("cursor") or None,
        size=_int_arg("size", DEFAULT_PAGE),
    )
    return jsonify({"items": [person_json(p) for p in page.items], "next_cursor": page.cursor})


@bp.get("/officials/<login>")
def get_official(login: str) -> Response:
    return jsonify(person_json(_state().service.officials.get(_actor(), login)))


@bp.post("/officials/<login>/disable")
def disable_official(login: str) -> Response:
    body: Any = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise InvalidInputError("body", "must be a JSON object")
    status = body.get("status", AccountStatus.SUSPENDED.value)
    if status not in (AccountStatus.SUSPENDED.value, AccountStatus.RETIRED.value):
        raise InvalidInputError("status", "must be suspended or retired")
    person = _state().service.officials.disable(_actor(), login, AccountStatus(status))
    return jsonify(person_json(person))


@bp.post("/officials/<login>/enable")
def enable_official(login: str) -> Response:
    return jsonify(person_json(_state().service.officials.enable(_actor(), login)))
