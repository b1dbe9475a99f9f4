"""Strong authentication's pages: the login's second step, and the official's ``/account/security`` pages
(the factors and recent security events, TOTP enrolment, recovery codes, renaming and removing a factor).

Every form carries a CSRF token; every field that takes a one-time code says ``autocomplete="one-time-code"``.
Changing factors needs a sign-in within the last five minutes (:data:`RECENT_AUTHENTICATION`), at the second
factor's level once the official has one, so that a browser left signed in cannot be used to add or remove one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import get_instance, require_csrf
from idp.login.flow import (
    ACCOUNT,
    ACCOUNT_NEXT,
    SIGN_IN_NOTICE,
    interaction_view,
    pending_authentication,
    request_ip,
    step_completed,
)
from idp.mfa import get_mfa_service
from idp.mfa.code_throttle import MFA_DEVICE_COOKIE
from idp.mfa.errors import EnrolmentExpiredError, FactorNotFoundError
from idp.mfa.models import FactorKind
from idp.mfa.security_keys import get_security_keys
from idp.mfa.service import CodeStatus, MfaService
from idp.mfa.steps import TOTP_STEP
from idp.oidc.acr import ACR_MFA, acr_rank
from idp.oidc.browser import current_provider, current_sso_session, error_page, harden
from idp.oidc.sessions import SessionView

__all__ = ["RECENT_AUTHENTICATION", "bp"]

bp = Blueprint("mfa", __name__)
bp.after_request(harden)

RECENT_AUTHENTICATION = timedelta(minutes=5)
FLASH = "antin_flash"
AMR_SECOND_FACTOR = ("otp", "mfa")  # RFC 8176: a one-time password, and more than one factor in all


def mfa_service() -> MfaService:
    return get_mfa_service(get_instance())


def _page(template: str, status: int = 200, /, **context: Any) -> BaseResponse:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


# -- the login's second step -----------------------------------------------------------------------------------


@bp.route("/login/<iid>/second-factor", methods=["GET", "POST"])
def second_step(iid: str) -> BaseResponse:
    pending = pending_authentication()
    view = interaction_view(iid)
    if pending is None or pending.iid != iid or (iid != ACCOUNT and view is None):
        return error_page(
            _("This sign-in has expired"),
            _("Please go back to the application and start signing in again."),
            code="interaction expired",
        )
    recovery = (request.form if request.method == "POST" else request.args).get("method") == "recovery"
    has_keys = get_security_keys(get_instance()).has_keys(pending.result.subject)
    context: dict[str, Any] = {"iid": iid, "view": view, "recovery": recovery, "has_keys": has_keys}
    if request.method == "GET":
        return _page("antin/mfa_step.html", **context)
    require_csrf()
    service = mfa_service()
    subject = pending.result.subject
    typed = request.form.get("recovery_code" if recovery else "code", "")
    device_cookie = request.cookies.get(MFA_DEVICE_COOKIE)
    outcome = service.verify_code(subject, typed, ip=request_ip(), device_cookie=device_cookie, recovery=recovery)
    if outcome.status is CodeStatus.ACCEPTED:
        response = step_completed(TOTP_STEP, acr=ACR_MFA, amr=AMR_SECOND_FACTOR)
        if outcome.recovery_codes_left is not None:
            response = _recovery_code_used(response, outcome.recovery_codes_left)
        response.set_cookie(
            MFA_DEVICE_COOKIE,
            service.remember_browser(device_cookie, subject),
            max_age=service.device_cookie_seconds,
            secure=current_provider().settings.cookie_secure,
            httponly=True,
            samesite="Lax",
            path="/",
        )
        return response
    messages = {
        CodeStatus.WRONG: (
            _("Wrong recovery code.") if recovery else _("Wrong code. Enter the code your app shows now."),
            401,
        ),
        CodeStatus.REPLAYED: (
            _("This code has already been used. Wait for the next code in your app and enter that one."),
            401,
        ),
        CodeStatus.THROTTLED: (_throttled_message(outcome.wait_seconds), 429),
        CodeStatus.UNAVAILABLE: (_("Codes cannot be checked right now. Try again shortly."), 503),
    }
    message, status = messages[outcome.status]
    page = _page("antin/mfa_step.html", status, error=message, **context)
    if outcome.status is CodeStatus.THROTTLED:
        page.headers["Retry-After"] = str(outcome.wait_seconds)
    return page


def _throttled_message(wait_seconds: int) -> str:
    if wait_seconds >= 120:
        minutes = -(-wait_seconds // 60)
        return str(_("Too many wrong codes. Wait %(minutes)s minutes before trying again.", minutes=minutes))
    return str(_("Too many wrong codes. Wait %(seconds)s seconds before trying again.", seconds=wait_seconds))


def _recovery_code_used(next_hop: BaseResponse, left: int) -> BaseResponse:
    """A page that says how many recovery codes are left, then goes on where the flow was going."""
    page = _page("antin/mfa_recovery_used.html", left=left, next_url=next_hop.headers.get("Location", "/"))
    for cookie in next_hop.headers.getlist("Set-Cookie"):  # the SSO session cookie, when the sign-in ended here
        page.headers.add("Set-Cookie", cookie)
    return page


# -- /account/security ---------------------------------------------------------------------------------------


def _sign_in_first(message: str | None = None, *, back_to: str | None = None) -> BaseResponse:
    """To the account sign-in, and back to this page (or ``back_to``, for a form's action) afterwards."""
    session[ACCOUNT_NEXT] = back_to or request.path
    if message:
        session[SIGN_IN_NOTICE] = message
    return redirect(url_for("login.interaction"), code=303)


def _recent(sso: SessionView) -> bool:
    """Signed in within the last five minutes, with the second factor when the official has one."""
    now = get_instance().clock.now()
    if now - sso.auth_time > RECENT_AUTHENTICATION:
        return False
    return acr_rank(sso.acr) >= acr_rank(ACR_MFA) or not mfa_service().factors(sso.subject)


def _sign_in_again(back_to: str | None = None) -> BaseResponse:
    message = _("For your security, sign in again before you change how you sign in.")
    return _sign_in_first(message, back_to=back_to)


# The events an official sees on the security page, in their words (the audit log keeps them all).
SECURITY_EVENTS = {
    "login:password:success": _l("Password accepted"),
    "mfa:totp:success": _l("Code from the authenticator app accepted"),
    "mfa:totp:failure": _l("Wrong code from the authenticator app"),
    "mfa:totp:replay": _l("A code already used was refused"),
    "mfa:code:throttled": _l("Codes refused after too many wrong ones"),
    "mfa:totp:enrol": _l("Authenticator app added"),
    "mfa:factor:rename": _l("App or security key renamed"),
    "mfa:factor:remove": _l("App or security key removed"),
    "mfa:factors:reset": _l("Two-step verification removed by an administrator"),
    "mfa:webauthn:register": _l("Security key or passkey added"),
    "mfa:webauthn:success": _l("Security key or passkey used"),
    "mfa:webauthn:failure": _l("A security key's answer was refused"),
    "mfa:webauthn:cloned": _l("A security key was refused: its counter went backwards (a copy?)"),
    "mfa:recovery:generate": _l("New recovery codes made"),
    "mfa:recovery:use": _l("Recovery code used"),
    "mfa:recovery:failure": _l("Wrong recovery code"),
    "session:sso:logout-everywhere": _l("Signed out everywhere"),
}
RECENT_EVENTS = 10


def _recent_events(subject: str) -> list[dict[str, Any]]:
    entries = get_instance().audit.entries(subject=subject, limit=100)
    shown = [
        {"time": e.occurred_at, "label": SECURITY_EVENTS[e.event], "ip": e.ip or ""}
        for e in entries
        if e.event in SECURITY_EVENTS
    ]
    return shown[:RECENT_EVENTS]


@bp.get("/account/security")
def security() -> BaseResponse:
    sso = current_sso_session()
    if sso is None:
        return _sign_in_first()
    service = mfa_service()
    factors = service.factors(sso.subject)
    return _page(
        "antin/mfa_security.html",
        sso=sso,
        totp_factors=[f for f in factors if f.kind is FactorKind.TOTP],
        security_keys=get_security_keys(get_instance()).keys(sso.subject),
        has_recovery=any(f.kind is FactorKind.RECOVERY for f in factors),
        recovery_left=service.recovery_codes_left(sso.subject),
        events=_recent_events(sso.subject),
        sessions=current_provider().sessions.live_for(sso.subject),  # signed out one by one, as on /account
        message=session.pop(FLASH, None),
    )


@bp.route("/account/security/totp", methods=["GET", "POST"])
def enrol_totp() -> BaseResponse:
    sso = current_sso_session()
    if sso is None:
        return _sign_in_first()
    service = mfa_service()
    if request.method == "GET":
        if not _recent(sso):
            return _sign_in_again()
        enrolment = service.begin_totp(sso.subject, account=sso.login)
        return _page("antin/mfa_totp.html", enrolment=enrolment, name=_("Authenticator app"))
    require_csrf()  # the enrolment token was given after the recency check, to this official, minutes ago
    token = request.form.get("enrolment", "")
    name = request.form.get("name", "").strip() or _("Authenticator app")
    try:
        factor = service.confirm_totp(sso.subject, token, request.form.get("code", ""), name=name, ip=request_ip())
        if factor is None:
            again = service.enrolment_again(sso.subject, token, account=sso.login)
            error = _("Wrong code. Enter the code your app shows now for this new key.")
            return _page("antin/mfa_totp.html", 400, enrolment=again, name=name, error=error)
    except EnrolmentExpiredError:
        fresh = service.begin_totp(sso.subject, account=sso.login)
        error = _("This page was open too long. Scan the new QR code and enter its first code.")
        return _page("antin/mfa_totp.html", 400, enrolment=fresh, name=name, error=error)
    if service.recovery_codes_left(sso.subject) == 0:
        codes = service.regenerate_recovery_codes(sso.subject, ip=request_ip())
        return _page("antin/mfa_recovery_codes.html", codes=codes, first=True)
    session[FLASH] = _("The authenticator app has been added.")
    return redirect(url_for("mfa.security"), code=303)


@bp.route("/account/security/recovery-codes", methods=["GET", "POST"])
def recovery_codes() -> BaseResponse:
    sso = current_sso_session()
    if sso is None:
        return _sign_in_first()
    service = mfa_service()
    if request.method == "GET":
        return _page("antin/mfa_recovery_codes.html", codes=None, left=service.recovery_codes_left(sso.subject))
    require_csrf()
    if not _recent(sso):
        return _sign_in_again()
    codes = service.regenerate_recovery_codes(sso.subject, ip=request_ip())
    return _page("antin/mfa_recovery_codes.html", codes=codes, first=False)


@bp.post("/account/security/factors/remove")
def remove_factor() -> BaseResponse:
    require_csrf()
    sso = current_sso_session()
    if sso is None:
        return _sign_in_first(back_to=url_for("mfa.security"))
    if not _recent(sso):
        return _sign_in_again(back_to=url_for("mfa.security"))
    try:
        mfa_service().remove_factor(sso.subject, request.form.get("factor_id", ""), actor=sso.subject, ip=request_ip())
    except FactorNotFoundError:
        return error_page(_("No such factor"), _("It may have been removed already."), status=404)
    session[FLASH] = _("The factor has been removed.")
    return redirect(url_for("mfa.security"), code=303)


@bp.post("/account/security/factors/rename")
def rename_factor() -> BaseResponse:
    require_csrf()
    sso = current_sso_session()
    if sso is None:
        return _sign_in_first(back_to=url_for("mfa.security"))
    try:
        mfa_service().rename_factor(
            sso.subject, request.form.get("factor_id", ""), request.form.get("name", ""), ip=request_ip()
        )
    except FactorNotFoundError:
        return error_page(_("No such factor"), _("It may have been removed already."), status=404)
    session[FLASH] = _("The name has been changed.")
    return redirect(url_for("mfa.security"), code=303)
