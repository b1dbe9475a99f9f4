"""HTTP endpoints of the OpenID Provider. Views translate HTTP to calls of the services and back."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import csrf_exempt
from directory.errors import DirectoryUnavailableError
from idp.oidc.acr import ACR_VALUES, acr_rank, satisfies
from idp.oidc.authorize import AuthorizationRequest, request_from_params, validate_authorization_request
from idp.oidc.browser import (
    as_dict_of_lists,
    browser_token,
    clear_sso_cookie,
    current_provider,
    current_sso_session,
    error_page,
    harden,
)
from idp.oidc.claims import claims_for
from idp.oidc.codes import CodeRequest
from idp.oidc.csrf import csrf_token_valid
from idp.oidc.errors import (
    InvalidDPoPProofError,
    InvalidJwtError,
    RedirectableError,
    UnsafeRequestError,
    UseDPoPNonceError,
)
from idp.oidc.interaction import AuthenticationResult
from idp.oidc.par import PAR_URN_PREFIX
from idp.oidc.server import ALL_AUTH_METHODS
from idp.oidc.sessions import SessionView
from idp.oidc.token_types import TokenType

__all__ = ["bp"]

log = logging.getLogger(__name__)
bp = Blueprint("oidc", __name__)
bp.after_request(harden)

CLIENT_AUTH_PARAMS = ("client_secret", "client_assertion", "client_assertion_type")


@bp.after_request
def offer_dpop_nonce(response: BaseResponse) -> BaseResponse:
    """With server nonces on, every answer to a DPoP request names the current nonce (RFC 9449 §8.2), so that a
    client keeps up with its rotation without a failed request."""
    nonces = current_provider().dpop_nonces
    if nonces is not None and "DPoP" in request.headers and "DPoP-Nonce" not in response.headers:
        response.headers["DPoP-Nonce"] = nonces.current()
    return response


def _dpop_header() -> str | None:
    """The request's one DPoP proof (RFC 9449 §4.3: more than one is refused)."""
    proofs = request.headers.getlist("DPoP")
    if len(proofs) > 1:
        raise InvalidDPoPProofError("more than one DPoP header")
    return proofs[0] if proofs else None


# The discovery document and the JWKS are answered in front of Flask: see idp/oidc/discovery_documents.py.


# -- authorization -----------------------------------------------------------------------------------------


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


def _needs_login(areq: AuthorizationRequest, sso: SessionView | None) -> bool:
    if sso is None or "login" in areq.prompt:
        return True
    if areq.max_age is not None and current_provider().clock() - sso.auth_time > timedelta(seconds=areq.max_age):
        return True
    if areq.hint_subject is not None and areq.hint_subject != sso.subject:
        return True
    return not satisfies(sso.acr, _required_acr(areq))


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
        front_jkt = provider.check_dpop_proof(_dpop_header(), method=request.method, path="/authorize", nonce=False)
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
            "required_acr": _required_acr(areq),
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
    view = provider.interactions.get(iid, browser_token(create=False))
    if view is None:
        return error_page(
            _("This sign-in has expired"),
            _("Please go back to the application and start signing in again."),
            code="interaction expired or not of this browser",
        )
    if not view.finished:
        return redirect(url_for("login.interaction", iid=iid), code=303)
    provider.interactions.consume(iid)
    client = provider.active_client(view.client_id)
    if client is None:
        return _unsafe_error(UnsafeRequestError("invalid_client", "client disabled during sign-in"))
    areq = request_from_params(view.params, client)
    if areq.redirect_uri not in client.redirect_uris:
        return _unsafe_error(UnsafeRequestError("invalid_request", "redirect_uri unregistered during sign-in"))
    result = view.result
    if result is None:
        return _refuse(areq, "access_denied", "the official did not allow the request")
    if not satisfies(result.acr, _required_acr(areq)):
        return _refuse(areq, "access_denied", "the required authentication level was not reached")
    if view.consented_scopes is not None:
        provider.consents.grant(result.subject, client.client_id, view.consented_scopes)
        provider.audit.record(
            "oauth:consent:grant",
            actor=result.subject,
            subject=result.subject,
            client_id=client.client_id,
            ip=provider.client_ip(),
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


# -- pushed authorization requests (RFC 9126) --------------------------------------------------------------


def _oauth_error(error: OAuth2Error) -> BaseResponse:
    server = current_provider().server
    response: Response = server.handle_error_response(None, error)
    return response


def _json_error(error: str, description: str, status: int = 400) -> BaseResponse:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/par")
@csrf_exempt
def par() -> BaseResponse:
    provider = current_provider()
    server = provider.server
    try:
        oauth_request = server.create_oauth2_request(None)
        client = server.authenticate_client(oauth_request, ALL_AUTH_METHODS, "par")
    except OAuth2Error as err:
        return _oauth_error(err)
    params = {k: v for k, v in as_dict_of_lists(request.form).items() if k not in CLIENT_AUTH_PARAMS}
    if params.get("request_uri"):
        return _oauth_error(InvalidRequestError("request_uri is not allowed in a pushed request"))
    if params.get("request"):
        return _json_error("request_not_supported", "request objects are not supported")
    params["client_id"] = [client.client_id]
    try:
        # RFC 9449 §10.1: a proof sent with the pushed request binds the code to its key
        proof_jkt = provider.check_dpop_proof(_dpop_header(), method="POST", path="/par")
    except InvalidDPoPProofError as err:
        return _oauth_error(err)
    try:
        areq = validate_authorization_request(
            params,
            find_client=provider.active_client,
            keys=provider.keys,
            issuer=provider.issuer,
            from_par=True,
            proof_jkts=(proof_jkt,) if proof_jkt else (),
        )
    except (UnsafeRequestError, RedirectableError) as err:
        return _json_error(err.error, err.description)
    request_uri = provider.pushed.push(client.client_id, params, dpop_jkt=areq.dpop_jkt)
    response = jsonify(request_uri=request_uri, expires_in=provider.pushed.ttl)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


# -- token, introspection, revocation (authlib) ------------------------------------------------------------


@bp.post("/token")
@csrf_exempt
def token() -> BaseResponse:
    provider = current_provider()
    try:
        g.antin_dpop_jkt = provider.check_token_request_dpop(_dpop_header())
    except InvalidDPoPProofError as err:
        return _oauth_error(err)
    response: Response = provider.server.create_token_response()
    return response


@bp.post("/introspect")
@csrf_exempt
def introspect() -> BaseResponse:
    response: Response = current_provider().server.create_endpoint_response("introspection")
    return response


@bp.post("/revoke")
@csrf_exempt
def revoke() -> BaseResponse:
    response: Response = current_provider().server.create_endpoint_response("revocation")
    return response


# -- userinfo ----------------------------------------------------------------------------------------------


def _unauthorized(
    scheme: str, error: str | None = None, description: str | None = None, status: int = 401
) -> BaseResponse:
    parts = [f'{scheme} realm="antin"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scheme == "DPoP":
        parts.append('algs="ES256 RS256 PS256 EdDSA"')
    response = jsonify(error=error or "invalid_request", error_description=description or "")
    response.status_code = status
    response.headers["WWW-Authenticate"] = ", ".join(parts)
    response.headers["Cache-Control"] = "no-store"
    return response


def _presented_token() -> tuple[str | None, str]:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() in ("bearer", "dpop") and value.strip():
        return value.strip(), "DPoP" if scheme.lower() == "dpop" else "Bearer"
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        value = request.form.get("access_token", "")
        if value:
            return value, "Bearer"
    value = request.args.get("access_token", "")
    if value:
        return value, "Bearer"
    return None, "Bearer"


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf_exempt
def userinfo() -> BaseResponse:
    provider = current_provider()
    access_token, scheme = _presented_token()
    if access_token is None:
        return _unauthorized("Bearer")
    info = provider.tokens.verify_access_token(access_token)
    if info is None:
        return _unauthorized(scheme, "invalid_token", "the access token is not valid")
    aud = info.claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if provider.issuer not in audiences:
        return _unauthorized(scheme, "invalid_token", "the access token is for another resource")
    if info.dpop_jkt:
        try:
            proof = _dpop_header()
        except InvalidDPoPProofError as err:
            return _unauthorized("DPoP", "invalid_dpop_proof", err.description)
        if scheme != "DPoP" or not proof:
            return _unauthorized("DPoP", "invalid_token", "this token must be used with DPoP")
        try:
            jkt = provider.check_dpop_proof(proof, method=request.method, path="/userinfo", access_token=access_token)
        except UseDPoPNonceError as err:
            # RFC 9449 §9: a 401 with the nonce to use (the DPoP-Nonce header is added after the request)
            return _unauthorized("DPoP", "use_dpop_nonce", err.description)
        except InvalidDPoPProofError as err:
            return _unauthorized("DPoP", "invalid_dpop_proof", err.description)
        if jkt != info.dpop_jkt:
            return _unauthorized("DPoP", "invalid_token", "the DPoP key does not match the token")
    elif scheme == "DPoP":
        return _unauthorized("Bearer", "invalid_token", "this token is not DPoP-bound")
    if "openid" not in info.scopes or not info.subject:
        return _unauthorized(scheme, "insufficient_scope", "the token has no openid scope", status=403)
    try:
        person = provider.directory.find_by_uuid(info.subject)
    except DirectoryUnavailableError:
        response = jsonify(error="temporarily_unavailable", error_description="the directory is not reachable")
        response.status_code = 503
        return response
    if person is None or not person.active:
        return _unauthorized(scheme, "invalid_token", "the account is no longer active")
    client = provider.clients.get(info.client_id)
    extra = provider.individually_requested(client, info.scopes, info.claims_request, "userinfo") if client else set()
    response = jsonify(claims_for(person, info.scopes, extra=extra))
    response.headers["Cache-Control"] = "no-store"
    return response


# -- RP-initiated logout -----------------------------------------------------------------------------------


@bp.route("/logout", methods=["GET", "POST"])
@csrf_exempt
def logout() -> BaseResponse:
    provider = current_provider()
    values = request.form if request.method == "POST" else request.args
    hint = values.get("id_token_hint") or None
    client_id = values.get("client_id") or None
    post_logout_uri = values.get("post_logout_redirect_uri") or None
    state = values.get("state") or None
    hint_claims: dict[str, Any] | None = None
    if hint:
        try:
            # only an ID token: an access or logout token in a link must not sign an official out
            _header, hint_claims = provider.keys.verify_as(hint, TokenType.ID_TOKEN)
        except InvalidJwtError:
            return error_page(_("Sign-out request refused"), _("The application sent an invalid sign-out request."))
        if hint_claims.get("iss") != provider.issuer:
            return error_page(_("Sign-out request refused"), _("The application sent an invalid sign-out request."))
        aud = hint_claims.get("aud")
        hint_client = aud[0] if isinstance(aud, list) and aud else aud
        if client_id and client_id != hint_client:
            return error_page(_("Sign-out request refused"), _("The application sent an invalid sign-out request."))
        client_id = str(hint_client)
    client = provider.clients.get(client_id) if client_id else None
    if post_logout_uri is not None and (client is None or post_logout_uri not in client.post_logout_redirect_uris):
        return error_page(
            _("Sign-out request refused"),
            _("The application asked to return to an address it has not registered."),
            code="post_logout_redirect_uri not registered",
        )
    sso = current_sso_session()
    confirmed = request.method == "POST" and values.get("confirm") == "yes" and _csrf_ok(values.get("csrf_token"))
    hint_matches = (
        sso is not None
        and hint_claims is not None
        and (
            hint_claims.get("sid") == sso.sid or (not hint_claims.get("sid") and hint_claims.get("sub") == sso.subject)
        )
    )
    if sso is not None and not (hint_matches or confirmed):
        return Response(
            render_template(
                "antin/logout_confirm.html",
                client=client,
                params={
                    "id_token_hint": hint or "",
                    "client_id": client_id or "",
                    "post_logout_redirect_uri": post_logout_uri or "",
                    "state": state or "",
                },
            ),
            mimetype="text/html",
        )
    if sso is not None:
        provider.end_session(sso.sid, reason="rp-initiated logout" if hint_matches else "signed out")
    if post_logout_uri is not None:
        target = add_params_to_uri(post_logout_uri, [("state", state)] if state else [])
        response = redirect(target, code=303)
    else:
        response = Response(render_template("antin/logged_out.html", client=client), mimetype="text/html")
    clear_sso_cookie(response)
    return response


def _csrf_ok(token: str | None) -> bool:
    return csrf_token_valid(token)
