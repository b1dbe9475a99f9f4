"""Introspection at less cost (idp.oidc.verified_tokens, TokenLookup.find_introspected): an access token's
signature is checked once per worker while the published keys stay the same, its revocation is read on every
call, and the answer made from its claims is the one its row gives — on both databases, through the fast path
and HTTP. Every token is checked with joserfc against the published JWKS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import update

from antin.kernel.caches import cache_sizes
from idp.oidc.clients import ClientRecord, ClientSpec
from idp.oidc.grants import GrantContext
from idp.oidc.models import SigningKey
from idp.oidc.token_grants import introspection_body
from tests.idp.oidc.stored_tokens import live_sid, stored_access_token, verified_access_token
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider_on

TTL = 3  # seconds an access token lives here: long enough to use it, short enough to see it expire


@pytest.fixture(params=BOTH_DATABASES)
def op(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider_on(request.param, tmp_path, oidc__access_token_ttl=TTL) as live:
        yield live


def _client(op: LiveProvider, name: str, **spec: Any) -> tuple[ClientRecord, tuple[str, str]]:
    values: dict[str, Any] = {"name": name, "grant_types": ("client_credentials",), "scopes": ("openid", "profile")}
    values.update(spec)
    record, secret = op.provider.clients.add(ClientSpec(**values))
    return record, (record.client_id, secret or "")


def _user_token(op: LiveProvider, client: ClientRecord, **ctx: Any) -> str:
    """An access token of a user's grant, as a sign-in issues it (its grant, its live SSO session, its claims)."""
    values: dict[str, Any] = {
        "client": client,
        "subject": "an.nguyen",
        "scope": "openid profile",
        "sid": live_sid(op) if "sid" not in ctx else None,
        "auth_time": datetime.now(UTC) - timedelta(minutes=3),
        "acr": "urn:antin:acr:password",
        "amr": ("pwd",),
    }
    values.update(ctx)
    response, _grant_id = op.provider.tokens.issue(GrantContext(**values), refresh=True)
    token = str(response["access_token"])
    verified_access_token(op, token)
    return token


def _introspect(op: LiveProvider, token: str, auth: tuple[str, str]) -> dict[str, Any]:
    response = requests.post(op.issuer + "/introspect", data={"token": token}, auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _web_and_resource_server(op: LiveProvider) -> tuple[ClientRecord, tuple[str, str]]:
    """A web application whose users' tokens are introspected, and the resource server (trusted) that does it,
    its first request made (so that the next take the fast path)."""
    client, _auth = _client(
        op, "web", grant_types=("authorization_code", "refresh_token"), redirect_uris=("https://rp.example/cb",)
    )
    _rs, rs_auth = _client(op, "resource server", trusted=True)
    _warm(op, rs_auth)
    return client, rs_auth


def _warm(op: LiveProvider, auth: tuple[str, str]) -> None:
    """The first request of a process goes through the app (its per-process hooks); later ones take the fast path."""
    requests.get(op.issuer + "/.well-known/openid-configuration", timeout=10).raise_for_status()
    _introspect(op, "not-a-token", auth)


def test_a_token_is_verified_once_and_its_revocation_read_every_time(op: LiveProvider) -> None:
    client, auth = _client(
        op, "web", grant_types=("authorization_code", "refresh_token"), redirect_uris=("https://rp.example/cb",)
    )
    _rs, rs_auth = _client(op, "resource server", trusted=True)
    _warm(op, rs_auth)
    token, other = _user_token(op, client), _user_token(op, client)
    keys = op.provider.keys
    checked: list[str] = []
    verify_as = keys.verify_as

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(token)
        return verify_as(token, *args, **kwargs)

    keys.verify_as = counted  # type: ignore[method-assign]
    answered = op.app.extensions["antin.oidc.fastpath"].answered
    for _ in range(3):
        answer = _introspect(op, token, rs_auth)
        assert answer["active"] is True and answer["sub"] == "an.nguyen" and answer["client_id"] == client.client_id
    assert checked == [token]  # verified once; the two other answers from its kept claims
    assert op.app.extensions["antin.oidc.fastpath"].answered == answered + 3

    # revoked by its client (RFC 7009): inactive at the very next introspection, claims kept or not
    response = requests.post(op.issuer + "/revoke", data={"token": token}, auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    assert _introspect(op, token, rs_auth) == {"active": False}
    assert _introspect(op, token, auth) == {"active": False}

    # its grant revoked (a logout ends the SSO session's grants): inactive at once as well
    assert _introspect(op, other, rs_auth)["active"] is True
    sid = verified_access_token(op, other)["sid"]
    assert op.provider.tokens.revoke_for_session(sid, "logout") == 1
    assert _introspect(op, other, rs_auth) == {"active": False}
    assert checked == [token, token, other]  # the second: /revoke's own look-up, which keeps nothing


def test_a_token_past_its_exp_is_inactive_though_its_claims_were_kept(op: LiveProvider) -> None:
    client, rs_auth = _web_and_resource_server(op)
    token = _user_token(op, client)
    assert _introspect(op, token, rs_auth)["active"] is True
    assert len(op.provider.tokens.lookup.verified) == 1
    assert cache_sizes()["oidc-verified-tokens"].entries >= 1  # operators see it in /metrics (other apps' add up)
    time.sleep(max(0.0, verified_access_token(op, token)["exp"] - time.time()) + 1.1)
    assert _introspect(op, token, rs_auth) == {"active": False}


def test_a_key_no_longer_published_makes_its_kept_tokens_inactive(op: LiveProvider) -> None:
    client, rs_auth = _web_and_resource_server(op)
    token = _user_token(op, client)
    assert _introspect(op, token, rs_auth)["active"] is True
    assert len(op.provider.tokens.lookup.verified) == 1
    # another worker (or `antin keys rotate` with its overlap over) unpublished the key: this one reads the keys
    # again within its 30 s, and then no longer takes the token, whose claims it had kept
    now = datetime.now(UTC)
    with op.instance.database.session() as s:
        s.execute(update(SigningKey).values(retired_at=now, unpublish_at=now - timedelta(seconds=1)))
    op.provider.keys._cached_at = 0.0  # its 30 s are over
    assert _introspect(op, token, rs_auth) == {"active": False}
    assert verified_access_token(op, _user_token(op, client))  # the new keys sign, and their tokens are live
    assert _introspect(op, _user_token(op, client), rs_auth)["active"] is True


def test_the_kept_claims_are_bounded(op: LiveProvider) -> None:
    client, rs_auth = _web_and_resource_server(op)
    kept = op.provider.tokens.lookup.verified
    kept.capacity = 4
    tokens = [_user_token(op, client) for _ in range(11)]
    for token in tokens:
        assert _introspect(op, token, rs_auth)["active"] is True
        assert 1 <= len(kept) <= 4
    assert _introspect(op, tokens[0], rs_auth)["active"] is True  # dropped long ago: verified again, still live


def test_claims_past_their_exp_are_dropped(op: LiveProvider) -> None:
    """The cache holds the tokens of the last access-token lifetime: an expired entry goes at the next keep after
    the sweep interval, not only when the cache is full (a soak saw it fill by the hour)."""
    client, rs_auth = _web_and_resource_server(op)
    kept = op.provider.tokens.lookup.verified
    kept.sweep_seconds = 1
    old = [_user_token(op, client) for _ in range(3)]
    for token in old:
        assert _introspect(op, token, rs_auth)["active"] is True
    assert len(kept) == 3
    time.sleep(max(0.0, verified_access_token(op, old[-1])["exp"] - time.time()) + 1.1)
    new = _user_token(op, client)
    assert _introspect(op, new, rs_auth)["active"] is True
    assert len(kept) == 1  # the three expired ones dropped, the new one kept
    assert _introspect(op, old[0], rs_auth) == {"active": False}
    assert len(kept) == 1  # an expired token is not kept again


def test_the_answer_from_the_claims_is_the_one_the_row_gives(op: LiveProvider) -> None:
    web, _auth = _client(
        op, "web", grant_types=("authorization_code", "refresh_token"), redirect_uris=("https://rp.example/cb",)
    )
    rs, rs_auth = _client(op, "resource server", trusted=True)
    _warm(op, rs_auth)
    jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    tokens = {
        "a user's": _user_token(op, web),
        "without session, acr or auth_time": _user_token(op, web, sid=None, acr=None, auth_time=None, amr=()),
        "for two resources": _user_token(op, web, resources=("https://api.example/a", "https://api.example/b")),
        "for one resource": _user_token(op, web, resources=("https://api.example/a",)),
        "with no user (stored before machine tokens)": _user_token(op, rs, subject=None, sid=None, scope="profile"),
        "with a row (issued before user tokens had none)": stored_access_token(op, web, sid=live_sid(op))[0],
    }
    response, _grant = op.provider.tokens.issue(
        GrantContext(client=web, subject="an.nguyen", scope="openid"), dpop_jkt=jkt
    )
    tokens["bound to a DPoP key"] = response["access_token"]
    response, _grant = op.provider.tokens.issue(
        GrantContext(client=web, subject="an.nguyen", scope="openid"), refresh=True
    )
    tokens["a refresh token"] = response["refresh_token"]
    lookup = op.provider.tokens.lookup
    for what, token in tokens.items():
        by_claims, by_row = lookup.find_introspected(token, None), lookup.find_for_client_action(token, None)
        assert by_claims is not None and by_row is not None, what
        assert introspection_body(op.provider, by_claims) == introspection_body(op.provider, by_row), what
        assert (by_claims.token_id, by_claims.grant_id, by_claims.kind) == (
            by_row.token_id,
            by_row.grant_id,
            by_row.kind,
        )
        assert (by_claims.expires_at, by_claims.revoked) == (by_row.expires_at, False), what
        assert _introspect(op, token, rs_auth) == introspection_body(op.provider, by_row), what
    body = introspection_body(op.provider, lookup.find_for_client_action(tokens["for two resources"], None))  # type: ignore[arg-type]
    assert body["aud"] == ["https://api.example/a", "https://api.example/b"]
    assert introspection_body(op.provider, lookup.find_introspected(tokens["bound to a DPoP key"], None))["cnf"] == {  # type: ignore[arg-type]
        "jkt": jkt
    }
    assert len(lookup.verified) == len(tokens) - 1  # refresh tokens are opaque: read from their row, never kept
