"""Where an authentication goes after the password: the extra steps (MFA), then the SSO session, consent and
the hand-back to the protocol.

A step (see :mod:`idp.login.steps`) is a page of its own. It reads who is signing in with
:func:`pending_authentication`, and when the official has passed it, returns :func:`step_completed` with the
level reached; the flow then runs the next required step, or finishes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from flask import redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import get_instance, local_redirect_target
from directory.models import Person
from idp.login.steps import PasswordSignIn, StepContext, next_step, official_minimum, password_accepted
from idp.oidc.acr import acr_rank, satisfies
from idp.oidc.browser import (
    browser_token,
    current_provider,
    current_sso_session,
    note_policy_shortfall,
    set_sso_cookie,
)
from idp.oidc.hand_back import answer_client
from idp.oidc.interaction import AuthenticationResult, InteractionView
from idp.oidc.sessions import StartingSession
from idp.oidc.ui import prefer_ui_locales
from idp.settings import ThrottleSettings
from idp.throttle import DEVICE_COOKIE

__all__ = [
    "ACCOUNT",
    "ACCOUNT_NEXT",
    "SIGN_IN_NOTICE",
    "PendingAuthentication",
    "begin_step_up",
    "begin_steps",
    "complete_authentication",
    "first_factor_other_than_password",
    "interaction_view",
    "pending_authentication",
    "remember_device",
    "request_ip",
    "step_completed",
]

PENDING_KEY = "antin_pending"
ACCOUNT = "-"  # the interaction id of a sign-in for the account page (no application involved)
ACCOUNT_NEXT = "antin_account_next"  # where an account sign-in goes when it ends (a page of /account)
SIGN_IN_NOTICE = "antin_sign_in_notice"  # why the account sign-in page is shown (e.g. sign in again)
SESSION_STEP = "session"  # the first "step" of a step-up: what the SSO session already proves


@dataclass(frozen=True)
class PendingAuthentication:
    """An official between the password and the end of the required steps."""

    iid: str
    result: AuthenticationResult  # what has been proven so far
    done: tuple[str, ...]


def remember_device(response: BaseResponse, cookie: str | None) -> BaseResponse:
    """After a right first factor: this browser is the official's own from now on (see idp/throttle/device.py)."""
    if cookie is not None:
        provider = current_provider()
        response.set_cookie(
            DEVICE_COOKIE,
            cookie,
            max_age=provider.settings.section(ThrottleSettings).device_days * 86400,
            secure=provider.settings.cookie_secure,
            httponly=True,
            samesite="Lax",
            path="/",
        )
    return response


def first_factor_other_than_password(person: Person, response: BaseResponse) -> BaseResponse:
    """A passkey signed the official in: the listeners hear of it as of a right password (a new browser's e-mail),
    and this browser is remembered as theirs, as after a right password."""
    from idp.login import get_login_service

    devices = get_login_service(get_instance()).devices
    cookie, now = request.cookies.get(DEVICE_COOKIE), get_instance().clock.now().timestamp()
    known = devices.device_of(cookie, person.uid, now=now) is not None
    password_accepted(PasswordSignIn(person, known, request_ip(), request.headers.get("User-Agent", "")))
    return remember_device(response, devices.issue(cookie, person.uid, now=now))


def request_ip() -> str:
    """The browser's address, as the audit log and the throttle record it."""
    return request.remote_addr or "unknown"


def interaction_view(iid: str) -> InteractionView | None:
    """This browser's interaction ``iid``; None for a sign-in to the account page (``ACCOUNT``) or when it has
    expired. The request's pages then speak the client's ``ui_locales``, unless the official chose a language."""
    if iid == ACCOUNT:
        return None
    view = current_provider().interactions.get(iid, browser_token(create=False))
    if view is not None:
        prefer_ui_locales(view.ui_locales)
    return view


def begin_steps(
    iid: str,
    view: InteractionView | None,
    person: Person,
    result: AuthenticationResult,
    *,
    first: str = "password",
    answer_at_once: bool = False,
) -> BaseResponse:
    """After the first factor (the password, or a passkey): the first required step, or the end. With
    ``answer_at_once``, a sign-in that owes no step and no consent answers the client from this request."""
    return _next(iid, view, person, result, (first,), answer_at_once=answer_at_once)


def begin_step_up(
    iid: str, view: InteractionView, person: Person, session_result: AuthenticationResult
) -> BaseResponse:
    """The SSO session's official, too weak for this request: only the steps that raise the level, no password.
    With none to take (no such factor enrolled) the session goes back as it is, and the protocol answers the
    client (a required level unmet: ``unmet_authentication_requirements``)."""
    ctx = _context(view, person, session_result)
    if next_step(ctx, done=(SESSION_STEP,)) is None:
        own = official_minimum(person, None)
        return complete_authentication(
            iid, view, session_result, fresh=False, minimum_acr=ctx.minimum_acr, official_acr=own, policy_checked=True
        )
    return _next(iid, view, person, session_result, (SESSION_STEP,))


def _context(view: InteractionView | None, person: Person, result: AuthenticationResult) -> StepContext:
    minimum = official_minimum(person, view.prompt.minimum_acr if view else None)
    if view is None:
        return StepContext(person, result, minimum, None, minimum)
    wanted = max((v for v in (view.prompt.required_acr, minimum) if v), key=acr_rank, default=None)
    return StepContext(person, result, wanted, view.client_id, minimum)


def _next(
    iid: str,
    view: InteractionView | None,
    person: Person,
    result: AuthenticationResult,
    done: tuple[str, ...],
    *,
    answer_at_once: bool = False,
) -> BaseResponse:
    ctx = _context(view, person, result)
    step = next_step(ctx, done=done)
    if step is None:
        session.pop(PENDING_KEY, None)
        own = official_minimum(person, None)
        return complete_authentication(
            iid,
            view,
            result,
            fresh=True,
            minimum_acr=ctx.minimum_acr,
            official_acr=own,
            policy_checked=True,
            answer_at_once=answer_at_once,
        )
    # the signed session cookie carries the pending state: any worker can serve the next page
    session[PENDING_KEY] = {
        "iid": iid,
        "subject": result.subject,
        "login": result.login,
        "auth_time": result.auth_time.isoformat(),
        "acr": result.acr,
        "amr": list(result.amr),
        "done": list(done),
    }
    return redirect(url_for(step.endpoint, iid=iid), code=303)


def pending_authentication() -> PendingAuthentication | None:
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    result = AuthenticationResult(
        subject=str(data["subject"]),
        auth_time=datetime.fromisoformat(str(data["auth_time"])),
        acr=str(data["acr"]),
        amr=tuple(data["amr"]),
        login=str(data["login"]),
    )
    return PendingAuthentication(str(data["iid"]), result, tuple(data["done"]))


def step_completed(step_name: str, *, acr: str, amr: tuple[str, ...]) -> BaseResponse:
    """A step passed: record the stronger level and go on with the flow."""
    pending = pending_authentication()
    if pending is None:
        return redirect(url_for("login.interaction"), code=303)
    person = current_provider().directory.find_by_uuid(pending.result.subject)
    if person is None:
        session.pop(PENDING_KEY, None)
        return redirect(url_for("login.interaction", iid=pending.iid), code=303)
    previous = pending.result
    # a step never lowers the level (a key touched without PIN after a session at phishing-resistant)
    acr = max(previous.acr, acr, key=acr_rank)
    result = AuthenticationResult(
        previous.subject, previous.auth_time, acr, tuple(dict.fromkeys((*previous.amr, *amr))), previous.login
    )
    return _next(pending.iid, interaction_view(pending.iid), person, result, (*pending.done, step_name))


def complete_authentication(
    iid: str,
    view: InteractionView | None,
    result: AuthenticationResult,
    *,
    fresh: bool,
    minimum_acr: str | None = None,
    official_acr: str | None = None,
    policy_checked: bool = False,
    answer_at_once: bool = False,
) -> BaseResponse:
    """Start or renew the SSO session, then consent if needed, then back to the protocol.

    ``minimum_acr`` is the level required of this sign-in (the client's, the request's and the official's own,
    ``official_acr``): below it the client is refused (``unmet_authentication_requirements``), an account sign-in
    goes on (the security page is where factors are added). ``policy_checked``: the official's own level was
    worked out (after the steps), so this browser's note of a shortfall is brought up to date. ``answer_at_once``:
    with no consent to ask, the client's answer comes from this request (:func:`_answer_client_now`) rather than
    through ``/authorize/resume``."""
    provider = current_provider()
    cookie_value: str | None = None
    sid: str | None = None
    starting: StartingSession | None = None
    if fresh:
        sso = current_sso_session()
        if sso is not None and sso.subject == result.subject:
            provider.sessions.reauthenticated(sso.sid, result)
            sid = sso.sid
        else:
            if sso is not None:
                provider.end_session(sso.sid, reason="another official signed in", ip=request.remote_addr)
            # its audit entry (session:sso:start) written with it, in one statement on PostgreSQL; when this
            # request answers the client, by the statement that writes the code (written below otherwise)
            starting = provider.sessions.prepare(
                result, user_agent=request.headers.get("User-Agent", ""), ip=request_ip(), audit=get_instance().audit
            )
            cookie_value, sid = starting.cookie, starting.view.sid
            if not (answer_at_once and provider.sessions.carries_start):
                provider.sessions.write(starting)  # where it was always written
    if policy_checked:  # only the official's own level: a client's is asked again by that client's requests
        note_policy_shortfall(result.subject, official_acr, result.acr)
    response: BaseResponse
    level_met = (
        view is not None and satisfies(result.acr, view.prompt.minimum_acr) and satisfies(result.acr, minimum_acr)
    )
    consent = False
    if view is not None and level_met:
        client = provider.active_client(view.client_id)
        consent = client is not None and provider.needs_consent(
            client, result.subject, view.scopes, forced=view.prompt.consent
        )
    at_once = view is not None and level_met and not consent and answer_at_once and fresh
    if starting is not None and not at_once:
        provider.sessions.write(starting)
    if view is None:
        target = local_redirect_target(session.pop(ACCOUNT_NEXT, None), fallback=url_for("login.account"))
        response = redirect(target, code=303)
    elif not level_met:
        # the level required is out of reach: no consent is asked for a request about to be refused
        if minimum_acr is not None and not satisfies(result.acr, minimum_acr):
            provider.interactions.raise_minimum(iid, minimum_acr)  # /authorize/resume refuses below it
        provider.interactions.finish(iid, result)
        response = redirect(url_for("oidc.resume", iid=iid), code=303)
    elif consent:
        provider.interactions.set_result(iid, result)  # consent is asked next, for this official
        response = redirect(url_for("login.consent", iid=iid), code=303)
    elif at_once:
        response = _answer_client_now(view, result, sid, starting)
    else:
        provider.interactions.finish(iid, result)
        response = redirect(url_for("oidc.resume", iid=iid), code=303)
    if cookie_value is not None:
        set_sso_cookie(response, cookie_value)
    return response


def _answer_client_now(
    view: InteractionView, result: AuthenticationResult, sid: str | None, starting: StartingSession | None
) -> BaseResponse:
    """The resume's work in this request, with the same checks (:func:`answer_client`): the code is written by the
    statement that takes the interaction for its one use (a second tab that answered it first leaves nothing to
    take: the expired page, no second code), and that writes the new SSO session ``starting`` too."""
    finished = replace(view, result=result, consented_scopes=None, finished=True)
    return answer_client(finished, sid, taking=browser_token(create=False) or "", starting=starting)
