"""User access tokens without rows (idp.oidc.user_tokens): a code grant and a refresh store the refresh token only;
the access token's ``jti`` names its grant (sealed); introspection, userinfo and the platform's resource servers
read the grant, its SSO session and the revoked ``jti``s, so that a logout, RFC 7009, a reused refresh token, a
revoked grant and a disabled client make the token inactive at once; a token issued with a row before this is still
read from it. On both databases; every token is checked with joserfc against the published JWKS."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import func, select, update

from idp.oidc.grants import ACCESS_TOKEN_ALG
from idp.oidc.models import Grant, IssuedToken, SsoSession, UsedJti
from idp.oidc.resource import ResourceServerChecks, resource_server_checks
from idp.oidc.user_tokens import REVOKED_KIND, sealed_grant_of
from tests.idp.oidc.stored_tokens import live_sid, stored_access_token, verified_access_token
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider_on
from tests.idp.rp import Browser, RelyingParty

LOGGED_OUT = "http://localhost:9/bye"


@pytest.fixture(params=BOTH_DATABASES)
def op(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider_on(request.param, tmp_path) as live:
        yield live


def _count(op: LiveProvider, model: Any, *where: Any) -> int:
    with op.instance.database.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _grant_id(op: LiveProvider, client_id: str) -> int:
    with op.instance.database.session() as s:
        return int(s.scalars(select(Grant.id).where(Grant.client_id == client_id)).one())


class Readers:
    """The three readers of an access token: a resource server introspecting it, userinfo, the platform's own
    resource servers (signing, admin) asking by ``jti``."""

    def __init__(self, op: LiveProvider) -> None:
        self.op = op
        rs = RelyingParty.register(op, name="resource server", grant_types=("client_credentials",))
        self.rs_auth = (rs.client.client_id, rs.secret or "")
        self.checks = resource_server_checks(op.instance)

    def introspect(self, token: str) -> dict[str, Any]:
        response = requests.post(self.op.issuer + "/introspect", data={"token": token}, auth=self.rs_auth, timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def states(self, token: str) -> tuple[bool, bool, bool]:
        """(introspection says active, userinfo answers, the resource servers' check says live)."""
        userinfo = requests.get(self.op.issuer + "/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert userinfo.status_code in (200, 401), userinfo.text
        jti = verified_access_token(self.op, token)["jti"]
        return (
            bool(self.introspect(token)["active"]),
            userinfo.status_code == 200,
            not self.checks.access_token_revoked(jti),
        )


LIVE = (True, True, True)
DEAD = (False, False, False)


def _web(op: LiveProvider, name: str = "web", **spec: Any) -> RelyingParty:
    return RelyingParty.register(op, name=name, post_logout_redirect_uris=(LOGGED_OUT,), **spec)


def _refreshed(rp: RelyingParty, refresh_token: str) -> requests.Response:
    return rp.token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})


def test_a_code_grant_and_a_refresh_store_only_the_refresh_token(op: LiveProvider) -> None:
    rp, readers = _web(op), Readers(op)
    tokens = rp.code_flow(Browser(op.issuer))
    grant_id = _grant_id(op, rp.client.client_id)
    claims = verified_access_token(op, tokens["access_token"])
    # the jti names the grant, sealed: not its row number, and told from a machine token's by its "~"
    sealed = sealed_grant_of(claims["jti"])
    assert sealed is not None and "." not in claims["jti"]
    assert op.provider.tokens.refresh_contexts.open_grant_id(sealed) == grant_id
    with op.instance.database.session() as s:
        assert list(s.scalars(select(IssuedToken.kind).where(IssuedToken.grant_id == grant_id))) == ["refresh"]
    live = readers.introspect(tokens["access_token"])
    assert (live["active"], live["client_id"], live["sub"], live["scope"]) == (
        True,
        rp.client.client_id,
        tokens["id_claims"]["sub"],
        "openid profile email",
    )
    assert live["sid"] == tokens["id_claims"]["sid"] and live["exp"] == claims["exp"] and live["iat"] == claims["iat"]
    assert readers.states(tokens["access_token"]) == LIVE
    assert rp.userinfo(tokens["access_token"]).json()["sub"] == tokens["id_claims"]["sub"]

    refreshed = _refreshed(rp, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    again = refreshed.json()["access_token"]
    assert sealed_grant_of(verified_access_token(op, again)["jti"]) == sealed  # the same grant
    assert _count(op, IssuedToken, IssuedToken.grant_id == grant_id) == 2  # the rotated refresh token, the new one
    assert _count(op, IssuedToken, IssuedToken.kind == "access") == 0
    assert readers.states(again) == LIVE and readers.states(tokens["access_token"]) == LIVE


def test_a_code_grant_without_a_refresh_token_writes_its_grant_alone(op: LiveProvider) -> None:
    rp, readers = _web(op, grant_types=("authorization_code",)), Readers(op)
    tokens = rp.code_flow(Browser(op.issuer))
    assert "refresh_token" not in tokens
    grant_id = _grant_id(op, rp.client.client_id)
    assert _count(op, IssuedToken, IssuedToken.grant_id == grant_id) == 0
    assert readers.states(tokens["access_token"]) == LIVE


def test_logout_makes_the_tokens_inactive_at_once(op: LiveProvider) -> None:
    rp, readers, browser = _web(op), Readers(op), Browser(op.issuer)
    tokens = rp.code_flow(browser)
    assert readers.states(tokens["access_token"]) == LIVE
    query = urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGGED_OUT})
    assert browser.go(op.issuer + "/logout?" + query).location == LOGGED_OUT
    assert readers.states(tokens["access_token"]) == DEAD


def test_an_sso_session_over_makes_its_tokens_inactive(op: LiveProvider) -> None:
    """Ended (idle, seen at the browser's next visit) or past its absolute limit: as its refresh tokens, its access
    tokens stop."""
    rp, readers = _web(op), Readers(op)
    ended, expired = rp.code_flow(Browser(op.issuer)), rp.code_flow(Browser(op.issuer))
    assert readers.states(ended["access_token"]) == readers.states(expired["access_token"]) == LIVE
    now = op.instance.clock()
    with op.instance.database.session() as s:
        s.execute(update(SsoSession).where(SsoSession.sid == ended["id_claims"]["sid"]).values(ended_at=now))
        s.execute(
            update(SsoSession)
            .where(SsoSession.sid == expired["id_claims"]["sid"])
            .values(expires_at=now - timedelta(seconds=1))
        )
    assert readers.states(ended["access_token"]) == readers.states(expired["access_token"]) == DEAD


def test_rfc7009_revokes_the_access_token_alone(op: LiveProvider) -> None:
    rp, readers = _web(op), Readers(op)
    tokens = rp.code_flow(Browser(op.issuer))
    revoked = requests.post(
        op.issuer + "/revoke",
        data={"token": tokens["access_token"]},
        auth=(rp.client.client_id, rp.secret or ""),
        timeout=10,
    )
    assert revoked.status_code == 200, revoked.text
    assert readers.states(tokens["access_token"]) == DEAD
    jti = verified_access_token(op, tokens["access_token"])["jti"]
    assert _count(op, UsedJti, UsedJti.kind == REVOKED_KIND, UsedJti.value == jti) == 1
    # the grant lives on: its refresh token still works, and the new access token is live
    refreshed = _refreshed(rp, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert readers.states(refreshed.json()["access_token"]) == LIVE
    assert readers.states(tokens["access_token"]) == DEAD


def test_a_reused_refresh_token_makes_every_access_token_of_its_grant_inactive(op: LiveProvider) -> None:
    rp, readers = _web(op), Readers(op)
    tokens = rp.code_flow(Browser(op.issuer))
    refreshed = _refreshed(rp, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    newer = refreshed.json()["access_token"]
    assert readers.states(newer) == LIVE
    reused = _refreshed(rp, tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert readers.states(tokens["access_token"]) == DEAD and readers.states(newer) == DEAD


def test_a_revoked_grant_and_a_disabled_client_make_the_tokens_inactive(op: LiveProvider) -> None:
    rp, other, readers = _web(op), _web(op, "other"), Readers(op)
    tokens, others = rp.code_flow(Browser(op.issuer)), other.code_flow(Browser(op.issuer))
    # the official withdraws this client's access (the account page): its grant revoked
    assert op.provider.tokens.revoke_for_subject(tokens["id_claims"]["sub"], "withdrawn", rp.client.client_id) == 1
    assert readers.states(tokens["access_token"]) == DEAD
    assert readers.states(others["access_token"]) == LIVE
    op.provider.clients.set_disabled(other.client.client_id)
    assert readers.states(others["access_token"]) == DEAD
    op.provider.clients.set_disabled(other.client.client_id, False)
    assert readers.states(others["access_token"]) == LIVE


def test_a_forged_or_tampered_grant_part_is_refused(op: LiveProvider) -> None:
    """The signature covers the jti, so a token whose grant part was changed is refused before anything is read;
    and even signed with our own key, a grant part that does not open, or names another client's grant, is not
    taken (the state read says whose grant it is)."""
    rp, other, readers = _web(op), _web(op, "other"), Readers(op)
    tokens, others = rp.code_flow(Browser(op.issuer)), other.code_flow(Browser(op.issuer))
    claims = verified_access_token(op, tokens["access_token"])
    random, _, sealed = claims["jti"].partition("~")
    other_sealed = sealed_grant_of(verified_access_token(op, others["access_token"])["jti"])
    # a changed payload under the original signature: refused by the signature
    header, _payload, signature = tokens["access_token"].split(".")
    changed = dict(claims, jti=f"{random}~{other_sealed}")
    payload = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
    tampered = f"{header}.{payload}.{signature}"
    assert readers.introspect(tampered) == {"active": False}
    assert rp.userinfo(tampered).status_code == 401

    def signed(jti: str) -> str:
        return op.provider.keys.sign(dict(claims, jti=jti), alg=ACCESS_TOKEN_ALG, typ="at+jwt")

    forged = {
        "another client's grant": signed(f"{random}~{other_sealed}"),
        "a block that does not open": signed(f"{random}~{'A' * 22}"),
        "a block changed by one character": signed(
            f"{random}~{sealed[:-2]}{'B' if sealed[-2] != 'B' else 'C'}{sealed[-1]}"
        ),
        "not base64": signed(f"{random}~!!"),
    }
    for what, token in forged.items():
        assert readers.introspect(token) == {"active": False}, what
        assert rp.userinfo(token).status_code == 401, what
    # the resource servers' check by jti: a grant part that does not open is unknown, so revoked
    assert readers.checks.access_token_revoked(f"{random}~{'A' * 22}")
    assert readers.checks.access_token_revoked(f"{random}~!!")
    # without the instance secret, no grant part opens
    assert ResourceServerChecks(op.instance.database).access_token_revoked(claims["jti"])
    assert readers.states(tokens["access_token"]) == LIVE


def test_a_token_with_a_row_still_works_until_it_expires(op: LiveProvider) -> None:
    """Issued before this change: a random jti and a row, read from the row as before, revoked in it."""
    rp, readers = _web(op), Readers(op)
    signed_in = rp.code_flow(Browser(op.issuer))["id_claims"]  # the official, by their directory id, and a session
    subject = signed_in["sub"]
    token, jti, grant_id = stored_access_token(op, rp.client, subject=subject, sid=live_sid(op, subject))
    assert sealed_grant_of(jti) is None and _count(op, IssuedToken, IssuedToken.lookup == jti) == 1
    live = readers.introspect(token)
    assert (live["active"], live["client_id"], live["sub"]) == (True, rp.client.client_id, subject)
    assert readers.states(token) == LIVE
    revoked = requests.post(
        op.issuer + "/revoke", data={"token": token}, auth=(rp.client.client_id, rp.secret or ""), timeout=10
    )
    assert revoked.status_code == 200, revoked.text
    assert readers.states(token) == DEAD
    with op.instance.database.session() as s:
        row = s.scalars(select(IssuedToken).where(IssuedToken.lookup == jti)).one()
        assert row.revoked_at is not None and row.grant_id == grant_id  # in its row, as before
    assert _count(op, UsedJti, UsedJti.kind == REVOKED_KIND) == 0
