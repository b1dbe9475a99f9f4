"""The OpenID Foundation's ``oidcc-basic-certification-test-plan``, module by module, against a live provider.

Each test is named after the conformance-suite module it reproduces (see shared/OIDF-PLANS.md); every token is
checked with an independent verifier (tests/idp/jose_check.py, on `cryptography` alone).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import requests

from tests.idp.jose_check import BadTokenError, b64d, b64e, hs256, unsigned, verify_jws
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty


def test_oidcc_server(rp: RelyingParty, browser: Browser, directory) -> None:
    tokens = rp.code_flow(browser)
    claims = tokens["id_claims"]
    assert claims["sub"] == directory.people["an.nguyen"].entry_uuid
    assert claims["auth_time"] <= time.time()
    assert claims["sid"]
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]


def test_oidcc_response_type_missing(rp: RelyingParty, browser: Browser) -> None:
    outcome = rp.authorize(browser, response_type=None)
    assert outcome.params["error"] == "invalid_request"
    assert outcome.params["state"] == rp.last["state"]
    assert outcome.params["iss"] == rp.op.issuer


def test_oidcc_idtoken_signature(rp: RelyingParty, browser: Browser) -> None:
    tokens = rp.code_flow(browser)
    header, _ = verify_jws(tokens["id_token"], rp.jwks, allowed_algs=("RS256",))
    assert header["alg"] == "RS256" and header["kid"]
    # the independent verifier really checks: one flipped bit in the signature fails
    h, p, s = tokens["id_token"].split(".")
    sig = bytearray(b64d(s))
    sig[10] ^= 1
    with pytest.raises(BadTokenError):
        verify_jws(f"{h}.{p}.{b64e(bytes(sig))}", rp.jwks)


def test_oidcc_idtoken_unsigned(op: LiveProvider) -> None:
    # static clients only: an unsigned ID token can never be registered, and none is never advertised
    from idp.oidc.clients import ClientError, ClientSpec

    with pytest.raises(ClientError):
        op.provider.clients.add(
            ClientSpec(name="x", redirect_uris=("http://localhost/cb",), id_token_signed_response_alg="none")
        )
    metadata = requests.get(op.issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert "none" not in metadata["id_token_signing_alg_values_supported"]


def test_oidcc_userinfo_get(rp: RelyingParty, browser: Browser, directory) -> None:
    tokens = rp.code_flow(browser)
    r = rp.userinfo(tokens["access_token"])
    assert r.status_code == 200
    assert r.json()["sub"] == tokens["id_claims"]["sub"]
    assert r.json()["name"] == "Nguyễn Văn An"


def test_oidcc_userinfo_post_header(rp: RelyingParty, browser: Browser) -> None:
    tokens = rp.code_flow(browser)
    r = rp.userinfo(tokens["access_token"], method="POST")
    assert r.status_code == 200 and r.json()["sub"] == tokens["id_claims"]["sub"]


def test_oidcc_userinfo_post_body(rp: RelyingParty, browser: Browser) -> None:
    tokens = rp.code_flow(browser)
    r = rp.userinfo(tokens["access_token"], where="body")
    assert r.status_code == 200 and r.json()["sub"] == tokens["id_claims"]["sub"]


def test_userinfo_query(rp: RelyingParty, browser: Browser) -> None:
    tokens = rp.code_flow(browser)
    r = rp.userinfo(tokens["access_token"], where="query")
    assert r.status_code == 200 and r.json()["sub"] == tokens["id_claims"]["sub"]
    assert requests.get(rp.op.issuer + "/userinfo", timeout=10).status_code == 401
    bad = rp.userinfo(tokens["access_token"][:-4] + "AAAA")
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(rp: RelyingParty, browser: Browser) -> None:
    tokens = rp.code_flow(browser, nonce=None)
    assert "nonce" not in tokens["id_claims"]


@pytest.mark.parametrize(
    ("scope", "expected", "absent"),
    [
        ("openid profile", {"name", "family_name", "given_name", "preferred_username"}, {"email", "phone_number"}),
        ("openid email", {"email", "email_verified"}, {"name"}),
        ("openid address", set(), {"name", "email"}),  # no address in the directory: ignored, not an error
        ("openid phone", {"phone_number", "phone_number_verified"}, {"email"}),
        ("openid profile email address phone", {"name", "email", "phone_number"}, set()),
    ],
    ids=["oidcc_scope_profile", "oidcc_scope_email", "oidcc_scope_address", "oidcc_scope_phone", "oidcc_scope_all"],
)
def test_oidcc_scope(rp: RelyingParty, browser: Browser, scope: str, expected: set[str], absent: set[str]) -> None:
    tokens = rp.code_flow(browser, scope=scope)
    info = rp.userinfo(tokens["access_token"]).json()
    assert expected <= set(info)
    assert not absent & set(info)
    assert "address" not in tokens["scope"]


def test_scope_party(rp: RelyingParty, browser: Browser) -> None:
    tokens = rp.code_flow(browser, scope="openid party")
    info = rp.userinfo(tokens["access_token"]).json()
    assert info["party_unit"]["dn"] == "ou=vp,ou=units,dc=antin,dc=vn"
    assert [u["name"] for u in info["party_unit_path"]] == ["Văn phòng Tỉnh ủy", "Tỉnh ủy Bắc Ninh"]
    assert info["party_position"] == "Chánh Văn phòng"
    assert info["party_employee_number"] == "NV-0001"
    assert info["party_groups"] == ["can-bo", "van-thu"]


def test_oidcc_alternate_happy_flow(rp: RelyingParty, browser: Browser) -> None:
    tokens = rp.code_flow(browser, scope="email profile openid")
    assert set(tokens["scope"].split()) == {"openid", "profile", "email"}


@pytest.mark.parametrize("display", ["page", "popup"], ids=["oidcc_display_page", "oidcc_display_popup"])
def test_oidcc_display(rp: RelyingParty, browser: Browser, display: str) -> None:
    assert rp.code_flow(browser, display=display)["id_claims"]


def test_oidcc_prompt_login(rp: RelyingParty, browser: Browser) -> None:
    first = rp.code_flow(browser)["id_claims"]
    time.sleep(1.1)
    outcome = rp.authorize(browser, prompt="login")
    assert outcome.page is not None and "login-form" in outcome.page.text  # re-authentication forced
    params = browser.login(outcome.page, "an.nguyen", "correct horse").params
    second = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"], nonce=rp.last["nonce"])
    assert second["auth_time"] > first["auth_time"]
    assert second["sub"] == first["sub"]


def test_oidcc_prompt_none_not_logged_in(rp: RelyingParty, browser: Browser) -> None:
    outcome = rp.authorize(browser, prompt="none")
    assert outcome.params["error"] == "login_required"
    assert outcome.params["state"] == rp.last["state"]
    assert outcome.params["iss"] == rp.op.issuer


def test_oidcc_prompt_none_logged_in(rp: RelyingParty, browser: Browser) -> None:
    first = rp.code_flow(browser)["id_claims"]
    outcome = rp.authorize(browser, prompt="none")
    second = rp.verify_id_token(rp.exchange(outcome.params["code"]).json()["id_token"], nonce=rp.last["nonce"])
    assert (second["sub"], second["auth_time"]) == (first["sub"], first["auth_time"])


def test_oidcc_max_age_1(rp: RelyingParty, browser: Browser) -> None:
    first = rp.code_flow(browser)["id_claims"]
    time.sleep(2)
    outcome = rp.authorize(browser, max_age="1")
    assert outcome.page is not None and "login-form" in outcome.page.text
    params = browser.login(outcome.page, "an.nguyen", "correct horse").params
    second = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert second["auth_time"] > first["auth_time"]


def test_oidcc_max_age_10000(rp: RelyingParty, browser: Browser) -> None:
    first = rp.code_flow(browser)["id_claims"]
    outcome = rp.authorize(browser, max_age="10000")
    second = rp.verify_id_token(rp.exchange(outcome.params["code"]).json()["id_token"])
    assert (second["sub"], second["auth_time"]) == (first["sub"], first["auth_time"])


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(rp: RelyingParty, browser: Browser) -> None:
    assert rp.code_flow(browser, extra="foobar")["id_claims"]


def test_oidcc_id_token_hint(rp: RelyingParty, browser: Browser) -> None:
    first = rp.code_flow(browser)
    outcome = rp.authorize(browser, prompt="none", id_token_hint=first["id_token"])
    second = rp.verify_id_token(rp.exchange(outcome.params["code"]).json()["id_token"])
    assert second["sub"] == first["id_claims"]["sub"]


def test_id_token_hint_unsigned_or_hmac_refused(rp: RelyingParty, browser: Browser, op: LiveProvider) -> None:
    first = rp.code_flow(browser)
    claims = first["id_claims"]
    for forged in (
        unsigned({"alg": "none", "typ": "JWT"}, claims),
        # HMAC keyed with the public RSA modulus: the classic key-confusion attack
        hs256(
            {"alg": "HS256", "kid": json.loads(b64d(first["id_token"].split(".")[0]))["kid"]},
            claims,
            json.dumps(rp.jwks["keys"][0]).encode(),
        ),
        first["id_token"][:-6] + "AAAAAA",
    ):
        outcome = rp.authorize(browser, prompt="none", id_token_hint=forged)
        assert outcome.params["error"] == "invalid_request", forged


def test_oidcc_login_hint(rp: RelyingParty, browser: Browser) -> None:
    outcome = rp.authorize(browser, login_hint="binh.tran@antin.vn")
    assert outcome.page is not None and 'value="binh.tran@antin.vn"' in outcome.page.text
    params = browser.login(outcome.page, "binh.tran@antin.vn", "correct horse").params
    assert rp.exchange(params["code"]).status_code == 200


def test_oidcc_ui_locales(rp: RelyingParty, browser: Browser) -> None:
    outcome = rp.authorize(browser, ui_locales="en-GB vi")
    assert outcome.page is not None and 'lang="en"' in outcome.page.text and "Sign in" in outcome.page.text
    outcome = rp.authorize(Browser(rp.op.issuer), ui_locales="vi")
    assert outcome.page is not None and 'lang="vi"' in outcome.page.text and "Đăng nhập" in outcome.page.text


def test_oidcc_claims_locales(rp: RelyingParty, browser: Browser) -> None:
    assert rp.code_flow(browser, claims_locales="vi-VN en")["id_claims"]


def test_oidcc_ensure_request_with_acr_values_succeeds(rp: RelyingParty, browser: Browser) -> None:
    tokens = rp.code_flow(browser, acr_values="urn:antin:acr:password urn:unknown")
    assert tokens["id_claims"]["acr"] == "urn:antin:acr:password"
    assert tokens["id_claims"]["amr"] == ["pwd"]


def test_oidcc_codereuse(rp: RelyingParty, browser: Browser) -> None:
    params = rp.sign_in(browser)
    assert rp.exchange(params["code"]).status_code == 200
    again = rp.exchange(params["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_oidcc_codereuse_30seconds(rp: RelyingParty, browser: Browser, op: LiveProvider) -> None:
    params = rp.sign_in(browser)
    tokens = rp.exchange(params["code"]).json()
    assert rp.userinfo(tokens["access_token"]).status_code == 200
    op.instance.clock.advance(timedelta(seconds=30))
    again = rp.exchange(params["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    op.instance.clock.reset()
    # what the first use issued is revoked
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    refresh = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refresh.json()["error"] == "invalid_grant"


def test_oidcc_ensure_registered_redirect_uri(rp: RelyingParty, browser: Browser) -> None:
    outcome = rp.authorize(browser, redirect_uri="https://attacker.example/cb")
    assert outcome.location is None  # never redirected
    assert outcome.page is not None and outcome.page.status_code == 400
    assert "error-message" in outcome.page.text and "Traceback" not in outcome.page.text


def test_oidcc_ensure_post_request_succeeds(rp: RelyingParty, browser: Browser) -> None:
    outcome = rp.authorize(browser, method="POST")
    assert outcome.page is not None
    params = browser.login(outcome.page, "an.nguyen", "correct horse").params
    assert params["state"] == rp.last["state"]
    assert rp.exchange(params["code"]).status_code == 200


def test_oidcc_server_client_secret_post(rp: RelyingParty, browser: Browser) -> None:
    params = rp.sign_in(browser)
    response = rp.exchange(params["code"], auth="post")
    assert response.status_code == 200
    rp.verify_id_token(response.json()["id_token"], nonce=rp.last["nonce"])


def test_oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
    rp: RelyingParty, browser: Browser
) -> None:
    outcome = rp.authorize(browser, request_uri="https://rp.example/request.jwt")
    assert outcome.params["error"] == "request_uri_not_supported"
    assert outcome.params["iss"] == rp.op.issuer


def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    rp: RelyingParty, browser: Browser
) -> None:
    request_object = unsigned({"alg": "none"}, {"client_id": rp.client.client_id, "scope": "openid"})
    outcome = rp.authorize(browser, request=request_object)
    assert outcome.params["error"] == "request_not_supported"


def test_oidcc_ensure_request_object_with_redirect_uri(rp: RelyingParty, browser: Browser) -> None:
    request_object = unsigned({"alg": "none"}, {"redirect_uri": "https://attacker.example/cb"})
    outcome = rp.authorize(browser, request=request_object)
    # rejected, and the redirect goes only to the registered URI given outside the object
    assert outcome.location is not None and outcome.location.startswith(rp.redirect_uri)
    assert outcome.params["error"] == "request_not_supported"


def test_oidcc_claims_essential(rp: RelyingParty, browser: Browser) -> None:
    claims = {"userinfo": {"name": {"essential": True}}, "id_token": {"email": {"essential": True}}}
    tokens = rp.code_flow(browser, scope="openid", claims=json.dumps(claims))
    assert tokens["id_claims"]["email"] == "an.nguyen@antin.vn"
    info = rp.userinfo(tokens["access_token"]).json()
    assert info["name"] == "Nguyễn Văn An" and "email" not in info


def test_claims_essential_acr(rp: RelyingParty, browser: Browser) -> None:
    claims = {"id_token": {"acr": {"essential": True, "values": ["urn:antin:acr:password"]}}}
    assert rp.code_flow(browser, claims=json.dumps(claims))["id_claims"]["acr"] == "urn:antin:acr:password"
    stronger = {"id_token": {"acr": {"essential": True, "values": ["urn:antin:acr:phishing-resistant"]}}}
    outcome = rp.authorize(Browser(rp.op.issuer), claims=json.dumps(stronger))
    outcome = Browser(rp.op.issuer).login(outcome.page, "an.nguyen", "correct horse") if outcome.page else outcome
    # a password alone cannot satisfy an essential phishing-resistant level
    assert outcome.location is None or outcome.params.get("error") == "unmet_authentication_requirements"


def test_oidcc_refresh_token(rp: RelyingParty, browser: Browser, op: LiveProvider) -> None:
    tokens = rp.code_flow(browser)
    refreshed = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["refresh_token"] != tokens["refresh_token"]
    claims = rp.verify_id_token(body["id_token"], access_token=body["access_token"])
    assert claims["sub"] == tokens["id_claims"]["sub"]
    assert rp.userinfo(body["access_token"]).status_code == 200
    # bound to its client
    other = RelyingParty.register(op, name="Other")
    stolen = other.token_request({"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


def test_refresh_reuse_revokes_family(rp: RelyingParty, browser: Browser) -> None:
    tokens = rp.code_flow(browser)
    first = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    reuse = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert reuse.json()["error"] == "invalid_grant"
    # the whole family is gone: the rotated token and the access tokens issued with it
    later = rp.token_request({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert later.json()["error"] == "invalid_grant"
    assert rp.userinfo(first["access_token"]).status_code == 401


def test_oidcc_ensure_request_with_valid_pkce_succeeds(op: LiveProvider, browser: Browser) -> None:
    public = RelyingParty.register(op, name="SPA", public=True)
    tokens = public.code_flow(browser)
    assert tokens["id_claims"]["aud"] == public.client.client_id


def test_pkce_required_and_plain_refused(rp: RelyingParty, browser: Browser) -> None:
    assert rp.authorize(browser, code_challenge=None, code_challenge_method=None).params["error"] == "invalid_request"
    outcome = rp.authorize(browser, code_challenge="a" * 43, code_challenge_method="plain")
    assert outcome.params["error"] == "invalid_request"
    assert rp.authorize(browser, code_challenge_method=None).params["error"] == "invalid_request"
    params = rp.sign_in(browser)
    wrong = rp.exchange(params["code"], verifier="b" * 43)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_claims_parameter_cannot_bypass_consent(op: LiveProvider) -> None:
    """A third-party client asking for claims one by one gets only those of the scopes the official allowed."""
    third = RelyingParty.register(op, name="Partner", trusted=False)
    browser = Browser(op.issuer)
    claims = {"userinfo": {"party_groups": None, "email": None}, "id_token": {"party_unit": None, "name": None}}
    outcome = third.authorize(browser, scope="openid profile", claims=json.dumps(claims))
    consent = browser.login(outcome.page, "an.nguyen", "correct horse")  # type: ignore[arg-type]
    params = browser.submit(consent.page, "consent-form", {"decision": "allow"}).params  # type: ignore[arg-type]
    tokens = third.exchange(params["code"]).json()
    id_claims = third.verify_id_token(tokens["id_token"])
    assert id_claims["name"] == "Nguyễn Văn An" and "party_unit" not in id_claims
    info = third.userinfo(tokens["access_token"]).json()
    assert "party_groups" not in info and "email" not in info and info["name"] == "Nguyễn Văn An"
