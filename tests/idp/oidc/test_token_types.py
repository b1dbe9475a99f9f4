"""Every JWT is verified as the type it must be: each token type, presented where each other type is expected,
is refused with that place's error. The tokens are real: issued by the provider (ID, access and logout tokens,
checked with the independent verifier) or made as a client makes them (DPoP proofs, client assertions)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from idp.oidc.clients import ClientSpec
from idp.oidc.token_types import TokenType, WrongTokenTypeError, check_token_type
from tests.idp.jose_check import EcKey, b64d, verify_jws
from tests.idp.oidc.test_consent_logout import Receiver
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class World:
    op: LiveProvider
    rp: RelyingParty  # a web application, signed in with ``browser``
    browser: Browser
    service: RelyingParty  # a private_key_jwt service client
    service_key: EcKey
    tokens: dict[TokenType, str]

    @property
    def token_url(self) -> str:
        return self.op.issuer + "/token"

    def assertion(self, **extra: Any) -> str:
        return self.service_key.client_assertion(self.service.client.client_id, self.token_url, **extra)

    def others(self, expected: TokenType) -> list[tuple[TokenType, str]]:
        return [(kind, token) for kind, token in self.tokens.items() if kind is not expected]

    def session_alive(self) -> bool:
        return "code" in self.rp.authorize(self.browser, prompt="none").params


def _wait_for_logout_token(receiver: Receiver) -> str:
    for _ in range(50):
        if receiver.tokens:
            return receiver.tokens[0]
        receiver.event.wait(0.2)
    raise AssertionError("no logout token delivered")


@pytest.fixture
def world(op: LiveProvider, browser: Browser) -> Iterator[World]:
    receiver = Receiver()
    try:
        rp = RelyingParty.register(op, name="Hồ sơ công việc", backchannel_logout_uri=receiver.url)
        signed_in = rp.code_flow(browser)
        # a logout token: another browser signs in to the same application and signs out
        elsewhere = Browser(op.issuer)
        ended = rp.code_flow(elsewhere)
        elsewhere.go(op.issuer + "/logout?" + urlencode({"id_token_hint": ended["id_token"]}))
        logout_token = _wait_for_logout_token(receiver)
        header, claims = verify_jws(logout_token, rp.jwks)
        assert header["typ"] == "logout+jwt" and claims["aud"] == rp.client.client_id
        key = EcKey()
        record, _ = op.provider.clients.add(
            ClientSpec(
                name="Service",
                grant_types=("client_credentials",),
                scopes=("profile",),
                auth_method="private_key_jwt",
                jwks=key.jwks(),
            )
        )
        service = RelyingParty(op, record, None)
        tokens = {
            TokenType.ID_TOKEN: signed_in["id_token"],
            TokenType.ACCESS_TOKEN: signed_in["access_token"],
            TokenType.LOGOUT_TOKEN: logout_token,
            TokenType.DPOP_PROOF: key.dpop_proof("GET", op.issuer + "/userinfo"),
            TokenType.CLIENT_ASSERTION: key.client_assertion(record.client_id, op.issuer + "/token"),
        }
        yield World(op, rp, browser, service, key, tokens)
    finally:
        receiver.close()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    h64, p64, _sig = token.split(".")
    return json.loads(b64d(h64)), json.loads(b64d(p64))


def test_each_real_token_is_its_own_type_and_no_other(world: World) -> None:
    for presented, token in world.tokens.items():
        header, claims = _parts(token)
        for expected in TokenType:
            if expected is presented:
                check_token_type(expected, header, claims)
            else:
                with pytest.raises(WrongTokenTypeError):
                    check_token_type(expected, header, claims)


@pytest.mark.parametrize(
    ("typ", "ok"),
    [
        ("at+jwt", True),
        ("application/at+jwt", True),
        ("AT+JWT", True),
        ("JWT", False),
        (None, False),
        ("jwt+at", False),
    ],
)
def test_typ_is_compared_as_a_media_type(typ: str | None, ok: bool) -> None:
    header = {"alg": "ES256"} if typ is None else {"alg": "ES256", "typ": typ}
    claims = {"client_id": "c", "jti": "j"}
    if ok:
        check_token_type(TokenType.ACCESS_TOKEN, header, claims)
    else:
        with pytest.raises(WrongTokenTypeError):
            check_token_type(TokenType.ACCESS_TOKEN, header, claims)


def test_only_an_id_token_signs_an_official_out_from_a_link(world: World) -> None:
    """An access token or a logout token in a sign-out link used to end the official's session at once."""
    for kind, token in world.others(TokenType.ID_TOKEN):
        outcome = world.browser.go(world.op.issuer + "/logout?" + urlencode({"id_token_hint": token}))
        assert outcome.page is not None and outcome.page.status_code == 400, kind
        assert "Sign-out request refused" in outcome.page.text or "Yêu cầu đăng xuất" in outcome.page.text, kind
        assert world.session_alive(), f"a {kind.value} as id_token_hint signed the official out"
    # the ID token itself still works
    id_token = world.tokens[TokenType.ID_TOKEN]
    world.browser.go(world.op.issuer + "/logout?" + urlencode({"id_token_hint": id_token}))
    assert not world.session_alive()


def test_only_an_id_token_is_an_id_token_hint_at_authorize(world: World) -> None:
    for kind, token in world.others(TokenType.ID_TOKEN):
        params = world.rp.authorize(world.browser, prompt="none", id_token_hint=token).params
        assert params.get("error") == "invalid_request", (kind, params)
        assert "code" not in params
    params = world.rp.authorize(world.browser, prompt="none", id_token_hint=world.tokens[TokenType.ID_TOKEN]).params
    assert "code" in params


def test_only_an_access_token_gets_userinfo(world: World) -> None:
    for kind, token in world.others(TokenType.ACCESS_TOKEN):
        response = world.rp.userinfo(token)
        assert response.status_code == 401, kind
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], kind
    assert world.rp.userinfo(world.tokens[TokenType.ACCESS_TOKEN]).status_code == 200


def test_only_an_access_token_is_introspected(world: World) -> None:
    url = world.op.issuer + "/introspect"
    auth = (world.rp.client.client_id, world.rp.secret or "")
    for kind, token in world.others(TokenType.ACCESS_TOKEN):
        answer = requests.post(url, data={"token": token}, auth=auth, timeout=10)
        assert answer.status_code == 200 and answer.json() == {"active": False}, kind
    live = requests.post(url, data={"token": world.tokens[TokenType.ACCESS_TOKEN]}, auth=auth, timeout=10).json()
    assert live["active"] is True


def _client_credentials(world: World, assertion: str, **headers: str) -> requests.Response:
    data = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    return requests.post(world.token_url, data=data, headers=headers, timeout=10)


def test_only_a_dpop_proof_binds_a_token(world: World) -> None:
    for kind, token in world.others(TokenType.DPOP_PROOF):
        response = _client_credentials(world, world.assertion(), DPoP=token)
        assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof", (kind, response.text)
    proof = world.service_key.dpop_proof("POST", world.token_url)
    response = _client_credentials(world, world.assertion(), DPoP=proof)
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP", response.text


def test_only_a_client_assertion_authenticates_a_client(world: World) -> None:
    for kind, token in world.others(TokenType.CLIENT_ASSERTION):
        response = _client_credentials(world, token)
        assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client", (kind, response)


def _signed_by_the_client(world: World, typ: str | None, **extra: Any) -> str:
    """A JWT the client signs with its own key, right issuer, subject and audience: only its type is wrong."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": world.service.client.client_id,
        "sub": world.service.client.client_id,
        "aud": world.token_url,
        "iat": now,
        "exp": now + 60,
        "jti": f"{typ}-{now}-{sorted(extra)}",
        **extra,
    }
    header: dict[str, Any] = {"alg": "ES256", "kid": world.service_key.kid}
    if typ is not None:
        header["typ"] = typ
    return world.service_key.sign(header, claims)


@pytest.mark.parametrize(
    ("typ", "extra"),
    [
        ("at+jwt", {"client_id": "x", "scope": "profile"}),
        ("application/at+jwt", {}),
        ("logout+jwt", {"events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
        ("dpop+jwt", {"htm": "POST", "htu": "https://x/token"}),
        ("JWT", {"events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
        ("JWT", {"nonce": "n", "at_hash": "h"}),
        ("JWT", {"cnf": {"jkt": "t"}}),
    ],
)
def test_a_client_signed_token_of_another_type_is_not_an_assertion(
    world: World, typ: str, extra: dict[str, Any]
) -> None:
    """Signature, issuer, subject and audience all right: the type alone makes it refused (RFC 7523bis)."""
    response = _client_credentials(world, _signed_by_the_client(world, typ, **extra))
    assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client", response.text


@pytest.mark.parametrize("typ", [None, "JWT", "client-authentication+jwt", "application/client-authentication+jwt"])
def test_client_assertion_types_that_are_accepted(world: World, typ: str | None) -> None:
    response = _client_credentials(world, _signed_by_the_client(world, typ))
    assert response.status_code == 200, response.text
