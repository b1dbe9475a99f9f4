"""The login interaction's pages: password, password change, consent, and the official's account page.

Every form carries a CSRF token; field ``name``/``id`` attributes are stable (automation fills them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel import i18n
from antin.kernel.web import get_instance, local_redirect_target, require_csrf
from idp.login import get_login_service
from idp.login.first_page import first_pages
from idp.login.flow import (
    ACCOUNT,
    SIGN_IN_NOTICE,
    begin_step_up,
    begin_steps,
    complete_authentication,
    interaction_view,
    remember_device,
    request_ip,
)
from idp.login.service import LoginService, LoginStatus, PasswordChangeOutcome
from idp.login.steps import PasswordSignIn, password_accepted
from idp.oidc.acr import ACR_PASSWORD
from idp.oidc.browser import (
    clear_sso_cookie,
    current_provider,
    current_sso_session,
    error_page,
    harden,
)
from idp.oidc.interaction import AuthenticationResult, InteractionView
from idp.oidc.ui import LANGUAGES, prefer_ui_locales
from idp.throttle import DEVICE_COOKIE

__all__ = ["bp"]

bp = Blueprint("login", __name__)
bp.after_request(harden)

PENDING_CHANGE = "antin_pwchange"


def login_service() -> LoginService:
    return get_login_service(get_instance())


def _now() -> datetime:
    """The instance's clock, to the second: ``auth_time`` travels as whole seconds (a NumericDate)."""
    return get_instance().clock.now().replace(microsecond=0)


def _device_cookie() -> str | None:
    return request.cookies.get(DEVICE_COOKIE)


def _page(template: str, status: int = 200, /, **context: Any) -> BaseResponse:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def _expired() -> BaseResponse:
    return error_page(
        _("This sign-in has expired"),
        _("Please go back to the application and start signing in again."),
        code="interaction expired",
    )


# -- password ----------------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"], defaults={"iid": ACCOUNT})
@bp.route("/login/<iid>", methods=["GET", "POST"])
def interaction(iid: str) -> BaseResponse:
    view = interaction_view(iid)
    if iid != ACCOUNT and view is None:
        return _expired()
    if view is not None and view.result is not None and not view.finished:
        return redirect(url_for("login.consent", iid=iid), code=303)
    if view is not None and view.prompt.step_up:
        step_up = _step_up(iid, view)
        if step_up is not None:
            return step_up
    if view is not None and not view.prompt.login:
        # already signed in; only consent is missing
        sso = current_sso_session()
        if sso is None:
            return _expired()
        return complete_authentication(iid, view, sso.result, fresh=False)
    login_hint = (view.prompt.login_hint if view else None) or ""
    context = {"iid": iid, "view": view, "login_value": login_hint}
    if request.method == "GET":
        return _page("antin/login.html", notice=session.pop(SIGN_IN_NOTICE, None) if view is None else None, **context)
    require_csrf()
    # the password accepted is written with the next entry, the session started, in one statement
    with get_instance().audit.holding():
        return _password_posted(iid, view, context)


def _password_posted(iid: str, view: InteractionView | None, context: dict[str, Any]) -> BaseResponse:
    login = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    context["login_value"] = login
    outcome = login_service().check_password(login, password, ip=request_ip(), device_cookie=_device_cookie())
    status = outcome.status
    if status is LoginStatus.SUCCESS and outcome.person is not None:
        person = outcome.person
        if view is not None and view.prompt.expected_subject and view.prompt.expected_subject != person.entry_uuid:
            return remember_device(
                _page(
                    "antin/login.html",
                    400,
                    error=_("The application expected another account. Sign in with the account you used before."),
                    **context,
                ),
                outcome.device_cookie,
            )
        result = AuthenticationResult(
            subject=person.entry_uuid,
            auth_time=_now(),
            acr=ACR_PASSWORD,
            amr=("pwd",),
            login=person.uid,
        )
        user_agent = request.headers.get("User-Agent", "")
        password_accepted(PasswordSignIn(person, outcome.known_browser, request_ip(), user_agent))
        # complete with the password alone: the client gets its answer from this request, not through the resume
        done = begin_steps(iid, view, person, result, answer_at_once=True)
        return remember_device(done, outcome.device_cookie)
    if status in (LoginStatus.EXPIRED, LoginStatus.MUST_CHANGE):
        session[PENDING_CHANGE] = {"login": login, "iid": iid, "reason": status.value}
        return remember_device(redirect(url_for("login.change_required", iid=iid), code=303), outcome.device_cookie)
    messages = {
        LoginStatus.INVALID_CREDENTIALS: (_("Wrong username or password."), 401),
        LoginStatus.LOCKED: (
            _(
                "This account is locked after too many failed attempts. Try again later or contact your "
                "unit's administrator."
            ),
            403,
        ),
        LoginStatus.DISABLED: (_("This account is disabled. Contact your unit's administrator."), 403),
        LoginStatus.THROTTLED: (
            _("Too many failed attempts. Wait %(seconds)s seconds before trying again.", seconds=outcome.wait_seconds),
            429,
        ),
        LoginStatus.UNAVAILABLE: (_("The directory cannot be reached right now. Try again shortly."), 503),
    }
    message, code = messages.get(status, (_("Sign-in failed."), 400))
    response = _page("antin/login.html", code, error=message, **context)
    if status is LoginStatus.THROTTLED:
        response.headers["Retry-After"] = str(outcome.wait_seconds)
    return response


def first_login_page(view: InteractionView) -> BaseResponse:
    """The password page of a new sign-in, answered by /authorize itself (see idp.oidc.browser.register_login_page):
    what GET /login/<iid> shows for it. Its form posts, and its language switch returns, to the interaction's URL."""
    prefer_ui_locales(view.ui_locales)
    kept = first_pages(current_app).body(view)  # the same page, from the rendering kept for its language and client
    if kept is not None:
        return Response(kept, mimetype="text/html")
    hint = view.prompt.login_hint or ""
    page_url = url_for("login.interaction", iid=view.id)
    return _page("antin/login.html", iid=view.id, view=view, login_value=hint, page_url=page_url)


def _step_up(iid: str, view: InteractionView) -> BaseResponse | None:
    """The official of the SSO session, asked only for the factor the request lacks; None when the session has
    ended or changed hands since /authorize (then the password page, as for any sign-in)."""
    sso = current_sso_session()
    if sso is None or (view.prompt.expected_subject and view.prompt.expected_subject != sso.subject):
        return None
    person = current_provider().directory.find_by_uuid(sso.subject)
    if person is None:
        return None
    return begin_step_up(iid, view, person, sso.result)


# -- password change (expired, reset, or self-service) -------------------------------------------------------


@bp.route("/login/<iid>/password", methods=["GET", "POST"])
def change_required(iid: str) -> BaseResponse:
    pending = session.get(PENDING_CHANGE)
    if not isinstance(pending, dict) or pending.get("iid") != iid:
        return redirect(url_for("login.interaction", iid=iid), code=303)
    view = interaction_view(iid)
    if iid != ACCOUNT and view is None:
        return _expired()
    login = str(pending["login"])
    reason = (
        _("Your password has expired. Choose a new one now.")
        if pending.get("reason") == LoginStatus.EXPIRED.value
        else _("Your password was reset. Choose a new one before you continue.")
    )
    context = {"iid": iid, "login_value": login, "reason": reason, "required": True}
    if request.method == "GET":
        return _page("antin/password_change.html", **context)
    require_csrf()
    new = request.form.get("new_password", "")
    changed = _change(login, request.form.get("current_password", ""), new, request.form.get("confirm_password", ""))
    if changed is not None:
        return _page("antin/password_change.html", changed[1], error=changed[0], **context)
    session.pop(PENDING_CHANGE, None)
    outcome = login_service().check_password(login, new, ip=request_ip(), device_cookie=_device_cookie())
    if outcome.status is not LoginStatus.SUCCESS or outcome.person is None:
        return redirect(url_for("login.interaction", iid=iid), code=303)
    person = outcome.person
    result = AuthenticationResult(person.entry_uuid, _now(), ACR_PASSWORD, ("pwd",), person.uid)
    return remember_device(begin_steps(iid, view, person, result), outcome.device_cookie)


def _change(login: str, old: str, new: str, confirm: str) -> tuple[str, int] | None:
    """None when changed, else (message, HTTP status)."""
    outcome = login_service().change_password(login, old, new, confirm, ip=request_ip(), device_cookie=_device_cookie())
    messages = {
        PasswordChangeOutcome.MISMATCH: (_("The two new passwords are not the same."), 400),
        PasswordChangeOutcome.WRONG_PASSWORD: (_("The current password is wrong."), 401),
        PasswordChangeOutcome.REFUSED: (
            _("The new password does not meet the password policy (length, complexity, or it was used before)."),
            400,
        ),
        PasswordChangeOutcome.THROTTLED: (_("Too many failed attempts. Wait a moment before trying again."), 429),
        PasswordChangeOutcome.LOCKED: (
            _(
                "This account is locked after too many failed attempts. Try again later or contact your "
                "unit's administrator."
            ),
            403,
        ),
        PasswordChangeOutcome.EXPIRED: (
            _("Your password expired too long ago to be changed here. Ask your unit's administrator to reset it."),
            403,
        ),
        PasswordChangeOutcome.UNAVAILABLE: (_("The directory cannot be reached right now. Try again shortly."), 503),
    }
    if outcome is PasswordChangeOutcome.CHANGED:
        return None
    return messages[outcome]


# -- consent ---------------------------------------------------------------------------------------------


@bp.route("/login/<iid>/consent", methods=["GET", "POST"])
def consent(iid: str) -> BaseResponse:
    view = interaction_view(iid)
    if view is None or view.result is None:
        return _expired()
    provider = current_provider()
    if request.method == "GET":
        return _page("antin/consent.html", iid=iid, view=view)
    require_csrf()
    if request.form.get("decision") == "allow":
        provider.interactions.finish(iid, view.result, consented_scopes=view.scopes)
    else:
        provider.interactions.finish(iid, None)
    return redirect(url_for("oidc.resume", iid=iid), code=303)


# -- the official's account page ------------------------------------------------------------------------------


@bp.get("/account")
def account() -> BaseResponse:
    sso = current_sso_session()
    if sso is None:
        return redirect(url_for("login.interaction"), code=303)
    provider = current_provider()
    names = {c.client_id: c.name for c in provider.clients.list()}
    return _page(
        "antin/account.html",
        sso=sso,
        sessions=provider.sessions.live_for(sso.subject),
        consents=provider.consents.list_for(sso.subject),
        applications=provider.tokens.live_client_ids(sso.subject),
        names=names,
        message=session.pop("antin_flash", None),
    )


@bp.post("/account/sessions/end")
def end_one_session() -> BaseResponse:
    require_csrf()
    sso = current_sso_session()
    if sso is None:
        return redirect(url_for("login.interaction"), code=303)
    provider = current_provider()
    sid = request.form.get("sid", "")
    if any(v.sid == sid for v in provider.sessions.live_for(sso.subject)):
        provider.end_session(sid, reason="ended from the account page", ip=request.remote_addr)
    response = redirect(url_for("login.account"), code=303)
    if sid == sso.sid:
        clear_sso_cookie(response)
    return response


@bp.post("/account/consents/revoke")
def revoke_consent() -> BaseResponse:
    require_csrf()
    sso = current_sso_session()
    if sso is None:
        return redirect(url_for("login.interaction"), code=303)
    provider = current_provider()
    client_id = request.form.get("client_id", "")
    provider.consents.revoke(sso.subject, client_id)
    provider.tokens.revoke_for_subject(sso.subject, "consent revoked", client_id=client_id)
    provider.audit.record(
        "oauth:consent:revoke", actor=sso.subject, subject=sso.subject, client_id=client_id, ip=request_ip()
    )
    session["antin_flash"] = _("Access revoked.")
    return redirect(url_for("login.account"), code=303)


@bp.post("/account/logout-everywhere")
def logout_everywhere() -> BaseResponse:
    require_csrf()
    sso = current_sso_session()
    if sso is not None:
        current_provider().end_all_sessions(sso.subject, reason="signed out everywhere", ip=request.remote_addr)
    response = _page("antin/logged_out.html", client=None, everywhere=True)
    clear_sso_cookie(response)
    return response


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> BaseResponse:
    sso = current_sso_session()
    if sso is None:
        return redirect(url_for("login.interaction"), code=303)
    context = {"iid": None, "login_value": sso.login, "reason": None, "required": False}
    if request.method == "GET":
        return _page("antin/password_change.html", **context)
    require_csrf()
    changed = _change(
        sso.login,
        request.form.get("current_password", ""),
        request.form.get("new_password", ""),
        request.form.get("confirm_password", ""),
    )
    if changed is not None:
        return _page("antin/password_change.html", changed[1], error=changed[0], **context)
    session["antin_flash"] = _("Your password has been changed.")
    return redirect(url_for("login.account"), code=303)


# -- language switch ---------------------------------------------------------------------------------------------


@bp.get("/lang/<code>")
def switch_language(code: str) -> BaseResponse:
    target = local_redirect_target(request.args.get("next"), fallback=url_for("login.account"))
    response = redirect(target, code=303)
    if code in LANGUAGES:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE,
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=current_provider().settings.cookie_secure,
        )
    return response
