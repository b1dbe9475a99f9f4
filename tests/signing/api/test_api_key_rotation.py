"""A signing-key rotation seen by the signing API (issue 14, item 3): `antin keys rotate` makes new keys in the
shared database; another worker (here a second `Instance` on the same data folder, as a second gunicorn worker or
host is) signs its next access token with one of them. The API, whose worker fetched the IdP's key set before the
rotation, accepts that token at once, over real HTTP, reading the platform's own discovery document and JWKS.
Before, it refetched at most once a minute and the IdP's JWKS was 30 s behind: up to 60 s of 401s."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
import requests
from click.testing import CliRunner

from antin.cli import cli
from antin.kernel.instance import Instance
from idp.oidc.service import get_provider
from idp.oidc.tokens import GrantContext
from signing.auth import AccessTokenVerifier
from tests.idp.jose_check import verify_jws
from tests.signing.api.test_api_idp import sign
from tests.signing.conftest import Platform

ACR = "urn:antin:acr:phishing-resistant"


@pytest.fixture
def idp_verifier(platform: Platform) -> Iterator[AccessTokenVerifier]:
    """A fresh API verifier as ``signing.init_app`` wires it (no key set fetched yet)."""
    wired = platform.idp_verifier
    verifier = AccessTokenVerifier(
        platform.base_url, wired.audiences, checks=wired.checks, dpop_algs=wired.dpop_algs, acr=wired.acr
    )
    state = platform.app.extensions["antin.signing.api"]
    saved, state.verifier = state.verifier, verifier
    try:
        yield verifier
    finally:
        state.verifier = saved


def access_token(instance: Instance, platform: Platform) -> str:
    """An access token for "an", to the signing client "cong-van", signed by ``instance``'s provider."""
    provider = get_provider(instance)
    client = provider.clients.get("cong-van")
    assert client is not None
    subject = platform.directory.people["an"].entry_uuid
    response, _grant = provider.tokens.issue(
        GrantContext(client=client, subject=subject, scope="signing:sign", acr=ACR)
    )
    return str(response["access_token"])


def kid_of(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def test_a_token_signed_with_a_freshly_rotated_key_is_accepted_at_once(
    platform: Platform, idp_verifier: AccessTokenVerifier, plain_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = access_token(platform.instance, platform)
    assert sign(platform, plain_pdf, f"Bearer {before}").status_code == 200  # the API now holds the key set
    cached_kids = {key.kid for key in idp_verifier._key_set().keys}

    settings = platform.instance.settings
    monkeypatch.setenv("ANTIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANTIN_ISSUER", platform.base_url)
    monkeypatch.setenv("ANTIN_ENV", "test")
    monkeypatch.setenv("ANTIN_SECRET_KEY", platform.instance.secret_key)
    rotated = CliRunner().invoke(cli, ["keys", "rotate", "--json"])
    assert rotated.exit_code == 0, rotated.output

    other_worker = Instance(settings)
    try:
        after = access_token(other_worker, platform)
    finally:
        other_worker.close()
    assert kid_of(after) not in cached_kids  # signed with a key the API has never seen
    # the one wait, a second: the API refetches at most that often, and each IdP worker reads its published keys
    # again after that long (both fetched a moment ago, when the first token was checked); a longer limit fails
    time.sleep(1.0)
    jwks = requests.get(f"{platform.base_url}/jwks.json", timeout=10)
    verify_jws(after, jwks.json())  # an independent library finds the new key in what the IdP publishes
    response = sign(platform, plain_pdf, f"Bearer {after}")
    assert response.status_code == 200, response.text
    assert sign(platform, plain_pdf, f"Bearer {before}").status_code == 200  # the old key still verifies
