"""The authorization response: what the protocol answers the client once the interaction is over.

Both ways back end here, with the same checks: ``/authorize/resume/<id>`` (after MFA steps, consent, a step-up)
and the password page itself when a sign-in is complete with the password alone, which answers the client at once
rather than send the browser through the resume (one request fewer, as Keycloak does)."""

from __future__ import annotations

import logging

from authlib.common.urls import add_params_to_uri
from flask import redirect, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from idp.oidc.acr import ACR_VALUES, acr_rank, satisfies
from idp.oidc.authorize import AuthorizationRequest, request_from_params
from idp.oidc.browser import current_provider, error_page
from idp.oidc.codes import CodeRequest
from idp.oidc.errors import RedirectableError, UnsafeRequestError
from idp.oidc.interaction import AuthenticationResult, InteractionView
from idp.oidc.sessions import StartingSession

__all__ = [
    "answer_client",
    "issue_code",
    "redirect_error",
    "refuse",
    "required_acr",
    "unsafe_error",
]

log = logging.getLogger(__name__)


def _redirect_to_client(redirect_uri: str, params: dict[str, str | None]) -> BaseResponse:
    """An authorization response: always with ``iss`` (RFC 9207), errors included."""
    items = [(k, v) for k, v in params.items() if v is not None]
    items.append(("iss", current_provider().issuer))
    response = redirect(add_params_to_uri(redirect_uri, items), code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect_error(err: RedirectableError) -> BaseResponse:
    log.info("authorization refused: %s (%s)", err.error, err.description)
    return _redirect_to_client(
        err.redirect_uri, {"error": err.error, "error_description": err.description, "state": err.state}
    )


def refuse(areq: AuthorizationRequest, error: str, description: str) -> BaseResponse:
    return redirect_error(RedirectableError(error, description, redirect_uri=areq.redirect_uri, state=areq.state))


def unsafe_error(err: UnsafeRequestError) -> BaseResponse:
    log.info("authorization request refused without redirect: %s (%s)", err.error, err.description)
    messages = {
        "invalid_client": _("This application is not registered with Ấn Tín, or it has been disabled."),
    }
    message = messages.get(
        err.error,
        _("The application sent a sign-in request that cannot be accepted. Please contact its administrators."),
    )
    return error_page(_("Sign-in request refused"), message, code=f"{err.error}: {err.description}")


def required_acr(areq: AuthorizationRequest) -> str | None:
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


def answer_client(
    view: InteractionView, sid: str | None, *, taking: str | None = None, starting: StartingSession | None = None
) -> BaseResponse:
    """The client's answer to a finished interaction: a code, or the error.

    ``sid`` is the SSO session the code belongs to (None when the official's browser has none of theirs). The
    resume has taken the interaction for its one use already; with ``taking`` (this browser's token) it is taken
    here, by the very statement that writes the code, and a request that finds it gone gets the expired page.
    ``starting``: the sign-in's new SSO session (``sid``), not yet written: the code's statement writes it too
    (:attr:`~idp.oidc.sessions.SessionService.carries_start`); any other answer writes it first, on its own."""
    provider = current_provider()
    checked = _checked(view)
    if starting is not None and not (
        isinstance(checked, tuple) and taking is not None and view.consented_scopes is None
    ):
        provider.sessions.write(starting)  # the session is the official's whatever the client is answered
        starting = None
    if not isinstance(checked, tuple):
        if taking is not None:
            provider.interactions.forget(view.id)  # refused from the password page: not to be answered again
        return checked
    areq, result = checked
    if view.consented_scopes is not None:
        provider.consents.grant(result.subject, areq.client.client_id, view.consented_scopes)
        provider.audit.record(
            "oauth:consent:grant",
            actor=result.subject,
            subject=result.subject,
            client_id=areq.client.client_id,
            ip=request.remote_addr,
            details={"scopes": list(view.consented_scopes)},
        )
    if taking is None:
        return issue_code(areq, result, sid)
    code = provider.tokens.create_code_taking_interaction(
        _code_request(areq, result, sid), view.id, taking, starting=starting
    )
    if code is None:
        return error_page(
            _("This sign-in has expired"),
            _("Please go back to the application and start signing in again."),
            code="interaction expired or already answered",
        )
    return _redirect_to_client(areq.redirect_uri, {"code": code, "state": areq.state})


def _checked(view: InteractionView) -> BaseResponse | tuple[AuthorizationRequest, AuthenticationResult]:
    """The request and the result a code may be issued for, or the answer that refuses it."""
    client = current_provider().active_client(view.client_id)
    if client is None:
        return unsafe_error(UnsafeRequestError("invalid_client", "client disabled during sign-in"))
    areq = request_from_params(view.params, client)
    if areq.redirect_uri not in client.redirect_uris:
        return unsafe_error(UnsafeRequestError("invalid_request", "redirect_uri unregistered during sign-in"))
    result = view.result
    if result is None:
        return refuse(areq, "access_denied", "the official did not allow the request")
    if not satisfies(result.acr, required_acr(areq)) or not satisfies(result.acr, view.prompt.minimum_acr):
        # OIDC Core 3.1.2.6: the official has no factor that reaches the level the client (or, recorded by the
        # login in the interaction, the official's own policy) requires
        return refuse(
            areq, "unmet_authentication_requirements", "the official cannot reach the required authentication level"
        )
    return areq, result


def issue_code(areq: AuthorizationRequest, result: AuthenticationResult, sid: str | None) -> BaseResponse:
    code = current_provider().tokens.create_code(_code_request(areq, result, sid))
    return _redirect_to_client(areq.redirect_uri, {"code": code, "state": areq.state})


def _code_request(areq: AuthorizationRequest, result: AuthenticationResult, sid: str | None) -> CodeRequest:
    return CodeRequest(
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
