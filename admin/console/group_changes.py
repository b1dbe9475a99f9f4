"""Console pages that create and delete groups and nest one group in another. Every change goes through
:class:`~admin.groups.Groups`: the group's unit (and a nested group's) must be within the administrator's reach for
``groups:manage``; a group with members outside it cannot be deleted by them (409, said on the page). Deleting and
taking a group out of another ask for a confirmation first; deleting carries the version read, so a member added
meanwhile is not deleted unseen (412)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.official_changes import unit_choices
from admin.console.pages import actor, bp, holds, page, page_of, state
from admin.errors import ConflictError, NotPermittedError, OutOfReachError, PreconditionFailedError
from admin.models import ROOT_UNIT, AdminAction
from directory.errors import InvalidInputError

__all__: list[str] = []


def _everywhere() -> bool:
    return ROOT_UNIT in state().service.delegation.units_holding(actor(), AdminAction.GROUPS_MANAGE)


# "-" cannot begin a group name (directory.validation), so no group's page is ever shadowed by the form
@bp.route("/groups/-/new", methods=["GET", "POST"])
def group_new() -> Response | tuple[str, int]:
    if not holds(AdminAction.GROUPS_MANAGE):
        raise NotPermittedError(AdminAction.GROUPS_MANAGE.value)
    units = unit_choices(AdminAction.GROUPS_MANAGE)
    context: dict[str, Any] = {"units": units, "everywhere": _everywhere()}
    if request.method == "GET":
        preselected = request.args.get("unit", "").strip()
        if preselected:  # a unit named in the link must be one the administrator may make groups in
            state().service.delegation.authorize_unit(actor(), AdminAction.GROUPS_MANAGE, preselected)
        return page("console/group_new.html", values={"unit": preselected}, problem=None, **context)
    values = {name: request.form.get(name, "").strip() for name in ("name", "unit", "description")}
    values["role"] = "1" if request.form.get("role") == "1" else ""
    unit = values["unit"] or None
    # the unit first: out of reach reads as "no such unit" (404), whatever else the form gets wrong
    state().service.delegation.authorize_unit(actor(), AdminAction.GROUPS_MANAGE, unit or ROOT_UNIT)
    try:
        if not values["name"]:
            raise InvalidInputError("name", "is required")
        view = state().service.groups.create(
            actor(), values["name"], unit, values["description"], is_role=bool(values["role"])
        )
    except (ConflictError, InvalidInputError) as err:
        status = 409 if isinstance(err, ConflictError) else 400
        return page(
            "console/group_new.html",
            status,
            values=values,
            problem=_("This cannot be done."),
            problem_detail=str(err),
            **context,
        )
    flash(_("The group %(group)s is created.", group=view.group.name))
    return redirect(url_for("console.group", name=view.group.name))


@bp.route("/groups/<name>/delete", methods=["GET", "POST"])
def group_delete(name: str) -> Response | tuple[str, int]:
    groups = state().service.groups
    groups.reachable(actor(), AdminAction.GROUPS_MANAGE, name)
    view = groups.get(actor(), name)
    if request.method == "GET":
        return page("console/confirm_delete_group.html", view=view, problem=None)
    try:
        groups.delete(actor(), name, if_match=request.form.get("version") or None)
    except (ConflictError, PreconditionFailedError) as err:
        current = groups.get(actor(), name)
        if isinstance(err, PreconditionFailedError):
            problem = _("Someone changed this group meanwhile: read it again before deleting it. Nothing was deleted.")
        else:
            problem = _(
                "This group has members outside the units you administer: only who administers them all may delete it."
            )
        return page("console/confirm_delete_group.html", err.status, view=current, problem=problem)
    flash(_("The group %(group)s is deleted.", group=name))
    return redirect(url_for("console.groups"))


@bp.post("/groups/<name>/groups")
def group_add_group(name: str) -> Response | tuple[str, int]:
    groups = state().service.groups
    view = groups.get(actor(), name)
    groups.reachable(actor(), AdminAction.GROUPS_MANAGE, name)
    child = request.form.get("group", "").strip()
    try:
        if not child:
            raise OutOfReachError("group", child)
        groups.add_group(actor(), name, child)
    except (OutOfReachError, InvalidInputError) as err:
        if isinstance(err, OutOfReachError) and err.name != child:
            raise
        problem = _(
            "There is no group %(group)s in the units you administer, or it cannot go inside this one.", group=child
        )
        return page(
            "console/group.html",
            404 if isinstance(err, OutOfReachError) else 400,
            view=view,
            members=page_of(list(view.logins)),
            problem=problem,
            problem_detail=str(err) if isinstance(err, InvalidInputError) else "",
            typed="",
            typed_group=child,
        )
    flash(_("%(child)s is now inside %(group)s: its members have what %(group)s gives.", child=child, group=name))
    return redirect(url_for("console.group", name=name))


@bp.route("/groups/<name>/groups/<child>/remove", methods=["GET", "POST"])
def group_remove_group(name: str, child: str) -> Response | tuple[str, int]:
    groups = state().service.groups
    view = groups.get(actor(), name)
    groups.reachable(actor(), AdminAction.GROUPS_MANAGE, name)
    if request.method == "GET":
        groups.reachable(actor(), AdminAction.GROUPS_MANAGE, child)
        if child not in view.groups:
            raise OutOfReachError("member", child)
        return page("console/confirm_remove_group.html", view=view, child=child)
    groups.remove_group(actor(), name, child)
    flash(_("%(child)s is no longer inside %(group)s.", child=child, group=name))
    return redirect(url_for("console.group", name=name))
