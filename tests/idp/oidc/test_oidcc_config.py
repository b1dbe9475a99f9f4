"""The OpenID Foundation's ``oidcc-config-certification-test-plan``: ``oidcc-discovery-endpoint-verification``."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import requests

from directory.memory import InMemoryDirectory
from tests.idp.oidc_harness import LiveProvider, build_app

REQUIRED = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)
LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")


def check_metadata(metadata: dict, issuer: str) -> None:
    for name in REQUIRED:
        assert name in metadata, name
    assert metadata["issuer"] == issuer
    assert urlsplit(issuer).scheme in ("http", "https") and not issuer.endswith("/")
    assert set(metadata["response_types_supported"]) & {"code", "code id_token", "id_token"}
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert "none" not in metadata["id_token_signing_alg_values_supported"]
    assert metadata["userinfo_endpoint"]
    assert isinstance(metadata["grant_types_supported"], list) and metadata["grant_types_supported"]
    assert "openid" in metadata["scopes_supported"]
    assert all(re.fullmatch(r"[\x21\x23-\x5B\x5D-\x7E]+", s) for s in metadata["scopes_supported"])
    assert all(LOCALE.match(tag) for tag in metadata["ui_locales_supported"] + metadata["claims_locales_supported"])
    assert isinstance(metadata["code_challenge_methods_supported"], list)
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["claims_parameter_supported"] is True
    assert metadata["request_parameter_supported"] is False and metadata["request_uri_parameter_supported"] is False
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "sub" in metadata["claims_supported"]
    for name, value in metadata.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            assert value.startswith(issuer + "/"), name


def test_oidcc_discovery_endpoint_verification(op: LiveProvider) -> None:
    response = requests.get(op.issuer + "/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    metadata = response.json()
    check_metadata(metadata, op.issuer)
    jwks = requests.get(metadata["jwks_uri"], timeout=10)
    assert jwks.status_code == 200
    keys = jwks.json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    for key in keys:
        assert key["use"] == "sig" and key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "private key material published"
    assert len({k["kid"] for k in keys}) == len(keys)
    # RFC 8414 metadata at its own well-known address is the same document
    assert requests.get(op.issuer + "/.well-known/oauth-authorization-server", timeout=10).json() == metadata


def test_oidcc_discovery_endpoint_verification_https(tmp_path: Path) -> None:
    """Behind a TLS proxy: every endpoint is https, with the one exact issuer string."""
    issuer = "https://sso.antin.vn"
    app = build_app(tmp_path, issuer, InMemoryDirectory())
    try:
        client = app.test_client()
        response = client.get("/.well-known/openid-configuration", base_url=issuer)
        assert response.status_code == 200
        metadata = response.get_json()
        check_metadata(metadata, issuer)
        for name, value in metadata.items():
            if name.endswith("_endpoint") or name == "jwks_uri":
                assert value.startswith("https://"), name
    finally:
        app.extensions["antin.instance"].close()


def test_no_empty_lists_in_metadata(op: LiveProvider) -> None:
    metadata = requests.get(op.issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert not [name for name, value in metadata.items() if value in ([], "", None)]


def test_discovery_and_jwks_are_cacheable_and_change_with_the_keys(op: LiveProvider) -> None:
    """RPs and resource servers may cache both documents; a conditional request costs no body."""
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        first = requests.get(op.issuer + path, timeout=10)
        assert first.status_code == 200 and first.headers["ETag"]
        assert first.headers["Cache-Control"].startswith("public")
        assert first.headers["X-Content-Type-Options"] == "nosniff" and first.headers["X-Request-ID"]
        again = requests.get(op.issuer + path, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
        assert again.status_code == 304 and again.content == b""
        assert requests.get(op.issuer + path, headers={"If-None-Match": "*"}, timeout=10).status_code == 304
        head = requests.head(op.issuer + path, timeout=10)
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["Content-Length"]) == len(first.content)
        refused = requests.post(op.issuer + path, timeout=10)
        assert refused.status_code == 405
    before = requests.get(op.issuer + "/jwks.json", timeout=10)
    old_kids = {k["kid"] for k in before.json()["keys"]}
    op.provider.keys.rotate()
    after = requests.get(op.issuer + "/jwks.json", headers={"If-None-Match": before.headers["ETag"]}, timeout=10)
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    new_kids = {k["kid"] for k in after.json()["keys"]}
    assert old_kids < new_kids and len(new_kids) == 4  # the retired keys stay published for the overlap
