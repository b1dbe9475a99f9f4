"""The token, introspection and revocation endpoints: authlib answers them (:mod:`idp.oidc.server`)."""

from __future__ import annotations

from flask import Response, g
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import csrf_exempt
from idp.oidc.browser import current_provider
from idp.oidc.errors import InvalidDPoPProofError
from idp.oidc.views.common import bp, current_server, dpop_header, oauth_error

__all__ = ["introspect", "revoke", "token"]


@bp.post("/token")
@csrf_exempt
def token() -> BaseResponse:
    provider = current_provider()
    try:
        g.antin_dpop_jkt = provider.check_token_request_dpop(dpop_header())
    except InvalidDPoPProofError as err:
        return oauth_error(err)
    response: Response = current_server().create_token_response()
    return response


@bp.post("/introspect")
@csrf_exempt
def introspect() -> BaseResponse:
    response: Response = current_server().create_endpoint_response("introspection")
    return response


@bp.post("/revoke")
@csrf_exempt
def revoke() -> BaseResponse:
    response: Response = current_server().create_endpoint_response("revocation")
    return response
