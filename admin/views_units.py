"""HTTP: the units and groups of ``/api/admin`` (routes of :data:`admin.views.bp`, authenticated there)."""

from __future__ import annotations

from flask import Response, jsonify, request

from admin.groups import GroupView
from admin.units import unit_etag, unit_json
from admin.views import actor, bp, if_match, json_body, state, text_field, with_etag
from directory.errors import InvalidInputError
from directory.models import Unit

__all__: list[str] = []


def _unit(unit: Unit, status: int = 200) -> Response:
    response = jsonify(unit_json(unit))
    response.status_code = status
    return with_etag(response, unit_etag(unit))


def _group(view: GroupView, status: int = 200) -> Response:
    response = jsonify(view.as_json())
    response.status_code = status
    return with_etag(response, view.etag)


@bp.get("/units")
def list_units() -> Response:
    """The units within the caller's reach (or under ``unit``): a flat list, or ``?tree=true`` nested."""
    under = request.args.get("unit") or None
    units = state().service.units
    if request.args.get("tree") in ("1", "true"):
        return jsonify({"tree": [t.as_json() for t in units.tree(actor(), under)]})
    return jsonify({"items": [unit_json(u) for u in units.list_units(actor(), under)]})


@bp.post("/units")
def create_unit() -> Response:
    body = json_body()
    parent = text_field(body, "parent")
    unit = state().service.units.create(
        actor(),
        text_field(body, "code", required=True) or "",
        text_field(body, "name", required=True) or "",
        text_field(body, "kind") or "other",
        None if parent in (None, "*") else parent,
        text_field(body, "description") or "",
    )
    response = _unit(unit, 201)
    response.headers["Location"] = f"/api/admin/units/{unit.code}"
    return response


@bp.get("/units/<code>")
def get_unit(code: str) -> Response:
    return _unit(state().service.units.get(actor(), code))


@bp.patch("/units/<code>")
def rename_unit(code: str) -> Response:
    """Rename a unit or change its description. If-Match is required."""
    state().service.units.get(actor(), code)  # a stranger's unit reads like none before the body is judged
    body = json_body()
    unknown = set(body) - {"name", "description"}
    if unknown:
        raise InvalidInputError(sorted(unknown)[0], "cannot be changed here")
    unit = state().service.units.rename(
        actor(),
        code,
        name=text_field(body, "name"),
        description=text_field(body, "description"),
        if_match=if_match(),
        required=True,
    )
    return _unit(unit)


@bp.post("/units/<code>/move")
def move_unit(code: str) -> Response:
    """Move a unit with its subtree and people under ``parent`` (both within reach)."""
    parent = text_field(json_body(), "parent", required=True)
    unit = state().service.units.move(actor(), code, None if parent == "*" else parent, if_match=if_match())
    return _unit(unit)


@bp.get("/groups")
def list_groups() -> Response:
    views = state().service.groups.list_groups(actor(), request.args.get("unit") or None)
    return jsonify({"items": [v.as_json() for v in views]})


@bp.post("/groups")
def create_group() -> Response:
    """A group (or with ``"role": true`` a role) of a unit within reach."""
    body = json_body()
    unit = text_field(body, "unit")
    is_role = body.get("role", False)
    if not isinstance(is_role, bool):
        raise InvalidInputError("role", "must be true or false")
    view = state().service.groups.create(
        actor(),
        text_field(body, "name", required=True) or "",
        None if unit in (None, "*") else unit,
        text_field(body, "description") or "",
        is_role=is_role,
    )
    response = _group(view, 201)
    response.headers["Location"] = f"/api/admin/groups/{view.group.name}"
    return response


@bp.get("/groups/<cn>")
def get_group(cn: str) -> Response:
    return _group(state().service.groups.get(actor(), cn))


@bp.delete("/groups/<cn>")
def delete_group(cn: str) -> Response:
    """Delete a group; refused (409) while it has members outside the caller's reach."""
    state().service.groups.delete(actor(), cn, if_match=if_match())
    return Response(status=204)


@bp.get("/groups/<cn>/members")
def group_members(cn: str) -> Response:
    view = state().service.groups.get(actor(), cn)
    return with_etag(jsonify(view.as_json()["members"]), view.etag)


@bp.post("/groups/<cn>/members")
def add_group_member(cn: str) -> Response:
    """Add an official (``login``) or nest a group (``group``)."""
    body = json_body()
    login, group = text_field(body, "login"), text_field(body, "group")
    if (login is None) == (group is None):
        raise InvalidInputError("body", "give either login (an official) or group (a group to nest)")
    groups = state().service.groups
    if group is not None:
        return _group(groups.add_group(actor(), cn, group, if_match=if_match()))
    return _group(groups.add_member(actor(), cn, login or "", if_match=if_match()))


@bp.delete("/groups/<cn>/members/<login>")
def remove_group_member(cn: str, login: str) -> Response:
    return _group(state().service.groups.remove_member(actor(), cn, login, if_match=if_match()))


@bp.delete("/groups/<cn>/groups/<member>")
def remove_nested_group(cn: str, member: str) -> Response:
    return _group(state().service.groups.remove_group(actor(), cn, member, if_match=if_match()))
