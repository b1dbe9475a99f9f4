"""The authorization endpoint (``/authorize``) and its return from the login interaction (``/authorize/resume``).

A valid request with a usable SSO session and consent gets a code at once; otherwise it is stored as an
interaction and the browser goes to ``idp.login``, which sends it back to :func:`resume` with the result."""

from __future__ import annotations

import logging
from datetime import timedelta

from authlib.common.urls import add_params_to_uri
from flask import redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import csrf_exempt
from idp.oidc.acr import ACR_VALUES, acr_rank, satisfies
from idp.oidc.authorize import AuthorizationRequest, request_from_params, validate_authorization_request
from idp.oidc.browser import (
    as_dict_of_lists,
    browser_token,
    current_provider,
    current_sso_session,
    error_page,
    policy_shortfall,
)
from idp.oidc.codes import CodeRequest
from idp.oidc.errors import InvalidDPoPProofError, RedirectableError, UnsafeRequestError
from idp.oidc.interaction import AuthenticationResult
from idp.oidc.par import PAR_URN_PREFIX
from idp.oidc.sessions import SessionView
from idp.oidc.views.common import bp, dpop_header

__all__ = ["authorize", "resume"]

log = logging.getLogger(__name__)


def _redirect_to_client(redirect_uri: str, params: dict[str, str | None]) -> BaseResponse:
    """An authorization response: always with ``iss`` (RFC 9207), errors included."""
    items = [(k, v) for k, v in params.items() if v is not None]
    items.append(("iss", current_provider().issuer))
    response = redirect(add_params_to_uri(redirect_uri, items), code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def _redirect_error(err: RedirectableError) -> BaseResponse:
    log.info("authorization refused: %s (%s)", err.error, err.description)
    return _redirect_to_client(
        err.redirect_uri, {"error": err.error, "error_description": err.description, "state": err.state}
    )


def _refuse(areq: AuthorizationRequest, error: str, description: str) -> BaseResponse:
    return _redirect_error(RedirectableError(error, description, redirect_uri=areq.redirect_uri, state=areq.state))


def _unsafe_error(err: UnsafeRequestError) -> BaseResponse:
    log.info("authorization request refused without redirect: %s (%s)", err.error, err.description)
    messages = {
        "invalid_client": _("This application is not registered with Ấn Tín, or it has been disabled."),
    }
    message = messages.get(
        err.error,
        _("The application sent a sign-in request that cannot be accepted. Please contact its administrators."),
    )
    return error_page(_("Sign-in request refused"), message, code=f"{err.error}: {err.description}")


def _required_acr(areq: AuthorizationRequest) -> str | None:
    """The level the official must reach: the client's registered one, or the weakest acceptable value of an
    essential ``acr`` claim, whichever is stronger (None: a password is enough)."""
    required: list[str] = []
    if areq.client.required_acr:
        required.append(areq.client.required_acr)
    if areq.essential_acr:
        known = [v for v in areq.essential_acr if v in ACR_VALUES]
        if known:
            required.append(min(known, key=acr_rank))
    return max(required, key=acr_rank) if required else None


def _wanted_acr(areq: AuthorizationRequest) -> str | None:
    """The level the login aims for: the required one, or the weakest value of ``acr_values`` if stronger.
    ``acr_values`` is voluntary (OIDC Core 3.1.2.1): the login reaches for it when the official can, and a
    sign-in that cannot still gets a code at the level it has (only a required level is refused)."""
    levels = [v for v in (_required_acr(areq), min(areq.acr_values, key=acr_rank, default=None)) if v]
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
            return _unsafe_error(UnsafeRequestError("invalid_request_uri", "unknown, expired or used request_uri"))
        params, from_par = pushed.params, True
        if pushed.dpop_jkt:
            proof_jkts.append(pushed.dpop_jkt)
    try:
        # a browser sends no DPoP header; a script that does gets its proof checked like anywhere else
        front_jkt = provider.check_dpop_proof(dpop_header(), method=request.method, path="/authorize", nonce=False)
    except InvalidDPoPProofError as err:
        return _unsafe_error(UnsafeRequestError("invalid_dpop_proof", str(err.description)))
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
        return _unsafe_error(err)
    except RedirectableError as err:
        return _redirect_error(err)

    sso = current_sso_session()
    need_login = _needs_login(areq, sso)
    subject = None if need_login or sso is None else sso.subject
    need_consent = _needs_consent(areq, subject)
    if "none" in areq.prompt:
        if need_login:
            return _refuse(areq, "login_required", "no usable session")
        if need_consent:
            return _refuse(areq, "consent_required", "consent has not been given")
    if need_login or need_consent:
        stored = areq.as_params()
        stored["_client_name"] = areq.client.name
        stored["_scopes"] = list(areq.scopes)
        stored["_prompt"] = {
            "login": need_login,
            "consent": "consent" in areq.prompt,
            "login_hint": areq.login_hint,
            "required_acr": _wanted_acr(areq),
            "minimum_acr": _required_acr(areq),
            # the session is fresh enough and of the right official, only too weak: the login asks for the
            # missing factor alone, not the password again
            "step_up": need_login and not _needs_full_login(areq, sso),
            "expected_subject": areq.hint_subject,
        }
        iid = provider.interactions.create(areq.client.client_id, stored, browser_token() or "")
        return redirect(url_for("login.interaction", iid=iid), code=303)
    assert sso is not None
    return _issue_code(areq, sso.result, sso.sid)


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
    client = provider.active_client(view.client_id)
    if client is None:
        return _unsafe_error(UnsafeRequestError("invalid_client", "client disabled during sign-in"))
    areq = request_from_params(view.params, client)
    if areq.redirect_uri not in client.redirect_uris:
        return _unsafe_error(UnsafeRequestError("invalid_request", "redirect_uri unregistered during sign-in"))
    result = view.result
    if result is None:
        return _refuse(areq, "access_denied", "the official did not allow the request")
    if not satisfies(result.acr, _required_acr(areq)) or not satisfies(result.acr, view.prompt.minimum_acr):
        # OIDC Core 3.1.2.6: the official has no factor that reaches the level the client (or, recorded by the
        # login in the interaction, the official's own policy) requires
        return _refuse(
            areq, "unmet_authentication_requirements", "the official cannot reach the required authentication level"
        )
    if view.consented_scopes is not None:
        provider.consents.grant(result.subject, client.client_id, view.consented_scopes)
        provider.audit.record(
            "oauth:consent:grant",
            actor=result.subject,
            subject=result.subject,
            client_id=client.client_id,
            ip=request.remote_addr,
            details={"scopes": list(view.consented_scopes)},
        )
    sso = current_sso_session()
    sid = sso.sid if sso is not None and sso.subject == result.subject else None
    return _issue_code(areq, result, sid)


def _issue_code(areq: AuthorizationRequest, result: AuthenticationResult, sid: str | None) -> BaseResponse:
    provider = current_provider()
    code = provider.tokens.create_code(
        CodeRequest(
            client_id=areq.client.client_id,
            subject=result.subject,
            redirect_uri=areq.redirect_uri,
            scope=areq.scope,
            nonce=areq.nonce,
            code_challenge=areq.code_challenge,
            auth_time=result.auth_time,
            acr=result.acr,
            amr=result.amr,
            sid=sid,
            claims=areq.claims,
            resources=areq.resources,
            dpop_jkt=areq.dpop_jkt,
        )
    )
    return _redirect_to_client(areq.redirect_uri, {"code": code, "state": areq.state})
