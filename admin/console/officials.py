"""Console pages for officials: search, one official (details, sessions, second factors, security events), and
the actions on them, each destructive one behind a confirmation page."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from admin.console.bulk_edit import bulk_actions
from admin.console.certificates import reason_names
from admin.console.pages import actor, bp, holds, page, state
from admin.models import AdminAction
from admin.officials import person_etag
from directory.errors import InvalidInputError
from directory.models import AccountStatus

__all__: list[str] = []


def int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInputError(name, "must be a whole number")
    return int(raw)


@bp.get("/officials")
def officials() -> tuple[str, int]:
    text = request.args.get("q", "")
    unit = request.args.get("unit", "").strip()
    cursor = request.args.get("cursor") or None
    found = state().service.officials.search(actor(), text, unit=unit or None, cursor=cursor, size=state().page_size)
    return page(
        "console/officials.html", q=text, unit=unit, found=found, paged=bool(cursor), bulk_actions=bulk_actions()
    )


@bp.get("/officials/<login>")
def official(login: str) -> tuple[str, int]:
    service = state().service
    person = service.officials.get(actor(), login)
    before = int_arg("before")
    events = service.security.events(actor(), login, before=before, size=state().page_size)
    certificates = service.certificates.of_official(actor(), login) if holds(AdminAction.CERTIFICATES_READ) else None
    return page(
        "console/official.html",
        person=person,
        version=person_etag(person),
        sessions=service.security.sessions(actor(), login),
        factors=service.security.factors(actor(), login),
        events=events,
        logins=service.audit.logins_of(events),
        paged=before is not None,
        certificates=certificates,
        reason_names=reason_names(),
    )


@bp.route("/officials/<login>/disable", methods=["GET", "POST"])
def disable(login: str) -> Response | tuple[str, int]:
    officials = state().service.officials
    if request.method == "GET":
        person = officials.reachable(actor(), AdminAction.OFFICIALS_DISABLE, login)
        return page("console/confirm_disable.html", person=person)
    status = request.form.get("status", AccountStatus.SUSPENDED.value)
    if status not in (AccountStatus.SUSPENDED.value, AccountStatus.RETIRED.value):
        raise InvalidInputError("status", "must be suspended or retired")
    person = officials.disable(actor(), login, AccountStatus(status))
    flash(_("%(name)s is disabled: signed out everywhere, tokens and certificates revoked.", name=person.full_name))
    return redirect(url_for("console.official", login=person.uid))


@bp.post("/officials/<login>/enable")
def enable(login: str) -> Response:
    person = state().service.officials.enable(actor(), login)
    flash(_("%(name)s is active again.", name=person.full_name))
    return redirect(url_for("console.official", login=person.uid))


@bp.post("/officials/<login>/sessions/<sid>/end")
def end_session(login: str, sid: str) -> Response:
    state().service.security.end_session(actor(), login, sid)
    flash(_("The session is signed out."))
    return redirect(url_for("console.official", login=login))


@bp.route("/officials/<login>/mfa/reset", methods=["GET", "POST"])
def reset_mfa(login: str) -> Response | tuple[str, int]:
    security = state().service.security
    if request.method == "GET":
        person = security.officials.reachable(actor(), AdminAction.OFFICIALS_SECURITY, login)
        return page("console/confirm_reset_mfa.html", person=person, factors=security.factors(actor(), login))
    removed = security.reset_mfa(actor(), login)
    flash(_("%(count)d second factors removed.", count=removed))
    return redirect(url_for("console.official", login=login))
