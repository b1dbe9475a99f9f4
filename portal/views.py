"""The portal's blueprint ``bp``: the home page ``/``, the inbox ``/documents``, sign-in and a clear page for
everything that is not there (never a bare 404 or a stack trace)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from antin.kernel import readable
from antin.kernel.readable import local_time
from directory.models import Person
from idp.oidc.clients import client_registry
from idp.oidc.first_party import PORTAL, SignInError
from portal.officials import current_official, instance, sign_in
from signing.documents.batch import signable
from signing.documents.service import BOXES, document_service

__all__ = ["VIETNAM_TIME", "bp", "not_found", "official_required", "page"]

bp = Blueprint(
    "portal", __name__, template_folder="templates", static_folder="static", static_url_path="/assets/portal"
)


VIETNAM_TIME = readable.VIETNAM_TIME


@bp.app_template_filter("portal_time")
def portal_time(moment: datetime | None) -> str:
    """A time as officials read it: Vietnam's (UTC+7), day first, as every page writes it."""
    return local_time(moment)


@bp.app_template_filter("portal_detail")
def portal_detail(value: object) -> str:
    """An audit entry's detail as an official reads it: times in Vietnam's time, lists joined, no ``unit:`` tags."""
    if isinstance(value, list | tuple):
        return ", ".join(portal_detail(item) for item in value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value) if "T" in value and value[:4].isdigit() else None
        except ValueError:
            moment = None
        if moment is not None:
            return portal_time(moment)
        kind, tagged, rest = value.partition(":")
        return rest if tagged and kind in DETAIL_TAGS else value
    return str(value)


DETAIL_TAGS = ("unit", "group", "person", "official")  # how a workflow's recipients are written in the audit log


def page(template: str, status: int = 200, **context: Any) -> Response:
    html = render_template(template, official=current_official(), **context)
    return Response(html, status=status, mimetype="text/html")


def not_found() -> Response:
    return page(
        "portal/message.html",
        404,
        title=_("Document not found"),
        message=_("There is no such document, or it belongs to a unit you do not work in."),
    )


def _sign_in_refused(failed: SignInError) -> Response:
    return page(
        "portal/message.html",
        400,
        title=_("Sign-in was not completed"),
        message=_("The sign-in could not be accepted. Please try again."),
        detail=failed.reason,
        retry=True,
    )


sign_in.add_routes(bp, on_failure=_sign_in_refused)


def official_required(view: Callable[..., Response]) -> Callable[..., Response]:
    """The view runs with the signed-in official as its first argument; others are sent to sign in, and an
    account the directory no longer knows as active gets a page that says so."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        if sign_in.current() is None:
            return sign_in.begin(request.full_path if request.query_string else request.path)
        official = current_official()
        if official is None:
            return page(
                "portal/message.html",
                403,
                title=_("This account cannot use the portal"),
                message=_("The directory does not list this account as active. Ask your unit's administrator."),
            )
        return view(official, *args, **kwargs)

    return wrapper


def _applications() -> list[Any]:
    own = {PORTAL.client_id, "antin-console"}
    records = client_registry(instance()).list()
    return sorted(
        (r for r in records if r.home_url and not r.disabled and r.client_id not in own), key=lambda r: r.name.lower()
    )


@bp.get("/")
def home() -> Response:
    official = current_official()
    if official is None:
        return page("portal/welcome.html")
    documents = document_service(instance())
    return page(
        "portal/home.html",
        applications=_applications(),
        awaiting=documents.inbox(official, "awaiting"),
        activity=documents.recent_activity(official),
    )


@bp.get("/documents")
@official_required
def inbox(official: Person) -> Response:
    box = request.args.get("box", "awaiting")
    box = box if box in BOXES else "awaiting"
    query = request.args.get("q", "")[:100]
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    service = document_service(instance())
    listing = service.inbox(official, box, query=query, page=number)
    # the documents waiting for the official's own signature can be chosen and signed together
    signable_ids = (
        {d.id for d in listing.items if signable(service.view(official, d.id))} if box == "awaiting" else set()
    )
    return page("portal/inbox.html", box=box, query=query, listing=listing, boxes=BOXES, signable_ids=signable_ids)
