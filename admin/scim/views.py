"""HTTP: SCIM 2.0 at ``/scim/v2`` (RFC 7644), for provisioning clients.

Every request carries an access token of the platform's provider issued by the client_credentials grant with the
scope ``scim``; the client acts as ``client:<client_id>``, held by its grants (``provisioner`` on a unit) like an
administrator. Views translate HTTP to :mod:`admin.scim.users` / :mod:`admin.scim.groups` and back; every error is
SCIM's error JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, json, request

from admin.delegation import Actor
from admin.errors import AdminError, TakenError
from admin.models import client_subject
from admin.scim.errors import ScimError
from admin.scim.groups import ScimGroups
from admin.scim.schemas import resource_types, schemas, service_provider_config
from admin.scim.users import ScimUsers, UsersPage
from admin.units import Units
from antin.kernel.web import exempt_blueprint
from directory.errors import DirectoryError, InvalidInputError, PasswordPolicyError
from signing.auth import AccessTokenVerifier, TokenError

__all__ = ["SCIM_SCOPE", "bp", "register"]

log = logging.getLogger(__name__)

SCIM_SCOPE = "scim"
EXTENSION_KEY = "antin.admin.scim"
MEDIA_TYPE = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
DEFAULT_COUNT = 100
MAX_COUNT = 500

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")


class ScimState:
    def __init__(
        self,
        users: ScimUsers,
        groups: ScimGroups,
        units: Units,
        verifier: AccessTokenVerifier,
        client_exists: Callable[[str], bool],
    ) -> None:
        self.users = users
        self.units = units
        self.groups = groups
        self.verifier = verifier
        self.client_exists = client_exists
        self.base_url = users.base_url


def register(app: Flask, state: ScimState) -> None:
    app.extensions[EXTENSION_KEY] = state
    app.register_blueprint(bp)
    if "antin.csrf_exempt_blueprints" in app.extensions:
        exempt_blueprint(app, bp)  # bearer tokens only


def _state() -> ScimState:
    state = current_app.extensions[EXTENSION_KEY]
    assert isinstance(state, ScimState)
    return state


def scim_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(dict(headers or {}))
    return response


def error_response(
    status: int, detail: str, scim_type: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return scim_response(body, status, headers)


@bp.errorhandler(ScimError)
def _scim_error(err: ScimError) -> Response:
    return error_response(err.status, err.detail, err.scim_type)


@bp.errorhandler(TokenError)
def _token_error(err: TokenError) -> Response:
    return error_response(err.status, err.description, None, err.headers)


@bp.errorhandler(AdminError)
def _admin_error(err: AdminError) -> Response:
    scim_type = "uniqueness" if isinstance(err, TakenError) else "invalidValue" if err.status == 400 else None
    if err.status == 404:
        return error_response(404, "no such resource within this client's units")  # a stranger reads like nobody
    return error_response(err.status, str(err), scim_type)


@bp.errorhandler(InvalidInputError)
def _invalid_input(err: InvalidInputError) -> Response:
    return error_response(400, str(err), "invalidValue")


@bp.errorhandler(PasswordPolicyError)
def _password_policy(err: PasswordPolicyError) -> Response:
    return error_response(400, str(err), "invalidValue")


@bp.errorhandler(DirectoryError)
def _directory_error(err: DirectoryError) -> Response:
    log.warning("directory error during a SCIM request: %s", err)
    return error_response(503, "the directory cannot be reached; try again")


@bp.errorhandler(404)
def _no_route(_err: Exception) -> Response:
    return error_response(404, "no such endpoint")


@bp.errorhandler(405)
def _no_method(_err: Exception) -> Response:
    return error_response(405, "method not allowed on this endpoint")


@bp.before_request
def _authenticate() -> None:
    """A client_credentials token with the scope ``scim`` of a client that still exists."""
    state = _state()
    verifier = state.verifier
    token = verifier.verify(
        request.headers.get("Authorization"),
        SCIM_SCOPE,
        method=request.method,
        url=verifier.resource_url(request.path),
        dpop_proofs=request.headers.getlist("DPoP"),
    )
    if not token.client_id or token.subject != token.client_id:
        raise ScimError(403, "SCIM takes a provisioning client's own token (the client_credentials grant)")
    if not state.client_exists(token.client_id):
        raise TokenError("invalid_token", "the token's client no longer exists", scheme=token.scheme)
    g.scim_actor = Actor(client_subject(token.client_id))


def _actor() -> Actor:
    actor = g.scim_actor
    assert isinstance(actor, Actor)
    return actor


def _body() -> Any:
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise ScimError.invalid_value("the body must be JSON")
    return body


def _resource(body: dict[str, Any], status: int = 200) -> Response:
    headers = {"ETag": body["meta"]["version"]}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    return scim_response(_project(body, _attr_list("attributes"), _attr_list("excludedAttributes")), status, headers)


def _attr_list(name: str, source: Mapping[str, Any] | None = None) -> list[str]:
    raw = (source or request.args).get(name)
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return [str(i).strip().lower() for i in items if str(i).strip()]


def _project(resource: dict[str, Any], attributes: list[str], excluded: list[str]) -> dict[str, Any]:
    """RFC 7644 §3.4.2.5: only ``attributes`` (with id and schemas, always returned), or all but ``excluded``."""

    def short(name: str) -> str:
        for prefix in ("urn:ietf:params:scim:schemas:core:2.0:user:", "urn:ietf:params:scim:schemas:core:2.0:group:"):
            if name.startswith(prefix):
                return name[len(prefix) :]
        return name

    def keep(key: str, wanted: list[str]) -> list[str] | None:
        """None: the whole attribute; a list: only these sub-attributes (empty: not at all)."""
        lowered = key.lower()
        subs = []
        for name in map(short, wanted):
            if name == lowered:
                return None
            if name.startswith(lowered + ".") or name.startswith(lowered + ":"):
                subs.append(name[len(lowered) + 1 :])
        return subs

    if attributes:
        result: dict[str, Any] = {}
        for key, value in resource.items():
            if key in ("id", "schemas"):
                result[key] = value
                continue
            subs = keep(key, attributes)
            if subs is None:
                result[key] = value
            elif subs and isinstance(value, dict):
                result[key] = {k: v for k, v in value.items() if k.lower() in subs}
        return result
    if excluded:
        result = {}
        for key, value in resource.items():
            subs = keep(key, excluded)
            if key in ("id", "schemas") or subs == []:
                result[key] = value
            elif subs and isinstance(value, dict):
                result[key] = {k: v for k, v in value.items() if k.lower() not in subs}
        return result
    return resource


def _paging(source: Mapping[str, Any]) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = source.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ScimError.invalid_value(f"{name} must be a whole number") from None

    start = max(1, number("startIndex", 1))  # RFC 7644 §3.4.2.4: below 1 is read as 1
    count = min(max(0, number("count", DEFAULT_COUNT)), MAX_COUNT)
    return start, count


def _list(page: UsersPage, start: int, source: Mapping[str, Any]) -> Response:
    attributes, excluded = _attr_list("attributes", source), _attr_list("excludedAttributes", source)
    return scim_response(
        {
            "schemas": [LIST],
            "totalResults": page.total,
            "startIndex": start,
            "itemsPerPage": len(page.resources),
            "Resources": [_project(r, attributes, excluded) for r in page.resources],
        }
    )


def _search_body() -> dict[str, Any]:
    body = _body()
    if not isinstance(body, dict) or SEARCH not in (body.get("schemas") or []):
        raise ScimError.invalid_value(f"a search body is a {SEARCH} message")
    return body


# -- discovery ------------------------------------------------------------------------------------------------


@bp.get("/ServiceProviderConfig")
def get_service_provider_config() -> Response:
    return scim_response(service_provider_config(_state().base_url, MAX_COUNT))


MAX_DEPARTMENTS = 500


def _departments() -> list[str] | None:
    """The unit codes this client may place officials in, when few enough to list in its schema."""
    state = _state()
    try:
        units = state.units.list_units(_actor())
    except AdminError:
        return None
    return [u.code for u in units] if len(units) <= MAX_DEPARTMENTS else None


@bp.get("/Schemas")
def list_schemas() -> Response:
    found = schemas(_state().base_url, _departments())
    return scim_response(
        {"schemas": [LIST], "totalResults": len(found), "startIndex": 1, "itemsPerPage": len(found), "Resources": found}
    )


@bp.get("/Schemas/<path:schema_id>")
def get_schema(schema_id: str) -> Response:
    for schema in schemas(_state().base_url, _departments()):
        if schema["id"] == schema_id:
            return scim_response(schema)
    raise ScimError(404, f"no schema {schema_id!r}")


@bp.get("/ResourceTypes")
def list_resource_types() -> Response:
    found = resource_types(_state().base_url)
    return scim_response(
        {"schemas": [LIST], "totalResults": len(found), "startIndex": 1, "itemsPerPage": len(found), "Resources": found}
    )


@bp.get("/ResourceTypes/<type_id>")
def get_resource_type(type_id: str) -> Response:
    for resource_type in resource_types(_state().base_url):
        if resource_type["id"] == type_id:
            return scim_response(resource_type)
    raise ScimError(404, f"no resource type {type_id!r}")


# -- users and groups -----------------------------------------------------------------------------------------


def _kind(name: str) -> ScimUsers | ScimGroups:
    state = _state()
    return state.users if name == "Users" else state.groups


@bp.get("/<any(Users, Groups):kind>")
def list_resources(kind: str) -> Response:
    start, count = _paging(request.args)
    return _list(_kind(kind).search(_actor(), request.args.get("filter"), start, count), start, request.args)


@bp.post("/<any(Users, Groups):kind>/.search")
def search_resources(kind: str) -> Response:
    body = _search_body()
    start, count = _paging(body)
    text = body.get("filter")
    if text is not None and not isinstance(text, str):
        raise ScimError.invalid_filter("filter must be a string")
    return _list(_kind(kind).search(_actor(), text, start, count), start, body)


@bp.post("/<any(Users, Groups):kind>")
def create_resource(kind: str) -> Response:
    return _resource(_kind(kind).create(_actor(), _body()), 201)


@bp.get("/<any(Users, Groups):kind>/<resource_id>")
def get_resource(kind: str, resource_id: str) -> Response:
    return _resource(_kind(kind).get(_actor(), resource_id))


@bp.put("/<any(Users, Groups):kind>/<resource_id>")
def replace_resource(kind: str, resource_id: str) -> Response:
    return _resource(_kind(kind).replace(_actor(), resource_id, _body(), request.headers.get("If-Match")))


@bp.patch("/<any(Users, Groups):kind>/<resource_id>")
def patch_resource(kind: str, resource_id: str) -> Response:
    return _resource(_kind(kind).patch(_actor(), resource_id, _body(), request.headers.get("If-Match")))


@bp.delete("/<any(Users, Groups):kind>/<resource_id>")
def delete_resource(kind: str, resource_id: str) -> Response:
    _kind(kind).delete(_actor(), resource_id, request.headers.get("If-Match"))
    return Response(status=204)


@bp.post("/.search")
def search_everything() -> Response:
    """RFC 7644 §3.4.3: a search at the root, over users and then groups."""
    body = _search_body()
    start, count = _paging(body)
    text = body.get("filter")
    if text is not None and not isinstance(text, str):
        raise ScimError.invalid_filter("filter must be a string")
    state = _state()
    users = state.users.search(_actor(), text, 1, MAX_COUNT * 10)
    groups = state.groups.search(_actor(), text, 1, MAX_COUNT * 10)
    found = users.resources + groups.resources
    page = UsersPage(users.total + groups.total, found[start - 1 : start - 1 + count] if count else [])
    return _list(page, start, body)


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def no_such_endpoint(anything: str) -> Response:
    """Any other path or method under /scim/v2 answers SCIM's error, not the site's page."""
    parts = anything.split("/")
    if parts[0] in ("ServiceProviderConfig", "Schemas", "ResourceTypes", "Users", "Groups") and len(parts) <= 2:
        raise ScimError(405, f"{request.method} is not allowed on /{anything}")
    raise ScimError(404, "no such endpoint")
