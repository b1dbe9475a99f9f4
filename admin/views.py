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
from admin.errors import AdminError, PreconditionFailedError
from admin.officials import DEFAULT_PAGE, NewOfficial, WithPassword, person_etag, person_json
from admin.service import AdminService
from antin.kernel.errors import problem_response
from antin.kernel.web import exempt_blueprint
from directory.errors import DirectoryError, InvalidInputError, NotFoundError, PasswordPolicyError
from directory.models import AccountStatus, Person, PersonChanges
from signing.auth import AccessTokenVerifier, TokenError

__all__ = ["ADMIN_SCOPE", "EXTENSION_KEY", "bp", "csv_body", "json_body", "register", "state", "with_etag"]

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


def state() -> AdminApiState:
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
    titles = {
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        412: "Precondition Failed",
        413: "Content Too Large",
        428: "Precondition Required",
    }
    headers = {"ETag": err.current} if isinstance(err, PreconditionFailedError) else None
    return problem(err.status, err.code, titles.get(err.status, "Bad Request"), str(err), headers)


@bp.errorhandler(PasswordPolicyError)
def _password_policy(err: PasswordPolicyError) -> Response:
    return problem(400, "password-policy", "Bad Request", str(err))


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
    api = state()
    verifier = api.verifier
    token = verifier.verify(
        request.headers.get("Authorization"),
        ADMIN_SCOPE,
        method=request.method,
        url=verifier.resource_url(request.path),
        dpop_proofs=request.headers.getlist("DPoP"),
    )
    person = api.service.officials.directory.find_by_uuid(token.subject)
    if person is None or not person.active:
        # a disabled administrator's tokens stop here at once, whatever the revocation cache says
        raise TokenError("invalid_token", "the token's official is not an active account", scheme=token.scheme)
    g.admin_actor = api.service.actor(token.subject)


def actor() -> Actor:
    actor = g.admin_actor
    assert isinstance(actor, Actor)
    return actor


def json_body(*, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object (``{}`` for an optional body left out)."""
    if optional and not request.content_length:
        return {}
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInputError("body", "must be a JSON object (Content-Type: application/json)")
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInputError(name, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidInputError(name, "must be a string")
    return value


def with_etag(response: Response, etag: str) -> Response:
    response.headers["ETag"] = etag
    return response


def if_match() -> str | None:
    return request.headers.get("If-Match")


def _official(person: Person, status: int = 200) -> Response:
    response = jsonify(person_json(person))
    response.status_code = status
    return with_etag(response, person_etag(person))


def _with_password(result: WithPassword, status: int) -> Response:
    """An official and the password just made for them: shown this once, so never cached."""
    response = jsonify({**person_json(result.person), "password": result.password, "delivered": result.delivered})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return with_etag(response, person_etag(result.person))


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
    page = state().service.officials.search(
        actor(),
        request.args.get("q", ""),
        unit=request.args.get("unit") or None,
        cursor=request.args.get("cursor") or None,
        size=_int_arg("size", DEFAULT_PAGE),
    )
    return jsonify({"items": [person_json(p) for p in page.items], "next_cursor": page.cursor})


@bp.post("/officials")
def create_official() -> Response:
    body = json_body()
    unit = text_field(body, "unit")
    status = text_field(body, "status") or AccountStatus.ACTIVE.value
    if status not in {s.value for s in AccountStatus}:
        raise InvalidInputError("status", "must be active, suspended or retired")
    new = NewOfficial(
        login=text_field(body, "login", required=True) or "",
        full_name=text_field(body, "full_name", required=True) or "",
        unit_code=None if unit in (None, "*") else unit,
        password=text_field(body, "password"),
        status=AccountStatus(status),
        **{name: text_field(body, name) for name in _OPTIONAL_FIELDS},
    )
    result = state().service.officials.create(actor(), new)
    response = _with_password(result, 201)
    response.headers["Location"] = f"/api/admin/officials/{result.person.uid}"
    return response


_OPTIONAL_FIELDS = ("mail", "phone", "employee_number", "party_card_number", "position")


@bp.get("/officials/<login>")
def get_official(login: str) -> Response:
    return _official(state().service.officials.get(actor(), login))


@bp.patch("/officials/<login>")
def edit_official(login: str) -> Response:
    """Change fields of an official; ``null`` or ``""`` removes an optional one. If-Match is required."""
    state().service.officials.get(actor(), login)  # a stranger reads like nobody before the body is judged
    body = json_body()
    unknown = set(body) - {"full_name", *_OPTIONAL_FIELDS}
    if unknown:
        raise InvalidInputError(sorted(unknown)[0], "cannot be changed here (unit: /move, password: /password)")
    values = {
        name: ("" if name in body and body[name] is None else text_field(body, name)) for name in _OPTIONAL_FIELDS
    }
    full_name = text_field(body, "full_name")
    changes = PersonChanges(full_name=full_name, **values)
    person = state().service.officials.edit(actor(), login, changes, if_match=if_match(), required=True)
    return _official(person)


@bp.post("/officials/<login>/move")
def move_official(login: str) -> Response:
    unit = text_field(json_body(), "unit", required=True) or ""
    return _official(state().service.officials.move(actor(), login, unit, if_match=if_match()))


@bp.post("/officials/<login>/unlock")
def unlock_official(login: str) -> Response:
    return _official(state().service.officials.unlock(actor(), login, if_match=if_match()))


@bp.post("/officials/<login>/password")
def reset_password(login: str) -> Response:
    """A new password made by the platform, to change at the next login: in this answer only, or e-mailed to the
    official with ``{"deliver": "mail"}`` (then ``password`` is null)."""
    body: Any = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise InvalidInputError("body", "must be a JSON object")
    deliver = body.get("deliver", "show")
    if deliver not in ("show", "mail"):
        raise InvalidInputError("deliver", "show or mail")
    officials = state().service.officials
    return _with_password(officials.reset_password(actor(), login, if_match=if_match(), deliver=deliver), 200)


@bp.post("/officials/<login>/disable")
def disable_official(login: str) -> Response:
    body: Any = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise InvalidInputError("body", "must be a JSON object")
    status = body.get("status", AccountStatus.SUSPENDED.value)
    if status not in (AccountStatus.SUSPENDED.value, AccountStatus.RETIRED.value):
        raise InvalidInputError("status", "must be suspended or retired")
    person = state().service.officials.disable(actor(), login, AccountStatus(status), if_match=if_match())
    return _official(person)


@bp.post("/officials/<login>/enable")
def enable_official(login: str) -> Response:
    return _official(state().service.officials.enable(actor(), login, if_match=if_match()))


@bp.post("/imports")
def import_officials() -> Response:
    """A CSV of officials (text/csv): ``dry_run=true`` (the default) reports each row, ``false`` imports."""
    dry_run = _bool_arg("dry_run", default=True)
    skip_refused = _bool_arg("skip_refused", default=False)
    body = csv_body()
    imports = state().service.imports
    report = imports.preview(actor(), body) if dry_run else imports.apply(actor(), body, skip_refused=skip_refused)
    return jsonify(report.as_json())


def csv_body() -> bytes:
    """The request's CSV file, refused whole when not sent as CSV or over the size limit."""
    from admin.imports import MAX_IMPORT_BYTES, BadImportFileError, ImportTooLargeError

    mimetype = request.mimetype
    if mimetype not in ("text/csv", "application/csv", "text/plain"):
        raise BadImportFileError(f"send the file as text/csv, not {mimetype or 'no content type'}")
    if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES:
        raise ImportTooLargeError(f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MiB: split it")
    return request.stream.read(MAX_IMPORT_BYTES + 1)


def _bool_arg(name: str, *, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise InvalidInputError(name, "must be true or false")
    return raw.lower() == "true"
