"""The signing API with the provider's DPoP nonces on (RFC 9449 §9): a proof without the current nonce gets a
``use_dpop_nonce`` challenge with the nonce to use, through the provider's public resource-server checks."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from idp.oidc import ResourceServerChecks
from idp.oidc.dpop_nonce import DPoPNonces
from signing.auth import AccessTokenVerifier
from tests.idp.jose_check import EcKey
from tests.idp.rp import Browser, RelyingParty
from tests.signing.api.test_api_idp import PlatformProvider, refused, sign, tokens_for
from tests.signing.conftest import Platform


@pytest.fixture
def op(platform: Platform) -> PlatformProvider:
    return PlatformProvider(platform.base_url, platform.instance)


@pytest.fixture
def nonces(platform: Platform) -> Iterator[DPoPNonces]:
    """The API's verifier as ``signing.init_app`` wires it with ``oidc.dpop_nonce`` on, its window held still."""
    start = time.time()
    nonces = DPoPNonces(platform.instance.secret_key, clock=lambda: start)
    wired = platform.idp_verifier
    verifier = AccessTokenVerifier(
        platform.base_url,
        wired.audiences,
        checks=ResourceServerChecks(platform.instance.database, nonces=nonces, secret_key=platform.instance.secret_key),
        dpop_algs=wired.dpop_algs,
    )
    state = platform.app.extensions["antin.signing.api"]
    saved = state.verifier
    state.verifier = verifier
    try:
        yield nonces
    finally:
        state.verifier = saved


def test_the_signing_api_asks_for_the_providers_dpop_nonce(
    platform: Platform, op: PlatformProvider, nonces: DPoPNonces, plain_pdf: bytes
) -> None:
    spec = {"name": "Ký số di động", "public": True, "dpop_bound_access_tokens": True}
    rp = RelyingParty.register(op, scopes=("openid", "signing:sign"), **spec)  # type: ignore[arg-type]
    key = EcKey()
    tokens = tokens_for(
        rp, Browser(op.issuer), "openid signing:sign", headers={"DPoP": key.dpop_proof("POST", op.issuer + "/token")}
    )
    at = tokens["access_token"]
    url = f"{platform.base_url}/api/signing/sign"
    nonce = nonces.current()

    challenged = sign(platform, plain_pdf, f"DPoP {at}", key.dpop_proof("POST", url, at))
    refused(challenged, 401, 'DPoP error="use_dpop_nonce"')
    assert challenged.headers["DPoP-Nonce"] == nonce
    stale = sign(platform, plain_pdf, f"DPoP {at}", key.dpop_proof("POST", url, at, nonce="made-up"))
    refused(stale, 401, 'DPoP error="use_dpop_nonce"')

    accepted = sign(platform, plain_pdf, f"DPoP {at}", key.dpop_proof("POST", url, at, nonce=nonce))
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["DPoP-Nonce"] == nonce
    # the other refusals are unchanged: another key's proof, even with the nonce, is not a nonce problem
    thief = EcKey()
    refused(
        sign(platform, plain_pdf, f"DPoP {at}", thief.dpop_proof("POST", url, at, nonce=nonce)),
        401,
        "invalid_dpop_proof",
    )
