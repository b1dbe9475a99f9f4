"""PAR, client_credentials with resource indicators, private_key_jwt, DPoP, introspection and revocation."""

from __future__ import annotations

import time

import pytest
import requests

from tests.idp.jose_check import EcKey, hs256, unsigned, verify_jws
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty


def test_pushed_authorization_request(rp: RelyingParty, browser: Browser) -> None:
    params = rp.auth_params()
    pushed = requests.post(rp.op.issuer + "/par", data=params, auth=(rp.client.client_id, rp.secret), timeout=10)
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:") and pushed.json()["expires_in"] > 0
    start = rp.op.issuer + "/authorize"
    outcome = browser.go(
        requests.Request("GET", start, params={"client_id": rp.client.client_id, "request_uri": request_uri})
        .prepare()
        .url
        or start
    )
    assert outcome.page is not None
    callback = browser.login(outcome.page, "an.nguyen", "correct horse").params
    assert callback["state"] == params["state"] and callback["iss"] == rp.op.issuer
    assert rp.exchange(callback["code"]).status_code == 200
    # a request_uri is single use
    again = browser.go(start + f"?client_id={rp.client.client_id}&request_uri={request_uri}")
    assert again.location is None and again.page is not None and again.page.status_code == 400


def test_par_requires_client_authentication_and_valid_request(rp: RelyingParty) -> None:
    params = rp.auth_params()
    assert (
        requests.post(rp.op.issuer + "/par", data=params, auth=(rp.client.client_id, "wrong"), timeout=10).status_code
        == 401
    )
    bad = dict(params, redirect_uri="https://attacker.example/cb")
    refused = requests.post(rp.op.issuer + "/par", data=bad, auth=(rp.client.client_id, rp.secret), timeout=10)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"


def _service(op: LiveProvider, **spec: object) -> RelyingParty:
    from idp.oidc.clients import ClientSpec

    values: dict[str, object] = {"name": "Service", "grant_types": ("client_credentials",), "scopes": ("profile",)}
    values.update(spec)
    record, secret = op.provider.clients.add(ClientSpec(**values))  # type: ignore[arg-type]
    return RelyingParty(op, record, secret)


def test_client_credentials_with_resource(op: LiveProvider) -> None:
    service = _service(op)
    response = service.token_request({"grant_type": "client_credentials", "resource": "https://sign.antin.vn/api"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body and "id_token" not in body
    header, claims = verify_jws(body["access_token"], service.jwks, allowed_algs=("ES256",))
    assert header["typ"] == "at+jwt"
    assert claims["aud"] == "https://sign.antin.vn/api"
    assert claims["sub"] == claims["client_id"] == service.client.client_id
    assert claims["iss"] == op.issuer and claims["exp"] > time.time()
    assert service.token_request({"grant_type": "client_credentials", "scope": "openid"}).status_code == 400
    assert service.token_request({"grant_type": "client_credentials", "resource": "not a uri"}).json()["error"] == (
        "invalid_target"
    )


def test_private_key_jwt(op: LiveProvider) -> None:
    key = EcKey()
    service = _service(op, auth_method="private_key_jwt", jwks=key.jwks())
    token_url = op.issuer + "/token"

    def assertion_request(assertion: str) -> requests.Response:
        return requests.post(
            token_url,
            timeout=10,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        )

    good = key.client_assertion(service.client.client_id, token_url)
    assert assertion_request(good).status_code == 200

    def refused(assertion: str) -> bool:
        response = assertion_request(assertion)
        return response.status_code in (400, 401) and response.json()["error"] == "invalid_client"

    assert refused(good)  # jti replay
    claims = {
        "iss": service.client.client_id,
        "sub": service.client.client_id,
        "aud": token_url,
        "exp": int(time.time()) + 60,
        "jti": "x1",
    }
    assert refused(unsigned({"alg": "none"}, claims))
    assert refused(hs256({"alg": "HS256", "kid": key.kid}, dict(claims, jti="x2"), b"public-key-as-secret"))
    assert refused(EcKey(kid=key.kid).client_assertion(service.client.client_id, token_url))
    assert refused(key.client_assertion(service.client.client_id, "https://elsewhere.example/token"))
    # the secret methods are not accepted for a private_key_jwt client
    assert service.token_request({"grant_type": "client_credentials"}, auth="basic").status_code == 401


def test_dpop_bound_tokens(op: LiveProvider, browser: Browser) -> None:
    public = RelyingParty.register(op, name="Mobile", public=True)
    key = EcKey()
    params = public.sign_in(browser)
    token_url = op.issuer + "/token"
    response = public.exchange(params["code"], headers={"DPoP": key.dpop_proof("POST", token_url)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    _, claims = verify_jws(body["access_token"], public.jwks, allowed_algs=("ES256",))
    assert claims["cnf"]["jkt"] == key.thumbprint()
    userinfo = op.issuer + "/userinfo"
    at = body["access_token"]
    ok = requests.get(
        userinfo,
        timeout=10,
        headers={"Authorization": f"DPoP {at}", "DPoP": key.dpop_proof("GET", userinfo, access_token=at)},
    )
    assert ok.status_code == 200, ok.text
    # as a bearer token, without a proof, or with another key's proof: refused
    assert requests.get(userinfo, headers={"Authorization": f"Bearer {at}"}, timeout=10).status_code == 401
    thief = EcKey()
    stolen = requests.get(
        userinfo,
        timeout=10,
        headers={"Authorization": f"DPoP {at}", "DPoP": thief.dpop_proof("GET", userinfo, access_token=at)},
    )
    assert stolen.status_code == 401
    # a proof is single use, and must be for this request
    proof = key.dpop_proof("GET", userinfo, access_token=at)
    headers = {"Authorization": f"DPoP {at}", "DPoP": proof}
    assert requests.get(userinfo, headers=headers, timeout=10).status_code == 200
    assert requests.get(userinfo, headers=headers, timeout=10).status_code == 401
    wrong_url = key.dpop_proof("GET", op.issuer + "/elsewhere", access_token=at)
    assert (
        requests.get(userinfo, headers={"Authorization": f"DPoP {at}", "DPoP": wrong_url}, timeout=10).status_code
        == 401
    )
    # the public client's refresh token is bound to the key too
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert public.token_request(refresh, auth="none").status_code == 400
    renewed = public.token_request(refresh, auth="none", headers={"DPoP": key.dpop_proof("POST", token_url)})
    assert renewed.status_code == 200 and renewed.json()["token_type"] == "DPoP"


def test_dpop_proof_with_hmac_or_none_refused(op: LiveProvider, browser: Browser) -> None:
    public = RelyingParty.register(op, name="Mobile", public=True)
    params = public.sign_in(browser)
    token_url = op.issuer + "/token"
    claims = {"jti": "j1", "htm": "POST", "htu": token_url, "iat": int(time.time())}
    for proof in (
        unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": EcKey().public_jwk}, claims),
        hs256({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}}, claims, b"secret"),
    ):
        response = public.exchange(params["code"], headers={"DPoP": proof})
        assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"


def test_introspection_and_revocation(rp: RelyingParty, browser: Browser, op: LiveProvider) -> None:
    tokens = rp.code_flow(browser)
    url = op.issuer + "/introspect"
    auth = (rp.client.client_id, rp.secret)
    info = requests.post(url, data={"token": tokens["access_token"]}, auth=auth, timeout=10).json()
    assert info["active"] is True and info["client_id"] == rp.client.client_id
    assert info["sub"] == tokens["id_claims"]["sub"] and info["iss"] == op.issuer
    refresh_info = requests.post(
        url, data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}, auth=auth, timeout=10
    ).json()
    assert refresh_info["active"] is True and refresh_info["token_type"] == "refresh_token"
    assert requests.post(url, data={"token": "nonsense"}, auth=auth, timeout=10).json() == {"active": False}
    # another (third-party) client may not introspect this client's tokens
    other = RelyingParty.register(op, name="Other", trusted=False)
    assert requests.post(
        url, data={"token": tokens["access_token"]}, auth=(other.client.client_id, other.secret), timeout=10
    ).json() == {"active": False}
    assert requests.post(url, data={"token": tokens["access_token"]}, timeout=10).status_code == 401

    revoke = op.issuer + "/revoke"
    assert (
        requests.post(
            revoke, data={"token": tokens["access_token"], "token_type_hint": "access_token"}, auth=auth, timeout=10
        ).status_code
        == 200
    )
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    assert requests.post(url, data={"token": tokens["access_token"]}, auth=auth, timeout=10).json() == {"active": False}
    # revoking the refresh token ends its whole grant
    assert requests.post(revoke, data={"token": tokens["refresh_token"]}, auth=auth, timeout=10).status_code == 200
    again = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert again.json()["error"] == "invalid_grant"
    # unknown tokens: 200 as RFC 7009 says
    assert requests.post(revoke, data={"token": "unknown"}, auth=auth, timeout=10).status_code == 200


def test_disabled_client_is_refused(rp: RelyingParty, browser: Browser, op: LiveProvider) -> None:
    params = rp.sign_in(browser)
    op.provider.clients.set_disabled(rp.client.client_id)
    assert rp.exchange(params["code"]).status_code == 401
    outcome = rp.authorize(browser)
    assert outcome.location is None and outcome.page is not None and outcome.page.status_code == 400


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"claims": '{"userinfo": []}'}, "invalid_request"),
        ({"scope": "profile-only-unknown"}, "invalid_scope"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"resource": "relative/path"}, "invalid_target"),
        ({"code_challenge": "short"}, "invalid_request"),
    ],
)
def test_authorization_request_errors_go_back_with_iss(
    rp: RelyingParty, browser: Browser, params: dict[str, str], error: str
) -> None:
    outcome = rp.authorize(browser, **params)
    assert outcome.params["error"] == error
    assert outcome.params["state"] == rp.last["state"] and outcome.params["iss"] == rp.op.issuer


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "unknown"},
        {"client_id": None},
        {"redirect_uri": None},
        {"redirect_uri": "http://localhost:9/cb/extra"},
    ],
    ids=["unknown-client", "no-client", "no-redirect-uri", "redirect-uri-prefix"],
)
def test_unsafe_requests_show_an_error_page(rp: RelyingParty, browser: Browser, params: dict[str, str]) -> None:
    outcome = rp.authorize(browser, **params)
    assert outcome.location is None and outcome.page is not None and outcome.page.status_code == 400
    assert 'id="error-title"' in outcome.page.text


def test_duplicate_parameters_are_refused(rp: RelyingParty, browser: Browser) -> None:
    url = rp.op.issuer + "/authorize?" + "&".join(f"{k}={v}" for k, v in rp.auth_params().items()) + "&scope=openid"
    outcome = browser.go(url)
    assert outcome.location is None and outcome.page is not None and outcome.page.status_code == 400
