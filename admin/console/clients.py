"""Console pages for OIDC clients: the list, one client, disable and enable, a new secret shown once (registering and
editing: :mod:`admin.console.client_forms`)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.pages import actor, bp, page, page_of, state
from idp.oidc.first_party import FIRST_PARTY_APPS

__all__: list[str] = []


@bp.get("/clients")
def clients() -> tuple[str, int]:
    unit = request.args.get("unit") or None
    service = state().service.clients
    records = service.list(actor(), unit=unit)
    orphaned = service.orphaned_ids(records)
    return page("console/clients.html", clients=page_of(records), unit=unit, orphaned=orphaned)


@bp.get("/clients/<client_id>")
def client(client_id: str) -> tuple[str, int]:
    record = state().service.clients.get(actor(), client_id)
    first_party = {app.client_id for app in FIRST_PARTY_APPS}  # not disabled from here: the service refuses it
    return page("console/client.html", client=record, first_party=first_party)


@bp.route("/clients/<client_id>/disable", methods=["GET", "POST"])
def client_disable(client_id: str) -> Response | tuple[str, int]:
    service = state().service.clients
    if request.method == "GET":
        return page("console/confirm_client.html", client=service.get(actor(), client_id), action="disable")
    record = service.set_disabled(actor(), client_id, True)
    flash(_("%(name)s is disabled: its tokens are refused at once.", name=record.name))
    return redirect(url_for("console.client", client_id=client_id))


@bp.post("/clients/<client_id>/enable")
def client_enable(client_id: str) -> Response:
    record = state().service.clients.set_disabled(actor(), client_id, False)
    flash(_("%(name)s is enabled again.", name=record.name))
    return redirect(url_for("console.client", client_id=client_id))


@bp.route("/clients/<client_id>/rotate-secret", methods=["GET", "POST"])
def client_rotate_secret(client_id: str) -> tuple[str, int]:
    service = state().service.clients
    if request.method == "GET":
        return page("console/confirm_client.html", client=service.get(actor(), client_id), action="rotate")
    record, secret = service.rotate_secret(actor(), client_id)
    # shown on this page only: the platform keeps a digest, and the page is sent with Cache-Control: no-store
    return page("console/client_secret.html", client=record, secret=secret)
