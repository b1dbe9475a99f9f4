"""Console pages for groups and roles: those of the administrator's units, a group's members page by page, a member
added by login or removed after a confirmation. Every change goes through :class:`~admin.groups.Groups`, which
checks that both the group and the official are within reach; a member outside it is counted, never named."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.pages import actor, bp, page, page_of, state
from admin.errors import OutOfReachError
from admin.models import AdminAction

__all__: list[str] = []


@bp.get("/groups")
def groups() -> tuple[str, int]:
    unit = request.args.get("unit", "").strip() or None
    views = page_of(state().service.groups.list_groups(actor(), unit))
    return page("console/groups.html", groups=views, unit=unit)


@bp.get("/groups/<name>")
def group(name: str) -> tuple[str, int]:
    view = state().service.groups.get(actor(), name)
    return page("console/group.html", view=view, members=page_of(list(view.logins)), problem=None, typed="")


@bp.post("/groups/<name>/members")
def group_add_member(name: str) -> Response | tuple[str, int]:
    groups = state().service.groups
    view = groups.get(actor(), name)
    login = request.form.get("login", "").strip()
    try:
        if not login:
            raise OutOfReachError("official", login)
        groups.add_member(actor(), name, login)
    except OutOfReachError as err:
        if err.kind != "official":
            raise
        problem = _("There is no official %(login)s in the units you administer.", login=login)
        return page(
            "console/group.html", 404, view=view, members=page_of(list(view.logins)), problem=problem, typed=login
        )
    flash(_("%(login)s is now a member of %(group)s.", login=login, group=name))
    return redirect(url_for("console.group", name=name))


@bp.route("/groups/<name>/members/<login>/remove", methods=["GET", "POST"])
def group_remove_member(name: str, login: str) -> Response | tuple[str, int]:
    groups = state().service.groups
    if request.method == "GET":
        view = groups.get(actor(), name)
        groups.reachable(actor(), AdminAction.GROUPS_MANAGE, name)
        person = state().service.officials.get(actor(), login)
        if person.uid not in view.logins:
            raise OutOfReachError("member", login)
        return page("console/confirm_remove_member.html", view=view, person=person)
    groups.remove_member(actor(), name, login)
    flash(_("%(login)s is no longer a member of %(group)s.", login=login, group=name))
    return redirect(url_for("console.group", name=name))
