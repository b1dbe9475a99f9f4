"""A refresh whose token carries its grant's context (idp.oidc.refresh_tokens) is one statement on PostgreSQL,
the first after a sign-in included, with every check of the usual path: rotation, a reuse revoking the family, two
refreshes of one token at once (one wins, the family is revoked), a changed context refused, an account no longer
active, an ended session; introspection and revocation of a carried token as of any; the grant's id sealed. SQLite
and PostgreSQL (on SQLite the same tokens are refreshed the usual way). Every token is checked with joserfc against
the JWKS."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from antin.kernel.audit.models import AuditEntry
from directory.models import AccountStatus
from idp.oidc.models import Grant, IssuedToken
from idp.oidc.refresh_tokens import RefreshContexts
from idp.oidc.tokens import half_hash
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider_on
from tests.idp.rp import Browser, RelyingParty


@pytest.fixture(params=BOTH_DATABASES)
def op(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider_on(request.param, tmp_path) as live:
        yield live


def _decoded(op: LiveProvider, token: str, alg: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(json.loads(op.provider.keys.jwks_json()))
    decoded = jwt.decode(token, keys, algorithms=[alg])
    assert decoded.claims["iss"] == op.issuer
    return dict(decoded.claims)


def _refresh(rp: RelyingParty, token: str, **extra: str) -> requests.Response:
    return rp.token_request({"grant_type": "refresh_token", "refresh_token": token, **extra})


def _token_statements(op: LiveProvider) -> list[str]:
    """The statements the driver runs from now on that touch the token rows or the audit log (none on SQLite)."""
    seen: list[str] = []
    driver = op.instance.database.driver
    if driver is not None:
        driver.observers.append(lambda text: seen.append(text) if "oidc_token" in text or "audit" in text else None)
    return seen


def _events(op: LiveProvider, event: str) -> list[AuditEntry]:
    with op.instance.database.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.event == event).order_by(AuditEntry.seq)))


def _grant(op: LiveProvider, grant_id: int) -> Grant:
    with op.instance.database.session() as s:
        grant = s.get(Grant, grant_id)
        assert grant is not None
        return grant


def _carried(token: str) -> dict[str, Any]:
    _secret, _dot, encoded = token.partition(".")
    carried: dict[str, Any] = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    return carried


def _grant_id(op: LiveProvider, token: str) -> int:
    """The grant id a carried refresh token names (sealed in it: opened with the instance's key)."""
    carried = op.provider.tokens.refresh_contexts.read(token)
    assert carried is not None
    return carried.grant_id


def _carried_token(op: LiveProvider) -> tuple[RelyingParty, dict[str, Any], str]:
    """A client, its sign-in's token response, and a refresh token carrying its context minted by a refresh (the
    code grant's own carries one on PostgreSQL: its grant id is drawn before its statement; on SQLite it does not)."""
    rp = RelyingParty.register(op, name="refreshing")
    tokens = rp.code_flow(Browser(op.issuer))
    assert ("." in tokens["refresh_token"]) == (op.instance.database.driver is not None)
    first = _refresh(rp, tokens["refresh_token"])
    assert first.status_code == 200, first.text
    return rp, tokens, first.json()["refresh_token"]


def test_a_chain_of_refreshes_rotates_each_token_in_one_statement(op: LiveProvider) -> None:
    rp, tokens, current = _carried_token(op)
    signed_in = tokens["id_claims"]
    grant_id = _grant_id(op, current)
    statements = _token_statements(op)
    for _ in range(3):
        statements.clear()
        answer = _refresh(rp, current)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token", "id_token"}
        assert body["token_type"] == "Bearer" and body["scope"] == "openid profile email"
        assert body["refresh_token"] != current and _grant_id(op, body["refresh_token"]) == grant_id
        access = _decoded(op, body["access_token"], "ES256")
        assert access["sub"] == signed_in["sub"] and access["sid"] == signed_in["sid"]
        assert access["acr"] == signed_in["acr"] and access["amr"] == signed_in["amr"]
        assert access["auth_time"] == signed_in["auth_time"] and access["client_id"] == rp.client.client_id
        id_token = _decoded(op, body["id_token"], "RS256")  # the client's registered alg, as before
        assert id_token["sub"] == signed_in["sub"] and id_token["aud"] == rp.client.client_id
        assert id_token["auth_time"] == signed_in["auth_time"] and id_token["sid"] == signed_in["sid"]
        assert id_token["at_hash"] == half_hash(body["access_token"])
        if op.instance.database.driver is not None:
            assert len(statements) == 1 and statements[0].startswith("WITH rotated AS (UPDATE oidc_token t")
        assert rp.userinfo(body["access_token"]).status_code == 200
        # the token just rotated is no longer live
        with op.instance.database.session() as s:
            rows = s.scalars(select(IssuedToken).where(IssuedToken.grant_id == grant_id, IssuedToken.kind == "refresh"))
            live = [row for row in rows if row.rotated_at is None]
            assert len(live) == 1
        current = body["refresh_token"]
    refreshed = _events(op, "oauth:token:refresh")
    assert len(refreshed) == 4  # the first refresh, the usual way, and the three after it
    assert {entry.subject for entry in refreshed} == {signed_in["sub"]}
    assert {json.loads(entry.details)["grant_id"] for entry in refreshed} == {grant_id}
    assert {entry.client_id for entry in refreshed} == {rp.client.client_id}
    assert op.instance.audit.verify().ok


def test_a_narrower_scope_is_refreshed_in_one_statement_and_a_wider_one_refused(op: LiveProvider) -> None:
    rp, _tokens, current = _carried_token(op)
    statements = _token_statements(op)
    assert _refresh(rp, current, scope="openid profile email phone").json()["error"] == "invalid_scope"
    statements.clear()
    narrowed = _refresh(rp, current, scope="openid profile")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "openid profile"
    assert _decoded(op, narrowed.json()["access_token"], "ES256")["scope"] == "openid profile"
    if op.instance.database.driver is not None:
        assert len(statements) == 1
    assert _carried(narrowed.json()["refresh_token"])["p"] == "openid profile"
    widened = _refresh(rp, narrowed.json()["refresh_token"], scope="openid profile email")
    assert widened.json()["error"] == "invalid_scope"


def test_a_reused_carried_token_revokes_the_family(op: LiveProvider) -> None:
    rp, _tokens, reused = _carried_token(op)
    grant_id = _grant_id(op, reused)
    newer = _refresh(rp, reused).json()
    again = _refresh(rp, reused)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    grant = _grant(op, grant_id)
    assert grant.revoked_at is not None and grant.revoked_reason == "refresh token reused"
    assert _refresh(rp, newer["refresh_token"]).json()["error"] == "invalid_grant"
    assert rp.userinfo(newer["access_token"]).status_code == 401
    assert len(_events(op, "oauth:token:reuse")) == 1
    assert op.instance.audit.verify().ok


def test_two_refreshes_of_one_token_at_once_one_wins_and_the_family_is_revoked(op: LiveProvider) -> None:
    for _ in range(3):
        rp, _tokens, contested = _carried_token(op)
        grant_id = _grant_id(op, contested)
        start = threading.Barrier(2)
        answers: list[requests.Response] = []

        def refresh(
            token: str = contested,
            barrier: threading.Barrier = start,
            rp: RelyingParty = rp,
            answers: list[requests.Response] = answers,
        ) -> None:
            barrier.wait()
            answers.append(_refresh(rp, token))

        threads = [threading.Thread(target=refresh) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(answer.status_code for answer in answers) == [200, 400]
        won = next(answer.json() for answer in answers if answer.status_code == 200)
        lost = next(answer.json() for answer in answers if answer.status_code == 400)
        assert lost["error"] == "invalid_grant"
        # a token rotated twice is a reuse: the whole family goes, the winner's new tokens with it
        assert _grant(op, grant_id).revoked_reason == "refresh token reused"
        assert _refresh(rp, won["refresh_token"]).json()["error"] == "invalid_grant"
        assert rp.userinfo(won["access_token"]).status_code == 401
    assert op.instance.audit.verify().ok


def test_a_context_changed_by_the_client_is_refused_and_the_real_token_still_works(op: LiveProvider) -> None:
    rp, _tokens, token = _carried_token(op)
    other = RelyingParty.register(op, name="other")
    other_tokens = other.code_flow(Browser(op.issuer))
    other_token = _refresh(other, other_tokens["refresh_token"]).json()["refresh_token"]
    secret = token.partition(".")[0]
    carried = _carried(token)
    tampered_id = carried["g"][:5] + ("A" if carried["g"][5] != "A" else "B") + carried["g"][6:]
    changes = (
        {"s": other_tokens["id_claims"]["sub"]},
        {"g": _carried(other_token)["g"]},  # another grant's sealed id
        {"g": tampered_id},  # a sealed id changed: opens to no id
        {"g": _grant_id(op, token)},  # the id in clear, as tokens carried it before it was sealed
        {"a": "urn:elevated"},
    )
    for change in changes:
        forged = {**carried, **change}
        encoded = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
        refused = _refresh(rp, f"{secret}.{encoded}")
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert _grant(op, _grant_id(op, token)).revoked_at is None
    assert _refresh(rp, token).status_code == 200
    assert _refresh(other, other_token).status_code == 200


def test_a_carried_token_of_an_account_no_longer_active_is_refused_and_its_grant_revoked(op: LiveProvider) -> None:
    rp, _tokens, token = _carried_token(op)
    op.directory.update("an.nguyen", status=AccountStatus.SUSPENDED)
    refused = _refresh(rp, token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert _grant(op, _grant_id(op, token)).revoked_reason == "account no longer active"
    assert len(_events(op, "oauth:token:refresh")) == 1  # the first refresh only


def test_a_carried_token_of_an_ended_session_is_refused_and_its_grant_revoked(op: LiveProvider) -> None:
    rp, tokens, token = _carried_token(op)
    assert op.provider.end_session(tokens["id_claims"]["sid"], reason="test")
    refused = _refresh(rp, token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert _grant(op, _grant_id(op, token)).revoked_at is not None


def test_a_carried_token_is_introspected_and_revoked_as_any_refresh_token(op: LiveProvider) -> None:
    rp, _tokens, token = _carried_token(op)
    auth = (rp.client.client_id, rp.secret or "")
    seen = requests.post(op.issuer + "/introspect", data={"token": token}, auth=auth, timeout=10).json()
    assert seen["active"] is True and seen["token_type"] == "refresh_token" and seen["scope"] == "openid profile email"
    revoked = requests.post(op.issuer + "/revoke", data={"token": token}, auth=auth, timeout=10)
    assert revoked.status_code == 200
    assert _grant(op, _grant_id(op, token)).revoked_at is not None
    assert _refresh(rp, token).json()["error"] == "invalid_grant"
    seen = requests.post(op.issuer + "/introspect", data={"token": token}, auth=auth, timeout=10).json()
    assert seen == {"active": False}


def test_a_context_too_large_to_carry_leaves_a_plain_token_refreshed_the_usual_way(op: LiveProvider) -> None:
    rp = RelyingParty.register(op, name="many claims")
    wanted: dict[str, Any] = {f"https://claims.example/{i:04d}": None for i in range(120)}
    wanted["email"] = {"essential": True}
    tokens = rp.code_flow(Browser(op.issuer), claims=json.dumps({"id_token": wanted}))
    refreshed = _refresh(rp, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    plain = refreshed.json()["refresh_token"]
    assert "." not in plain and len(plain) == 43
    statements = _token_statements(op)
    again = _refresh(rp, plain)
    assert again.status_code == 200, again.text
    id_token = _decoded(op, again.json()["id_token"], "RS256")
    assert id_token["email"] == op.directory.find_by_login("an.nguyen").mail  # type: ignore[union-attr]
    if op.instance.database.driver is not None:
        assert len(statements) == 2  # the read, then the rotation


def test_the_first_refresh_after_a_sign_in_is_one_statement(op: LiveProvider) -> None:
    rp = RelyingParty.register(op, name="first refresh")
    tokens = rp.code_flow(Browser(op.issuer))
    issued = _events(op, "oauth:token:issue")[-1]
    assert issued.client_id == rp.client.client_id
    grant_id = json.loads(issued.details)["grant_id"]
    statements = _token_statements(op)
    first = _refresh(rp, tokens["refresh_token"])
    assert first.status_code == 200, first.text
    access = _decoded(op, first.json()["access_token"], "ES256")
    id_token = _decoded(op, first.json()["id_token"], "RS256")
    assert (
        access["sub"] == id_token["sub"] == tokens["id_claims"]["sub"] and access["sid"] == tokens["id_claims"]["sid"]
    )
    assert id_token["auth_time"] == tokens["id_claims"]["auth_time"] and access["acr"] == tokens["id_claims"]["acr"]
    if op.instance.database.driver is not None:
        # the code grant's refresh token carried its grant's context: no read before the rotation
        assert _grant_id(op, tokens["refresh_token"]) == grant_id
        assert len(statements) == 1 and statements[0].startswith("WITH rotated AS (UPDATE oidc_token t")
    else:
        assert len(statements) == 0 and "." not in tokens["refresh_token"]
    assert _grant_id(op, first.json()["refresh_token"]) == grant_id
    refreshed = _events(op, "oauth:token:refresh")
    assert [json.loads(entry.details)["grant_id"] for entry in refreshed] == [grant_id]
    # the code grant's token is rotated: used again, it is a reuse and the family goes
    again = _refresh(rp, tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert _grant(op, grant_id).revoked_reason == "refresh token reused"
    assert rp.userinfo(first.json()["access_token"]).status_code == 401
    assert op.instance.audit.verify().ok


def test_a_carried_token_does_not_show_its_grant_id(op: LiveProvider) -> None:
    _rp, _tokens, token = _carried_token(op)
    grant_id = _grant_id(op, token)
    sealed = _carried(token)["g"]
    assert isinstance(sealed, str) and len(sealed) == 22 and not isinstance(_carried(token).get("g"), int)
    # sealed under this instance's secret: another secret opens nothing, and a neighbouring id seals unlike
    assert RefreshContexts("another instance's secret").read(token) is None
    contexts = op.provider.tokens.refresh_contexts
    assert contexts.open_grant_id(sealed) == grant_id
    assert contexts.seal_grant_id(grant_id + 1)[:8] != sealed[:8]


def test_a_refresh_narrowed_to_a_resource_does_not_narrow_the_next_one(op: LiveProvider) -> None:
    # RFC 8707 §2.2: a refresh's ``resource`` narrows that access token's audience, not what the grant allows later
    rp, _tokens, current = _carried_token(op)
    narrowed = _refresh(rp, current, resource="https://sign.antin.vn/api")  # the usual path (Flask's)
    assert narrowed.status_code == 200, narrowed.text
    assert _decoded(op, narrowed.json()["access_token"], "ES256")["aud"] == "https://sign.antin.vn/api"
    statements = _token_statements(op)
    after = _refresh(rp, narrowed.json()["refresh_token"])
    assert after.status_code == 200, after.text
    assert _decoded(op, after.json()["access_token"], "ES256")["aud"] == op.issuer  # the grant's, as the usual path
    if op.instance.database.driver is not None:
        assert len(statements) == 1  # the one-statement route, from the carried context
