"""The userinfo endpoint (OpenID Connect Core 5.3), with Bearer and DPoP-bound access tokens."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import csrf_exempt
from directory.errors import DirectoryUnavailableError
from idp.oidc.browser import current_provider
from idp.oidc.claims import claims_for
from idp.oidc.errors import InvalidDPoPProofError, UseDPoPNonceError
from idp.oidc.views.common import bp, dpop_header

__all__ = ["userinfo"]


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
    # a disabled client's tokens are refused at once, as introspection and the resource servers refuse them
    client = provider.clients.active(info.client_id)
    if client is None:
        return _unauthorized(scheme, "invalid_token", "the access token is not valid")
    aud = info.claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if provider.issuer not in audiences:
        return _unauthorized(scheme, "invalid_token", "the access token is for another resource")
    if info.dpop_jkt:
        try:
            proof = dpop_header()
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
    extra = provider.individually_requested(client, info.scopes, info.claims_request, "userinfo")
    response = jsonify(claims_for(person, info.scopes, extra=extra))
    response.headers["Cache-Control"] = "no-store"
    return response
