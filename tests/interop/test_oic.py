"""Full flows driven by PyPI ``oic`` 1.7 (pyoidc, an independent Python RP): discovery, code + PKCE, ID token
signature checked against the JWKS, userinfo, refresh, for confidential and public clients."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import pytest
from oic.oic import Client
from oic.oic.message import AccessTokenResponse, AuthorizationResponse, OpenIDSchema, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty


def oic_client(op: LiveProvider, rp: RelyingParty) -> Client:
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(op.issuer)
    assert client.provider_info["issuer"] == op.issuer
    registration = {"client_id": rp.client.client_id, "redirect_uris": [rp.redirect_uri]}
    if rp.secret:
        registration["client_secret"] = rp.secret
    client.store_registration_info(RegistrationResponse(**registration))
    return client


def sign_in(op: LiveProvider, rp: RelyingParty, client: Client, browser: Browser) -> tuple[AuthorizationResponse, str]:
    state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    pkce, verifier = client.add_code_challenge()
    args = {
        "client_id": rp.client.client_id,
        "response_type": "code",
        "scope": ["openid", "profile", "email"],
        "nonce": nonce,
        "redirect_uri": rp.redirect_uri,
        "state": state,
        **pkce,
    }
    url = client.construct_AuthorizationRequest(request_args=args).request(client.authorization_endpoint)
    outcome = browser.go(url)
    if outcome.page is not None:
        outcome = browser.login(outcome.page, "an.nguyen", "correct horse")
    assert outcome.location is not None
    response = client.parse_response(AuthorizationResponse, info=urlsplit(outcome.location).query, sformat="urlencoded")
    assert response["state"] == state and response["iss"] == op.issuer
    return response, verifier


@pytest.mark.parametrize("public", [False, True], ids=["confidential", "public"])
def test_oic_code_flow_userinfo_refresh_logout(op: LiveProvider, public: bool) -> None:
    rp = RelyingParty.register(op, name="pyoidc", public=public, post_logout_redirect_uris=("http://localhost:9/bye",))
    client = oic_client(op, rp)
    authn = "" if public else "client_secret_basic"
    browser = Browser(op.issuer)
    response, verifier = sign_in(op, rp, client, browser)
    tokens = client.do_access_token_request(
        state=response["state"],
        request_args={"code": response["code"], "code_verifier": verifier},
        authn_method=authn,
    )
    assert isinstance(tokens, AccessTokenResponse), tokens
    id_token = tokens["id_token"]  # parsed and its signature verified by oic against the provider's JWKS
    sub = op.directory.people["an.nguyen"].entry_uuid
    assert id_token["sub"] == sub and id_token["iss"] == op.issuer and id_token["aud"] == [rp.client.client_id]
    info = client.do_user_info_request(state=response["state"], method="GET")
    assert isinstance(info, OpenIDSchema) and info["sub"] == sub and info["name"] == "Nguyễn Văn An"
    refreshed = client.do_access_token_refresh(state=response["state"], authn_method=authn)
    assert isinstance(refreshed, AccessTokenResponse), refreshed
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert rp.userinfo(refreshed["access_token"]).status_code == 200
    # RP-initiated logout with the ID token as hint, back to the registered URI with the state
    end_session = client.construct_EndSessionRequest(
        state=response["state"], request_args={"post_logout_redirect_uri": "http://localhost:9/bye", "state": "bye-1"}
    )
    assert end_session["id_token_hint"]
    logout = browser.go(end_session.request(client.provider_info["end_session_endpoint"]))
    assert logout.location is not None and logout.location.startswith("http://localhost:9/bye")
    assert logout.params["state"] == "bye-1"
    assert rp.userinfo(refreshed["access_token"]).status_code == 401


def test_oic_rejects_a_tampered_id_token(op: LiveProvider) -> None:
    """The independent RP really checks our signatures: a flipped bit is refused."""
    from oic.oic.message import IdToken

    rp = RelyingParty.register(op, name="pyoidc")
    client = oic_client(op, rp)
    tokens = rp.code_flow(Browser(op.issuer))
    header, payload, signature = tokens["id_token"].split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    client.keyjar.load_keys(client.provider_info, op.issuer)
    IdToken().from_jwt(tokens["id_token"], keyjar=client.keyjar, sender=op.issuer)
    with pytest.raises(Exception) as refused:
        IdToken().from_jwt(tampered, keyjar=client.keyjar, sender=op.issuer)
    assert "Signature" in type(refused.value).__name__ or "Verification" in type(refused.value).__name__, refused
