"""The signing API as a resource server of the platform's own IdP, end to end over real HTTP.

Tokens come from a real authorization-code flow (login, consent, PKCE) at the platform's provider and are
checked by the independent verifier of ``tests.idp``; the signing API checks them with the verifier
``signing.init_app`` wires (the real discovery document and JWKS, the provider's revocation and DPoP checks).
Signatures made with them are validated by pyHanko's AdES validator and poppler's pdfsig.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from antin.cli import cli
from antin.kernel.instance import Instance
from idp.oidc.service import OidcProvider, get_provider
from signing.auth import AccessTokenVerifier
from tests.idp.jose_check import EcKey
from tests.idp.rp import Browser, RelyingParty, forms_of
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts, pdfsig

PASSWORD = "mật-khẩu-1"  # the official "an" (Nguyễn Văn Ấn) of tests.signing.conftest.people()
SIGN_IN_WORDS = "ký văn bản nhân danh bạn bằng chữ ký số của bạn"


@dataclass
class PlatformProvider:
    """What ``tests.idp.rp.RelyingParty`` needs of a provider: the platform's own."""

    issuer: str
    instance: Instance

    @property
    def provider(self) -> OidcProvider:
        return get_provider(self.instance)


class MovableClock:
    """Wall time that a test can move forward, to step past the revocation cache without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def op(platform: Platform) -> PlatformProvider:
    return PlatformProvider(platform.base_url, platform.instance)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def idp_verifier(platform: Platform, clock: MovableClock) -> Iterator[AccessTokenVerifier]:
    """The API checks tokens as ``signing.init_app`` wired it, on a clock the test can move."""
    wired = platform.idp_verifier
    verifier = AccessTokenVerifier(
        platform.base_url,
        wired.audiences,
        checks=wired.checks,
        dpop_algs=wired.dpop_algs,
        revocation_cache_seconds=wired.revocations.live_seconds,
        clock=clock,
    )
    state = platform.app.extensions["antin.signing.api"]
    saved = state.verifier
    state.verifier = verifier
    try:
        yield verifier
    finally:
        state.verifier = saved


def sign(platform: Platform, pdf: bytes, authorization: str | None, proof: str | None = None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization else {}
    if proof is not None:
        headers["DPoP"] = proof
    return requests.post(
        f"{platform.base_url}/api/signing/sign",
        headers=headers,
        files={"file": ("to-trinh.pdf", pdf, "application/pdf")},
        data={"level": "B-B"},
        timeout=60,
    )


def validated(platform: Platform, signed: bytes) -> str:
    """pyHanko's AdES verdict on the signature, with the PKI's revocation data given locally."""
    revocation = platform.revocation()
    [verdict] = ades_verdicts(signed, [platform.root_der], crls=revocation.crls, ocsps=revocation.ocsp_responses)
    return str(verdict.status)


def refused(response: requests.Response, status: int, challenge: str) -> None:
    """A problem+json refusal whose WWW-Authenticate names ``challenge`` (e.g. 'DPoP error="invalid_token"')."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert challenge in response.headers["WWW-Authenticate"], response.headers["WWW-Authenticate"]


def tokens_for(rp: RelyingParty, browser: Browser, scope: str, **exchange: Any) -> dict[str, Any]:
    """Sign in as "an" (allowing consent when asked) and exchange the code; the tokens are checked independently."""
    outcome = rp.authorize(browser, scope=scope)
    if outcome.page is not None and "login-form" in outcome.page.text:
        outcome = browser.login(outcome.page, "an", PASSWORD)
    if outcome.page is not None and 'id="consent-form"' in outcome.page.text:
        outcome = browser.submit(outcome.page, "consent-form", {"decision": "allow"})
    response = rp.exchange(outcome.params["code"], **exchange)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


# -- item 4: the signing scopes, granted per client -----------------------------------------------------------


def test_a_client_granted_signing_sign_gets_a_token_that_signs(
    platform: Platform, op: PlatformProvider, idp_verifier: AccessTokenVerifier, plain_pdf: bytes, tmp_path: Path
) -> None:
    rp = RelyingParty.register(op, name="Quản lý văn bản", trusted=False, scopes=("openid", "signing:sign"))  # type: ignore[arg-type]
    browser = Browser(op.issuer)
    outcome = rp.authorize(browser, scope="openid signing:sign")
    assert outcome.page is not None
    consent = browser.login(outcome.page, "an", PASSWORD).page
    # the official is told, in Vietnamese, that the application will sign in their name
    assert consent is not None and 'id="consent-form"' in consent.text
    item = re.search(r'<li data-scope="signing:sign"[^>]*>(.*?)</li>', consent.text, re.S)
    assert item is not None and SIGN_IN_WORDS in html.unescape(item.group(1))
    params = browser.submit(consent, "consent-form", {"decision": "allow"}).params
    response = rp.exchange(params["code"])  # checked by the independent verifier (tests.idp.jose_check)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and "signing:sign" in tokens["scope"].split()

    # the ID token of the same sign-in is not an access token (no typ at+jwt): refused
    refused(sign(platform, plain_pdf, f"Bearer {tokens['id_token']}"), 401, 'error="invalid_token"')
    signed = sign(platform, plain_pdf, f"Bearer {tokens['access_token']}")
    assert signed.status_code == 200, signed.text
    assert validated(platform, signed.content) == "PASSED"
    (tmp_path / "signed.pdf").write_bytes(signed.content)
    [found] = pdfsig(tmp_path / "signed.pdf", platform.nss)
    assert found.signature_validation == "Signature is Valid." and found.common_name == "Nguyễn Văn Ấn"


def test_a_client_without_signing_sign_is_refused_the_scope_even_when_trusted(
    platform: Platform, op: PlatformProvider, idp_verifier: AccessTokenVerifier, plain_pdf: bytes
) -> None:
    # registered with the default scopes, and trusted (no consent asked): trust does not bring signing:sign
    rp = RelyingParty.register(op, name="Cổng thông tin", trusted=True)  # type: ignore[arg-type]
    assert "signing:sign" not in rp.client.scopes
    browser = Browser(op.issuer)
    tokens = tokens_for(rp, browser, "openid signing:sign")
    assert "signing:sign" not in tokens["scope"].split()
    refused(sign(platform, plain_pdf, f"Bearer {tokens['access_token']}"), 403, 'error="insufficient_scope"')
    # asking for the signing scope alone gets no code at all
    assert rp.authorize(browser, scope="signing:sign").params["error"] == "invalid_scope"


def test_operators_grant_the_signing_scopes_by_name_only(
    platform: Platform, op: PlatformProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = platform.instance.settings
    monkeypatch.setenv("ANTIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANTIN_ISSUER", op.issuer)
    monkeypatch.setenv("ANTIN_ENV", "test")
    monkeypatch.setenv("ANTIN_SECRET_KEY", platform.instance.secret_key)

    def run(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(cli, ["clients", *args, "--json"])
        assert result.exit_code == 0, result.output
        created: dict[str, Any] = json.loads(result.output)
        return created

    uri = "http://localhost:9/cb"
    plain = run("add", "--name", "Tra cứu", "--redirect-uri", uri, "--trusted")
    assert set(plain["scope"].split()) == {"openid", "profile", "email", "phone", "party"}
    signer = run("add", "--name", "Ký số", "--redirect-uri", uri, "--scope", "openid", "--scope", "signing:sign")
    assert signer["scope"] == "openid signing:sign"
    widened = run("set-scopes", plain["client_id"], "--scope", "openid", "--scope", "signing:verify")
    assert widened["scope"] == "openid signing:verify" and widened["trusted"] is True
    assert get_provider(platform.instance).clients.get(plain["client_id"]).scopes == ("openid", "signing:verify")  # type: ignore[union-attr]
    # discovery lists them, so that client libraries may ask for them
    metadata = requests.get(op.issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert {"signing:sign", "signing:verify"} <= set(metadata["scopes_supported"])


# -- item 3: DPoP-bound tokens need their proof ---------------------------------------------------------------


def test_a_dpop_bound_token_signs_only_with_a_fresh_proof_of_its_key(
    platform: Platform, op: PlatformProvider, idp_verifier: AccessTokenVerifier, plain_pdf: bytes
) -> None:
    rp = RelyingParty.register(  # type: ignore[arg-type]
        op, name="Ký số di động", public=True, dpop_bound_access_tokens=True, scopes=("openid", "signing:sign")
    )
    key = EcKey()
    tokens = tokens_for(
        rp, Browser(op.issuer), "openid signing:sign", headers={"DPoP": key.dpop_proof("POST", op.issuer + "/token")}
    )
    assert tokens["token_type"] == "DPoP"
    at = tokens["access_token"]
    url = f"{platform.base_url}/api/signing/sign"

    # stolen and replayed as a plain bearer token: refused
    refused(sign(platform, plain_pdf, f"Bearer {at}"), 401, 'DPoP error="invalid_token"')
    # the DPoP scheme without a proof, a proof of another key, for another URL or method, or for another token
    refused(sign(platform, plain_pdf, f"DPoP {at}"), 401, 'DPoP error="invalid_dpop_proof"')
    thief = EcKey()
    refused(sign(platform, plain_pdf, f"DPoP {at}", thief.dpop_proof("POST", url, at)), 401, "invalid_dpop_proof")
    elsewhere = key.dpop_proof("POST", platform.base_url + "/api/signing/batch", at)
    refused(sign(platform, plain_pdf, f"DPoP {at}", elsewhere), 401, "invalid_dpop_proof")
    refused(sign(platform, plain_pdf, f"DPoP {at}", key.dpop_proof("GET", url, at)), 401, "invalid_dpop_proof")
    refused(sign(platform, plain_pdf, f"DPoP {at}", key.dpop_proof("POST", url, "other")), 401, "invalid_dpop_proof")
    # the challenge says which algorithms a proof may use (RFC 9449 §7.1)
    assert 'algs="ES256' in sign(platform, plain_pdf, f"DPoP {at}").headers["WWW-Authenticate"]

    proof = key.dpop_proof("POST", url, at)
    accepted = sign(platform, plain_pdf, f"DPoP {at}", proof)
    assert accepted.status_code == 200, accepted.text
    assert validated(platform, accepted.content) == "PASSED"
    # a proof is good once
    refused(sign(platform, plain_pdf, f"DPoP {at}", proof), 401, 'DPoP error="invalid_dpop_proof"')
    assert sign(platform, plain_pdf, f"DPoP {at}", key.dpop_proof("POST", url, at)).status_code == 200


def test_the_verification_api_takes_a_dpop_bound_token_with_its_proof_only(
    platform: Platform, op: PlatformProvider, idp_verifier: AccessTokenVerifier, plain_pdf: bytes
) -> None:
    rp = RelyingParty.register(  # type: ignore[arg-type]
        op, name="Kiểm tra văn bản", public=True, dpop_bound_access_tokens=True, scopes=("openid", "signing:verify")
    )
    key = EcKey()
    tokens = tokens_for(
        rp, Browser(op.issuer), "openid signing:verify", headers={"DPoP": key.dpop_proof("POST", op.issuer + "/token")}
    )
    at = tokens["access_token"]
    url = f"{platform.base_url}/api/signing/verify"

    def verify(authorization: str, proof: str | None = None) -> requests.Response:
        headers = {"Authorization": authorization, "Content-Type": "application/pdf"}
        if proof is not None:
            headers["DPoP"] = proof
        return requests.post(url, headers=headers, data=plain_pdf, timeout=60)

    refused(verify(f"Bearer {at}"), 401, 'DPoP error="invalid_token"')
    refused(verify(f"DPoP {at}"), 401, 'DPoP error="invalid_dpop_proof"')
    refused(verify(f"DPoP {at}", EcKey().dpop_proof("POST", url, at)), 401, "invalid_dpop_proof")
    answer = verify(f"DPoP {at}", key.dpop_proof("POST", url, at))
    assert answer.status_code == 200, answer.text
    assert answer.json()["indication"] == "NO_SIGNATURE"  # an unsigned document, reported as such


def test_a_bearer_token_is_not_accepted_under_the_dpop_scheme(
    platform: Platform, op: PlatformProvider, idp_verifier: AccessTokenVerifier, plain_pdf: bytes
) -> None:
    rp = RelyingParty.register(op, name="Văn phòng số", scopes=("openid", "signing:sign"))  # type: ignore[arg-type]
    at = tokens_for(rp, Browser(op.issuer), "openid signing:sign")["access_token"]
    proof = EcKey().dpop_proof("POST", f"{platform.base_url}/api/signing/sign", at)
    refused(sign(platform, plain_pdf, f"DPoP {at}", proof), 401, 'error="invalid_token"')
    assert sign(platform, plain_pdf, f"Bearer {at}").status_code == 200


# -- item 3: revoked grants stop at the signing API -----------------------------------------------------------


def test_a_token_of_a_grant_revoked_by_logout_is_refused(
    platform: Platform,
    op: PlatformProvider,
    idp_verifier: AccessTokenVerifier,
    clock: MovableClock,
    plain_pdf: bytes,
) -> None:
    rp = RelyingParty.register(op, name="Hồ sơ công việc", scopes=("openid", "signing:sign"))  # type: ignore[arg-type]
    browser = Browser(op.issuer)
    at = tokens_for(rp, browser, "openid signing:sign")["access_token"]
    assert sign(platform, plain_pdf, f"Bearer {at}").status_code == 200
    logout = browser.go(op.issuer + "/logout")
    assert logout.page is not None
    done = browser.submit(logout.page, "logout-form", {"confirm": "yes"})
    assert done.page is not None and 'id="logged-out"' in done.page.text
    # a worker that saw the token live may go on for the cache window, no longer
    window = idp_verifier.revocations.live_seconds
    assert window > 0
    clock.offset = window + 0.5
    refused(sign(platform, plain_pdf, f"Bearer {at}"), 401, 'error="invalid_token"')


def test_a_token_of_a_grant_revoked_by_refresh_reuse_is_refused(
    platform: Platform, op: PlatformProvider, idp_verifier: AccessTokenVerifier, plain_pdf: bytes
) -> None:
    rp = RelyingParty.register(op, name="Quản lý hồ sơ", scopes=("openid", "signing:sign"))  # type: ignore[arg-type]
    first = tokens_for(rp, Browser(op.issuer), "openid signing:sign")
    rotated = rp.token_request({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    # the stolen, already rotated refresh token is used again: the IdP revokes the whole family
    reused = rp.token_request({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert reused.status_code == 400
    for token in (first["access_token"], second["access_token"]):
        refused(sign(platform, plain_pdf, f"Bearer {token}"), 401, 'error="invalid_token"')


def test_a_token_of_a_grant_whose_consent_was_withdrawn_is_refused(
    platform: Platform,
    op: PlatformProvider,
    idp_verifier: AccessTokenVerifier,
    clock: MovableClock,
    plain_pdf: bytes,
) -> None:
    rp = RelyingParty.register(op, name="Ứng dụng đối tác", trusted=False, scopes=("openid", "signing:sign"))  # type: ignore[arg-type]
    browser = Browser(op.issuer)
    at = tokens_for(rp, browser, "openid signing:sign")["access_token"]
    assert sign(platform, plain_pdf, f"Bearer {at}").status_code == 200
    account = browser.go(op.issuer + "/account").page
    assert account is not None
    [form_id] = [k for k, f in forms_of(account.text).items() if f["inputs"].get("client_id") == rp.client.client_id]
    browser.submit(account, form_id)
    clock.offset = idp_verifier.revocations.live_seconds + 0.5
    refused(sign(platform, plain_pdf, f"Bearer {at}"), 401, 'error="invalid_token"')


def test_a_disabled_clients_tokens_are_refused(
    platform: Platform,
    op: PlatformProvider,
    idp_verifier: AccessTokenVerifier,
    clock: MovableClock,
    plain_pdf: bytes,
) -> None:
    rp = RelyingParty.register(op, name="Ứng dụng cũ", scopes=("openid", "signing:sign"))  # type: ignore[arg-type]
    at = tokens_for(rp, Browser(op.issuer), "openid signing:sign")["access_token"]
    assert sign(platform, plain_pdf, f"Bearer {at}").status_code == 200
    op.provider.clients.set_disabled(rp.client.client_id)
    clock.offset = idp_verifier.revocations.live_seconds + 0.5
    refused(sign(platform, plain_pdf, f"Bearer {at}"), 401, 'error="invalid_token"')


def test_a_suspended_officials_token_is_refused_at_once(
    platform: Platform, op: PlatformProvider, idp_verifier: AccessTokenVerifier, plain_pdf: bytes
) -> None:
    from directory.models import AccountStatus

    rp = RelyingParty.register(op, name="Ký duyệt", scopes=("openid", "signing:sign"))  # type: ignore[arg-type]
    at = tokens_for(rp, Browser(op.issuer), "openid signing:sign")["access_token"]
    assert sign(platform, plain_pdf, f"Bearer {at}").status_code == 200
    platform.directory.update("an", status=AccountStatus.SUSPENDED)
    try:
        refused(sign(platform, plain_pdf, f"Bearer {at}"), 401, 'error="invalid_token"')
    finally:
        platform.directory.update("an", status=AccountStatus.ACTIVE)


def test_a_token_that_cannot_be_checked_now_is_a_503_that_says_so(
    platform: Platform,
    op: PlatformProvider,
    idp_verifier: AccessTokenVerifier,
    plain_pdf: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The provider's database away (a PostgreSQL failover): whether the token was revoked cannot be read. The
    answer is a 503 titled so, with Retry-After, that does not tell the client its token is invalid (it was a 503
    "Forbidden" of type invalid-token, under which a client would throw a good token away)."""
    rp = RelyingParty.register(op, name="Văn phòng điện tử", scopes=("openid", "signing:sign"))  # type: ignore[arg-type]
    at = tokens_for(rp, Browser(op.issuer), "openid signing:sign")["access_token"]

    def the_database_is_away(_jti: str) -> bool:
        raise ConnectionError("the provider's database cannot be read")  # what idp.oidc.resource raises then

    monkeypatch.setattr(idp_verifier.revocations, "lookup", the_database_is_away)
    response = sign(platform, plain_pdf, f"Bearer {at}")
    refused(response, 503, 'error="temporarily_unavailable"')
    assert response.headers["Retry-After"] and "invalid_token" not in response.headers["WWW-Authenticate"]
    problem = response.json()
    assert problem["title"] == "Service Unavailable" and problem["type"].endswith(":temporarily-unavailable")
    monkeypatch.undo()
    assert sign(platform, plain_pdf, f"Bearer {at}").status_code == 200  # the same token, once it can be checked
