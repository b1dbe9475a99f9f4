"""HTTP: OIDC clients in ``/api/admin/clients`` (routes of :data:`admin.views.bp`, authenticated there).

A client is written in the names of OpenID Connect Dynamic Client Registration (RFC 7591: ``client_name``,
``redirect_uris``, ``scope`` space-separated, ``token_endpoint_auth_method``…) plus ours (``unit``, ``trusted``,
``public``, ``required_acr``, ``home_url``). A secret appears in one answer only (``client_secret``, with
``Cache-Control: no-store``): on registration, on rotation, and on the edit that makes a client start using one.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from admin.clients import ClientMetadataError, client_etag
from admin.officials import DEFAULT_PAGE
from admin.views import _int_arg, actor, bp, if_match, json_body, state, with_etag
from idp.oidc import normalise_acr
from idp.oidc.clients import ClientRecord, ClientSpec

__all__ = ["spec_changes"]

# the API's name of each field → ClientSpec's
_STRINGS = {
    "client_name": "name",
    "backchannel_logout_uri": "backchannel_logout_uri",
    "token_endpoint_auth_method": "auth_method",
    "required_acr": "required_acr",
    "home_url": "home_url",
    "jwks_uri": "jwks_uri",
    "unit": "unit_code",
}
_LISTS = {
    "redirect_uris": "redirect_uris",
    "post_logout_redirect_uris": "post_logout_redirect_uris",
    "grant_types": "grant_types",
}
_FLAGS = {"trusted": "trusted", "public": "public"}
_KNOWN = {*_STRINGS, *_LISTS, *_FLAGS, "scope"}


def spec_changes(body: dict[str, Any]) -> dict[str, Any]:
    """The ClientSpec fields a JSON body names, checked for type; ``null`` clears an optional string or a list."""
    unknown = set(body) - _KNOWN
    if unknown:
        raise ClientMetadataError(sorted(unknown)[0], "is not a field of a client that can be set")
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name in _STRINGS:
            if value is not None and not isinstance(value, str):
                raise ClientMetadataError(name, "must be a string")
            changes[_STRINGS[name]] = value.strip() or None if isinstance(value, str) else None
        elif name in _LISTS:
            items = [] if value is None else value
            if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
                raise ClientMetadataError(name, "must be an array of strings")
            changes[_LISTS[name]] = tuple(v.strip() for v in items if v.strip())
        elif name in _FLAGS:
            if not isinstance(value, bool):
                raise ClientMetadataError(name, "must be true or false")
            changes[_FLAGS[name]] = value
        else:  # scope
            if not isinstance(value, str):
                raise ClientMetadataError("scope", "must be a string of space-separated scopes")
            changes["scopes"] = tuple(value.split())
    if changes.get("required_acr"):
        changes["required_acr"] = normalise_acr(changes["required_acr"])
    if "name" in changes and changes["name"] is None:
        raise ClientMetadataError("client_name", "must not be empty")
    if "public" in changes and "auth_method" not in changes:
        changes["auth_method"] = None  # the kind's default: none for a public client, a secret otherwise
    return changes


def _client(record: ClientRecord, status: int = 200, secret: str | None = None) -> Response:
    document = _document(record, state().service.clients.orphaned(record))
    if secret is not None:
        document["client_secret"] = secret
    response = jsonify(document)
    response.status_code = status
    if secret is not None:
        response.headers["Cache-Control"] = "no-store"  # shown this once: the platform keeps only a digest
    return with_etag(response, client_etag(record))


@bp.get("/clients")
def list_clients() -> Response:
    unit = request.args.get("unit") or None
    clients = state().service.clients
    page = clients.page(
        actor(),
        request.args.get("q", ""),
        unit=unit,
        cursor=request.args.get("cursor") or None,
        size=_int_arg("size", DEFAULT_PAGE),
    )
    orphaned = clients.orphaned_ids(list(page.items))  # the page's units only: one search of a page's codes
    return jsonify({"items": [_document(r, r.client_id in orphaned) for r in page.items], "next_cursor": page.cursor})


def _document(record: ClientRecord, orphaned: bool) -> dict[str, Any]:
    """A client as the API shows it: its registration, and whether its unit is gone (not part of its version)."""
    return {**record.as_json(), "orphaned": orphaned}


@bp.post("/clients")
def register_client() -> Response:
    body = json_body()
    clients = state().service.clients
    unit = body.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise ClientMetadataError("unit", "must be a string")
    unit_code = clients.unit_for_new(actor(), unit or None)  # a unit out of reach: 404 before the body is judged
    client_id = body.pop("client_id", None)
    if client_id is not None and not isinstance(client_id, str):
        raise ClientMetadataError("client_id", "must be a string")
    changes = spec_changes({k: v for k, v in body.items() if k != "unit"})
    if not changes.get("name"):
        raise ClientMetadataError("client_name", "is required")
    spec = ClientSpec(**{"name": "", **changes, "client_id": client_id})
    record, secret = clients.register(actor(), spec, unit=unit_code)
    response = _client(record, 201, secret)
    response.headers["Location"] = f"/api/admin/clients/{record.client_id}"
    return response


@bp.get("/clients/<client_id>")
def get_client(client_id: str) -> Response:
    return _client(state().service.clients.get(actor(), client_id))


@bp.patch("/clients/<client_id>")
def edit_client(client_id: str) -> Response:
    """Change fields of a client; If-Match is required (428 without, 412 when someone changed it meanwhile)."""
    clients = state().service.clients
    clients.get(actor(), client_id)  # another province's client reads like none before the body is judged
    changes = spec_changes(json_body())
    record, secret = clients.edit(actor(), client_id, changes, if_match=if_match(), required=True)
    return _client(record, 200, secret)


@bp.post("/clients/<client_id>/secret")
def rotate_client_secret(client_id: str) -> Response:
    """A new secret, in this answer only; the old one stops working at once."""
    record, secret = state().service.clients.rotate_secret(actor(), client_id, if_match=if_match())
    return _client(record, 200, secret)


@bp.post("/clients/<client_id>/disable")
def disable_client(client_id: str) -> Response:
    return _client(state().service.clients.set_disabled(actor(), client_id, True, if_match=if_match()))


@bp.post("/clients/<client_id>/enable")
def enable_client(client_id: str) -> Response:
    return _client(state().service.clients.set_disabled(actor(), client_id, False, if_match=if_match()))
