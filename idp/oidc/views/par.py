"""Pushed authorization requests (RFC 9126): ``/par``."""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from flask import jsonify, request
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import csrf_exempt
from idp.oidc.authorize import validate_authorization_request
from idp.oidc.browser import as_dict_of_lists, current_provider
from idp.oidc.client_auth import ALL_AUTH_METHODS
from idp.oidc.errors import InvalidDPoPProofError, RedirectableError, UnsafeRequestError
from idp.oidc.views.common import CLIENT_AUTH_PARAMS, bp, current_server, dpop_header, json_error, oauth_error

__all__ = ["par"]


@bp.post("/par")
@csrf_exempt
def par() -> BaseResponse:
    provider = current_provider()
    server = current_server()
    try:
        oauth_request = server.create_oauth2_request(None)
        client = server.authenticate_client(oauth_request, ALL_AUTH_METHODS, "par")
    except OAuth2Error as err:
        return oauth_error(err)
    params = {k: v for k, v in as_dict_of_lists(request.form).items() if k not in CLIENT_AUTH_PARAMS}
    if params.get("request_uri"):
        return oauth_error(InvalidRequestError("request_uri is not allowed in a pushed request"))
    if params.get("request"):
        return json_error("request_not_supported", "request objects are not supported")
    params["client_id"] = [client.client_id]
    try:
        # RFC 9449 §10.1: a proof sent with the pushed request binds the code to its key
        proof_jkt = provider.check_dpop_proof(dpop_header(), method="POST", path="/par")
    except InvalidDPoPProofError as err:
        return oauth_error(err)
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
        return json_error(err.error, err.description)
    request_uri = provider.pushed.push(client.client_id, params, dpop_jkt=areq.dpop_jkt)
    response = jsonify(request_uri=request_uri, expires_in=provider.pushed.ttl)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response
