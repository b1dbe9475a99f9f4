"""What every endpoint of the provider shares: the blueprint ``bp``, its response hooks, the DPoP header,
the authorization server, OAuth error responses."""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import Blueprint, Response, jsonify, request
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import get_instance
from idp.oidc.browser import current_provider, harden
from idp.oidc.errors import InvalidDPoPProofError
from idp.oidc.server import AntinAuthorizationServer, get_authorization_server

__all__ = ["CLIENT_AUTH_PARAMS", "bp", "current_server", "dpop_header", "json_error", "oauth_error"]

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


def current_server() -> AntinAuthorizationServer:
    return get_authorization_server(get_instance())


def dpop_header() -> str | None:
    """The request's one DPoP proof (RFC 9449 §4.3: more than one is refused)."""
    proofs = request.headers.getlist("DPoP")
    if len(proofs) > 1:
        raise InvalidDPoPProofError("more than one DPoP header")
    return proofs[0] if proofs else None


def oauth_error(error: OAuth2Error) -> BaseResponse:
    server = current_server()
    response: Response = server.handle_error_response(None, error)
    return response


def json_error(error: str, description: str, status: int = 400) -> BaseResponse:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
