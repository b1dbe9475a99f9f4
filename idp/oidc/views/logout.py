"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ``/logout``, with a confirmation page unless
the client's ``id_token_hint`` names this browser's session."""

from __future__ import annotations

from typing import Any

from authlib.common.urls import add_params_to_uri
from flask import Response, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import CSRF_FIELD, csrf_exempt, csrf_token_valid
from idp.oidc.browser import clear_sso_cookie, current_provider, current_sso_session, error_page
from idp.oidc.errors import InvalidJwtError
from idp.oidc.token_types import TokenType
from idp.oidc.views.common import bp

__all__ = ["logout"]


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
    confirmed = request.method == "POST" and values.get("confirm") == "yes" and csrf_token_valid(values.get(CSRF_FIELD))
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
        provider.end_session(
            sso.sid, reason="rp-initiated logout" if hint_matches else "signed out", ip=request.remote_addr
        )
    if post_logout_uri is not None:
        target = add_params_to_uri(post_logout_uri, [("state", state)] if state else [])
        response = redirect(target, code=303)
    else:
        response = Response(render_template("antin/logged_out.html", client=client), mimetype="text/html")
    clear_sso_cookie(response)
    return response
