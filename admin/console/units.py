"""Console pages for units: the tree within the administrator's reach, a child unit created, a unit renamed or moved
with its subtree. Every change goes through :class:`~admin.units.Units` (delegation, audit, versions); a refused form
comes back with what was typed and the reason, and nothing is changed."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.official_changes import unit_choices
from admin.console.pages import actor, bp, page, state
from admin.errors import ConflictError, OutOfReachError, PreconditionFailedError
from admin.models import AdminAction
from admin.units import unit_etag
from directory.errors import InvalidInputError
from directory.models import UnitKind

__all__: list[str] = []


def kind_names() -> dict[str, str]:
    return {
        UnitKind.CENTRAL_ORGAN.value: _("central organ"),
        UnitKind.CENTRAL_COMMITTEE_OFFICE.value: _("Central Committee office"),
        UnitKind.PROVINCIAL_COMMITTEE.value: _("provincial committee"),
        UnitKind.MUNICIPAL_COMMITTEE.value: _("municipal committee"),
        UnitKind.PARTY_COMMITTEE.value: _("party committee"),
        UnitKind.DEPARTMENT.value: _("department"),
        UnitKind.COMMUNE_COMMITTEE.value: _("commune committee"),
        UnitKind.WARD_COMMITTEE.value: _("ward committee"),
        UnitKind.PARTY_CELL.value: _("party cell"),
        UnitKind.OTHER.value: _("other"),
    }


@bp.get("/units")
def units() -> tuple[str, int]:
    under = request.args.get("unit", "").strip() or None
    trees = state().service.units.tree(actor(), under)
    return page("console/units.html", trees=trees, under=under, kinds=kind_names())


@bp.route("/units/<code>/new", methods=["GET", "POST"])
def unit_new(code: str) -> Response | tuple[str, int]:
    service = state().service.units
    parent = service.get(actor(), code)
    state().service.delegation.authorize_unit(actor(), AdminAction.UNITS_WRITE, code)
    if request.method == "GET":
        return page("console/unit_new.html", parent=parent, kinds=kind_names(), values={}, problem=None)
    values = {name: request.form.get(name, "").strip() for name in ("code", "name", "kind", "description")}
    try:
        if not values["code"] or not values["name"]:
            raise InvalidInputError("code" if not values["code"] else "name", "is required")
        if values["kind"] not in kind_names():
            raise InvalidInputError("kind", "is not a kind of unit")
        unit = service.create(actor(), values["code"], values["name"], values["kind"], code, values["description"])
    except (ConflictError, InvalidInputError) as err:
        status = 409 if isinstance(err, ConflictError) else 400
        problem = _("This cannot be done.")
        return page(
            "console/unit_new.html",
            status,
            parent=parent,
            kinds=kind_names(),
            values=values,
            problem=problem,
            problem_detail=str(err),
        )
    flash(_("%(name)s is created under %(parent)s.", name=unit.name, parent=parent.name))
    return redirect(url_for("console.units", _anchor=f"unit-{unit.code}"))


@bp.route("/units/<code>/rename", methods=["GET", "POST"])
def unit_rename(code: str) -> Response | tuple[str, int]:
    service = state().service.units
    unit = service.get(actor(), code)
    state().service.delegation.authorize_unit(actor(), AdminAction.UNITS_WRITE, code)
    if request.method == "GET":
        return page("console/unit_rename.html", unit=unit, name=unit.name, version=unit_etag(unit), problem=None)
    name = request.form.get("name", "").strip()
    try:
        if not name:
            raise InvalidInputError("name", "is required")
        renamed = service.rename(actor(), code, name=name, if_match=request.form.get("version", ""), required=True)
    except PreconditionFailedError:
        current = service.get(actor(), code)
        problem = _(
            "Someone changed this unit meanwhile: its name is now “%(name)s”. Nothing was saved.", name=current.name
        )
        return page(
            "console/unit_rename.html", 412, unit=current, name=name, version=unit_etag(current), problem=problem
        )
    except InvalidInputError as err:
        problem = _("This cannot be done.")
        return page(
            "console/unit_rename.html",
            400,
            unit=unit,
            name=name,
            version=unit_etag(unit),
            problem=problem,
            problem_detail=str(err),
        )
    flash(_("The unit is now called %(name)s.", name=renamed.name))
    return redirect(url_for("console.units", _anchor=f"unit-{renamed.code}"))


@bp.route("/units/<code>/move", methods=["GET", "POST"])
def unit_move(code: str) -> Response | tuple[str, int]:
    service = state().service.units
    unit = service.get(actor(), code)
    state().service.delegation.authorize_unit(actor(), AdminAction.UNITS_WRITE, code)
    # a unit cannot go under itself or its own subtree: those are not offered (the directory refuses them too)
    inside = {u.code for u in service.list_units(actor(), code)}
    choices = [(u, depth) for u, depth in unit_choices() if u.code not in inside]
    units_moving, officials_moving = service.subtree_size(actor(), code)
    sizes = {"units_moving": units_moving, "officials_moving": officials_moving}
    if request.method == "GET":
        return page("console/unit_move.html", unit=unit, units=choices, version=unit_etag(unit), problem=None, **sizes)
    parent = request.form.get("parent", "").strip()
    try:
        if not parent:
            raise InvalidInputError("parent", "is required")
        moved = service.move(actor(), code, parent, if_match=request.form.get("version") or None)
    except (PreconditionFailedError, ConflictError, InvalidInputError, OutOfReachError) as err:
        if isinstance(err, OutOfReachError) and err.name != parent:
            raise
        status = getattr(err, "status", 400)
        problem = _("This cannot be done.")
        current = service.get(actor(), code)
        return page(
            "console/unit_move.html",
            status,
            unit=current,
            units=choices,
            version=unit_etag(current),
            problem=problem,
            problem_detail=str(err),
            **sizes,
        )
    flash(_("%(name)s and everything under it now belong under %(parent)s.", name=moved.name, parent=parent))
    return redirect(url_for("console.units", _anchor=f"unit-{moved.code}"))
