"""The authorization endpoint (``/authorize``) and its return from the login interaction (``/authorize/resume``).

A valid request with a usable SSO session and consent gets a code at once; otherwise it is stored as an
interaction and the browser goes to ``idp.login``, which sends it back to :func:`resume` with the result. A new
sign-in (a GET, no SSO session, not pushed) is answered with the login page itself, whose form posts to the
interaction's URL: one round trip fewer; the interaction's URL stays the page's address for reloads and links."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import csrf_exempt
from idp.oidc.acr import acr_rank, satisfies
from idp.oidc.authorize import AuthorizationRequest, validate_authorization_request
from idp.oidc.browser import (
    as_dict_of_lists,
    browser_token,
    current_provider,
    current_sso_session,
    error_page,
    login_page,
    policy_shortfall,
)
from idp.oidc.errors import InvalidDPoPProofError, RedirectableError, UnsafeRequestError
from idp.oidc.hand_back import answer_client, issue_code, redirect_error, refuse, required_acr, unsafe_error
from idp.oidc.interaction import InteractionView
from idp.oidc.par import PAR_URN_PREFIX
from idp.oidc.sessions import SessionView
from idp.oidc.views.common import bp, dpop_header

__all__ = ["authorize", "resume"]

log = logging.getLogger(__name__)


def _wanted_acr(areq: AuthorizationRequest) -> str | None:
    """The level the login aims for: the required one, or the weakest value of ``acr_values`` if stronger.
    ``acr_values`` is voluntary (OIDC Core 3.1.2.1): the login reaches for it when the official can, and a
    sign-in that cannot still gets a code at the level it has (only a required level is refused)."""
    levels = [v for v in (required_acr(areq), min(areq.acr_values, key=acr_rank, default=None)) if v]
    return max(levels, key=acr_rank) if levels else None


def _needs_login(areq: AuthorizationRequest, sso: SessionView | None) -> bool:
    """The SSO session cannot answer as it is: a new sign-in, or a step-up (:func:`_step_up_only`); also when
    its official is below their own policy's level (the login then steps up, or refuses the client)."""
    if _needs_full_login(areq, sso) or sso is None:
        return True
    return not satisfies(sso.acr, _wanted_acr(areq)) or policy_shortfall(sso) is not None


def _needs_full_login(areq: AuthorizationRequest, sso: SessionView | None) -> bool:
    if sso is None or "login" in areq.prompt:
        return True
    if areq.max_age is not None and current_provider().clock() - sso.auth_time > timedelta(seconds=areq.max_age):
        return True
    return areq.hint_subject is not None and areq.hint_subject != sso.subject


def _needs_consent(areq: AuthorizationRequest, subject: str | None) -> bool:
    if areq.client.trusted:
        return False
    if "consent" in areq.prompt or subject is None:
        return True
    return not current_provider().consents.covers(subject, areq.client.client_id, areq.scopes)


def _first(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name) or []
    return values[0] if values else None


def _authorization_params() -> dict[str, list[str]]:
    return as_dict_of_lists(request.form if request.method == "POST" else request.args)


@bp.route("/authorize", methods=["GET", "POST"])
@csrf_exempt
def authorize() -> BaseResponse:
    provider = current_provider()
    params = _authorization_params()
    from_par = False
    proof_jkts: list[str] = []
    request_uri = _first(params, "request_uri")
    if request_uri and request_uri.startswith(PAR_URN_PREFIX):
        client_id = _first(params, "client_id")
        pushed = provider.pushed.take(request_uri, client_id) if client_id else None
        if pushed is None:
            return unsafe_error(UnsafeRequestError("invalid_request_uri", "unknown, expired or used request_uri"))
        params, from_par = pushed.params, True
        if pushed.dpop_jkt:
            proof_jkts.append(pushed.dpop_jkt)
    try:
        # a browser sends no DPoP header; a script that does gets its proof checked like anywhere else
        front_jkt = provider.check_dpop_proof(dpop_header(), method=request.method, path="/authorize", nonce=False)
    except InvalidDPoPProofError as err:
        return unsafe_error(UnsafeRequestError("invalid_dpop_proof", str(err.description)))
    if front_jkt:
        proof_jkts.append(front_jkt)
    try:
        areq = validate_authorization_request(
            params,
            find_client=provider.active_client,
            keys=provider.keys,
            issuer=provider.issuer,
            from_par=from_par,
            proof_jkts=proof_jkts,
        )
    except UnsafeRequestError as err:
        return unsafe_error(err)
    except RedirectableError as err:
        return redirect_error(err)

    sso = current_sso_session()
    need_login = _needs_login(areq, sso)
    subject = None if need_login or sso is None else sso.subject
    need_consent = _needs_consent(areq, subject)
    if "none" in areq.prompt:
        if need_login:
            return refuse(areq, "login_required", "no usable session")
        if need_consent:
            return refuse(areq, "consent_required", "consent has not been given")
    if need_login or need_consent:
        stored = areq.as_params()
        stored["_client_name"] = areq.client.name
        stored["_scopes"] = list(areq.scopes)
        stored["_prompt"] = {
            "login": need_login,
            "consent": "consent" in areq.prompt,
            "login_hint": areq.login_hint,
            "required_acr": _wanted_acr(areq),
            "minimum_acr": required_acr(areq),
            # the session is fresh enough and of the right official, only too weak: the login asks for the
            # missing factor alone, not the password again
            "step_up": need_login and not _needs_full_login(areq, sso),
            "expected_subject": areq.hint_subject,
        }
        iid = provider.interactions.create(areq.client.client_id, stored, browser_token() or "")
        first_page = login_page()
        if first_page is not None and request.method == "GET" and sso is None and not from_par:
            # a new sign-in: the password page at once (a pushed request's URI is single-use, a POST is not
            # reloaded: those, and every sign-in with a session, go to the interaction's URL as before)
            return first_page(InteractionView.new(iid, areq.client.client_id, stored))
        return redirect(url_for("login.interaction", iid=iid), code=303)
    assert sso is not None
    return issue_code(areq, sso.result, sso.sid)


@bp.get("/authorize/resume/<iid>")
def resume(iid: str) -> BaseResponse:
    """The interaction hands the browser back here with its result."""
    provider = current_provider()
    token = browser_token(create=False)
    # taken for its one use as it is read; only when it was not there to take is it read to tell the browser why
    view = provider.interactions.take_finished(iid, token)
    if view is None:
        if provider.interactions.get(iid, token) is not None:  # not finished yet: the interaction goes on
            return redirect(url_for("login.interaction", iid=iid), code=303)
        return error_page(
            _("This sign-in has expired"),
            _("Please go back to the application and start signing in again."),
            code="interaction expired or not of this browser",
        )
    sso = current_sso_session()
    sid = sso.sid if sso is not None and view.result is not None and sso.subject == view.result.subject else None
    return answer_client(view, sid)
