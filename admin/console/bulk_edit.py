"""Console pages for one action on many officials, ticked on the officials list: the unit or group to use (when the
action needs one), a confirmation page that lists what will change for each and what will be refused and why, and
the result page, per official. Every change goes through :class:`~admin.bulk_edit.BulkEdits`, which applies each row
with the single action's own operation (its delegation check, audit and consequences)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.bulk_edit import POWER, BulkAction, BulkReport, BulkRequest
from admin.console.official_changes import unit_choices
from admin.console.pages import actor, bp, holds, page, state

__all__ = ["action_names", "bulk_actions"]

VERSION_FIELD = "version:"  # the confirmation's hidden field per official: "version:<login>" = its ETag


def action_names() -> dict[str, str]:
    """The actions, as the pages call them."""
    return {
        BulkAction.DISABLE.value: _("Disable"),
        BulkAction.ENABLE.value: _("Enable"),
        BulkAction.MOVE.value: _("Move to a unit"),
        BulkAction.ADD_TO_GROUP.value: _("Add to a group"),
        BulkAction.REMOVE_FROM_GROUP.value: _("Remove from a group"),
    }


def bulk_actions() -> list[tuple[str, str]]:
    """The actions the administrator holds the power of somewhere, for the officials list's bar (each row is still
    checked by the service)."""
    names = action_names()
    return [(action.value, names[action.value]) for action in BulkAction if holds(POWER[action])]


def reason_names() -> dict[str, str]:
    """Why a row is refused, in the page's language (the service's English words are shown beside it)."""
    return {
        "not-found": _("not among the officials of your units"),
        "self": _("your own account"),
        "already-disabled": _("already disabled"),
        "already-active": _("already active"),
        "already-in-unit": _("already in this unit"),
        "already-member": _("already a member"),
        "not-member": _("not a direct member"),
        "changed-meanwhile": _("changed by someone else since the confirmation"),
        "directory-unavailable": _("the directory could not be reached; try again"),
    }


def _wanted() -> BulkRequest:
    form = request.form
    return state().service.bulk_edits.parse(
        form.get("action"),
        form.getlist("login"),
        unit=form.get("unit"),
        group=form.get("group"),
        status=form.get("status"),
    )


def _shown(template: str, report: BulkReport) -> tuple[str, int]:
    return page(template, report=report, action_names=action_names(), reason_names=reason_names())


@bp.post("/officials/bulk")
def bulk_edit() -> Response | tuple[str, int]:
    """From the officials list: choose the unit, the group or the new status if the action needs one, then
    confirm."""
    if not request.form.getlist("login"):
        flash(_("Tick at least one official first."))
        return redirect(url_for("console.officials"))
    wanted = _wanted()
    edits = state().service.bulk_edits
    # disabling: suspended or retired is chosen before the confirmation, which then shows exactly that
    if wanted.needs_target or (wanted.action is BulkAction.DISABLE and not request.form.get("status")):
        edits.require_power(actor(), wanted.action)  # before any choice is shown
        if wanted.action is BulkAction.MOVE:
            return page("console/bulk_choose.html", wanted=wanted, action_names=action_names(), units=unit_choices())
        if wanted.action is BulkAction.DISABLE:
            return page("console/bulk_choose.html", wanted=wanted, action_names=action_names())
        groups = edits.groups_in_reach(actor())
        return page("console/bulk_choose.html", wanted=wanted, action_names=action_names(), groups=groups)
    return _shown("console/bulk_confirm.html", edits.plan(actor(), wanted))


@bp.post("/officials/bulk/apply")
def bulk_edit_apply() -> tuple[str, int]:
    """The confirmed action: each official changed (or refused) as the confirmation's versions say."""
    versions = {k[len(VERSION_FIELD) :]: v for k, v in request.form.items() if k.startswith(VERSION_FIELD)}
    report = state().service.bulk_edits.apply(actor(), _wanted(), versions)
    return _shown("console/bulk_result.html", report)
