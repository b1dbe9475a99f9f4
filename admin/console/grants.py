"""Console pages for administrative grants: the list one may see, granting and revoking within what one holds."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.pages import actor, bp, page, page_of, signed_in, state
from admin.errors import AdminError
from admin.models import ROLE_ACTIONS, AdminRole

__all__: list[str] = []


@bp.get("/grants")
def grants() -> tuple[str, int]:
    delegation = state().service.delegation
    views = page_of(delegation.grants(actor()))
    return page(
        "console/grants.html",
        grants=views,
        revocable={g.id for g in views.items if may_revoke(g.id)},
        roles=[r.value for r in AdminRole if may_grant_somewhere(r)],
        me=signed_in().sub,
    )


def may_grant_somewhere(role: AdminRole) -> bool:
    """Whether the form should offer ``role``: one grants only a role whose every power one holds (on the unit named;
    the grant itself checks the unit). A unit administrator was offered the platform administrator's role first."""
    delegation = state().service.delegation
    return all(delegation.units_holding(actor(), action) for action in ROLE_ACTIONS[role])


def may_revoke(grant_id: int) -> bool:
    """Whether the "Revoke…" link leads somewhere: a unit administrator sees the grants on their units, not every one
    of which they may take away (an application manager's needs clients:manage, which they may not hold)."""
    try:
        state().service.delegation.may_revoke(actor(), grant_id)
    except AdminError:
        return False
    return True


@bp.post("/grants")
def grant() -> Response:
    login = request.form.get("login", "").strip()
    role = request.form.get("role", "")
    unit = request.form.get("unit", "").strip()
    view = state().service.delegation.grant(actor(), login, role, unit)
    flash(_("%(login)s is now %(role)s on %(unit)s.", login=view.login, role=view.role.value, unit=view.unit_code))
    return redirect(url_for("console.grants"))


@bp.route("/grants/<int:grant_id>/revoke", methods=["GET", "POST"])
def revoke(grant_id: int) -> Response | tuple[str, int]:
    delegation = state().service.delegation
    if request.method == "GET":
        view = delegation.may_revoke(actor(), grant_id)
        return page("console/confirm_revoke.html", grant=view)
    view = delegation.revoke(actor(), grant_id)
    flash(
        _(
            "%(login)s no longer holds %(role)s on %(unit)s.",
            login=view.login,
            role=view.role.value,
            unit=view.unit_code,
        )
    )
    return redirect(url_for("console.grants"))
