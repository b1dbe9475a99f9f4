"""RFC 9470 on the signing API: a token whose sign-in was weaker than ``[signing] required_acr`` (default
phishing-resistant) is answered 401 ``insufficient_user_authentication`` with the level to ask for, in
problem+json; the verification API, which needs no such level, still takes it."""

from __future__ import annotations

import pytest
import requests

from idp.oidc.clients import ClientSpec
from idp.oidc.service import get_provider
from idp.oidc.tokens import GrantContext
from signing.settings import SigningSettings
from signing.validation.views import SCOPE
from tests.signing.api.test_api import call, problem_of
from tests.signing.conftest import Platform

PHR = "urn:antin:acr:phishing-resistant"
CHALLENGE = 'Bearer error="insufficient_user_authentication"'


def test_the_default_required_level_is_phishing_resistant(platform: Platform) -> None:
    assert SigningSettings().required_acr == PHR
    assert platform.idp_verifier.acr is not None and platform.idp_verifier.acr.required == PHR


@pytest.mark.parametrize("acr", ["urn:antin:acr:password", "urn:antin:acr:mfa", "phr", "urn:unknown", None])
def test_a_weaker_sign_in_is_told_the_level_to_reach(platform: Platform, plain_pdf: bytes, acr: str | None) -> None:
    response = call(platform, platform.access_token(acr=acr), plain_pdf, level="B-B")
    body = problem_of(response, 401)
    assert str(body["type"]).endswith("insufficient-user-authentication")
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(CHALLENGE) and f'acr_values="{PHR}"' in challenge, challenge


@pytest.mark.parametrize("acr", [PHR, "urn:antin:acr:phishing-resistant-hardware"])
def test_the_required_level_or_a_stronger_one_signs(platform: Platform, plain_pdf: bytes, acr: str) -> None:
    response = call(platform, platform.access_token(acr=acr), plain_pdf, level="B-B")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"


def test_a_token_without_the_scope_hears_of_the_scope_first(platform: Platform, plain_pdf: bytes) -> None:
    # a client with the wrong scope would sign the official in again for nothing: the scope is said first
    response = call(platform, platform.access_token(acr="urn:antin:acr:password", scope="openid"), plain_pdf)
    problem_of(response, 403)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_the_certificate_endpoint_asks_for_the_level_too(platform: Platform) -> None:
    token = platform.access_token(acr="urn:antin:acr:mfa")
    response = requests.get(
        f"{platform.base_url}/api/signing/certificate", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    problem_of(response, 401)
    assert f'acr_values="{PHR}"' in response.headers["WWW-Authenticate"]


def test_an_unknown_required_level_is_a_settings_problem() -> None:
    assert "required_acr" in SigningSettings(required_acr="urn:antin:acr:gold").problems()
    assert SigningSettings(required_acr="phrh").problems() == {}
    assert SigningSettings(required_acr="").problems() == {}


def test_the_verification_api_needs_no_such_level(platform: Platform, plain_pdf: bytes) -> None:
    """A token the provider really issued after a password alone (the verification API trusts the IdP's keys)."""
    provider = get_provider(platform.instance)
    if provider.clients.get("kiem-tra") is None:
        provider.clients.add(
            ClientSpec(name="Kiểm tra", client_id="kiem-tra", grant_types=("client_credentials",), scopes=(SCOPE,))
        )
    client = provider.clients.get("kiem-tra")
    assert client is not None
    subject = platform.directory.people["an"].entry_uuid
    grant = GrantContext(client=client, subject=subject, scope=SCOPE, acr="urn:antin:acr:password", amr=("pwd",))
    token = provider.tokens.issue(grant)[0]["access_token"]
    response = requests.post(
        f"{platform.base_url}/api/signing/verify",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"},
        data=plain_pdf,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert "WWW-Authenticate" not in response.headers


def test_as_wired_real_tokens_of_the_provider_are_held_to_the_level(platform: Platform, plain_pdf: bytes) -> None:
    """Tokens the provider really issued, checked by the verifier ``signing.init_app`` wired from the settings."""
    provider = get_provider(platform.instance)
    client = provider.clients.get("cong-van")
    assert client is not None
    subject = platform.directory.people["an"].entry_uuid

    def token_at(acr: str, amr: tuple[str, ...]) -> str:
        grant = GrantContext(client=client, subject=subject, scope="signing:sign", acr=acr, amr=amr)
        return str(provider.tokens.issue(grant)[0]["access_token"])

    state = platform.app.extensions["antin.signing.api"]
    saved = state.verifier
    state.verifier = platform.idp_verifier
    try:
        weak = call(platform, token_at("urn:antin:acr:mfa", ("pwd", "otp", "mfa")), plain_pdf, level="B-B")
        problem_of(weak, 401)
        assert f'acr_values="{PHR}"' in weak.headers["WWW-Authenticate"]
        strong = call(platform, token_at(PHR, ("pwd", "hwk", "user", "pin", "mfa")), plain_pdf, level="B-B")
        assert strong.status_code == 200, strong.text
    finally:
        state.verifier = saved
