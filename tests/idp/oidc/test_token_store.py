"""Token writes on both databases: a refresh rotation in one statement, and two requests rotating the same refresh
token at once (the loser is a reuse: the whole family is revoked, on either path). A client_credentials grant
writes no token row at all: tests/idp/oidc/test_machine_tokens.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from idp.oidc.errors import RefreshReusedError
from idp.oidc.models import Grant, IssuedToken
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider_on
from tests.idp.rp import Browser, RelyingParty


@pytest.fixture(params=BOTH_DATABASES)
def op(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider_on(request.param, tmp_path) as live:
        yield live


def test_a_refresh_token_rotated_twice_at_once_revokes_its_family(op: LiveProvider) -> None:
    rp = RelyingParty.register(op, name="rotating")
    tokens = rp.code_flow(Browser(op.issuer))
    tokens_service = op.provider.tokens
    # both requests found the token live (find_refresh) before either rotated it
    first_view, why = tokens_service.find_refresh(tokens["refresh_token"], rp.client)
    second_view, _ = tokens_service.find_refresh(tokens["refresh_token"], rp.client)
    assert first_view is not None and second_view is not None, why
    issued, _ = tokens_service.issue(
        first_view.context, grant_id=first_view.grant_id, refresh=True, rotated_from=first_view.token_id
    )
    with pytest.raises(RefreshReusedError):
        tokens_service.issue(
            second_view.context, grant_id=second_view.grant_id, refresh=True, rotated_from=second_view.token_id
        )
    with op.instance.database.session() as s:
        grant = s.get(Grant, first_view.grant_id)
        assert grant is not None and grant.revoked_at is not None and grant.revoked_reason == "refresh token reused"
        live = s.scalars(
            select(IssuedToken).where(IssuedToken.grant_id == grant.id, IssuedToken.revoked_at.is_(None))
        ).all()
        assert live == []  # the winner's new tokens go with the family
    refused = rp.token_request({"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert rp.userinfo(issued["access_token"]).status_code == 401


def test_a_new_grant_with_an_access_and_a_refresh_token_is_stored_whole(op: LiveProvider) -> None:
    """A grant that has no code or session, with its refresh token's row; its access token has none
    (idp.oidc.user_tokens)."""
    from idp.oidc.clients import ClientSpec
    from idp.oidc.grants import GrantContext

    client, _secret = op.provider.clients.add(
        ClientSpec(name="web", redirect_uris=("https://web.example/cb",), client_id="web")
    )
    tokens, grant_id = op.provider.tokens.issue(
        GrantContext(client=client, subject="s-1", scope="openid"), refresh=True
    )
    assert tokens["access_token"] and tokens["refresh_token"]
    with op.instance.database.session() as s:
        kinds = s.scalars(select(IssuedToken.kind).where(IssuedToken.grant_id == grant_id)).all()
    assert sorted(kinds) == ["refresh"]


def test_a_code_grant_links_its_code_and_joins_the_sso_session_in_one_write(op: LiveProvider) -> None:
    """The code grant's writes (on PostgreSQL one statement): its tokens, the code linked to the grant (so that a
    replayed code revokes it), the client joined to the SSO session (so that it hears of the logout)."""
    from sqlalchemy import event

    from idp.oidc.models import AuthorizationCode, SessionClient, SsoSession

    rp = RelyingParty.register(op, name="code web")
    browser = Browser(op.issuer)
    params = rp.sign_in(browser)
    engine = op.instance.database.engine
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "oidc_token" in statement and "INSERT" in statement:
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    driver = op.instance.database.driver  # on PostgreSQL the statement goes to psycopg directly
    if driver is not None:
        driver.observers.append(lambda statement: note(None, None, statement))
    try:
        exchanged = rp.exchange(params["code"])
    finally:
        event.remove(engine, "before_cursor_execute", note)
        if driver is not None:
            driver.observers.clear()
    assert exchanged.status_code == 200, exchanged.text
    tokens = exchanged.json()
    assert len(sent) == 1
    if not op.instance.database.is_sqlite:
        assert "oidc_authorization_code" in sent[0] and "oidc_session_client" in sent[0]  # one statement for all
    with op.instance.database.session() as s:
        code = s.scalars(select(AuthorizationCode).where(AuthorizationCode.client_id == rp.client.client_id)).one()
        assert code.grant_id is not None
        kinds = s.scalars(select(IssuedToken.kind).where(IssuedToken.grant_id == code.grant_id)).all()
        assert sorted(kinds) == ["refresh"]  # the access token has no row (idp.oidc.user_tokens)
        grant = s.get(Grant, code.grant_id)
        assert grant is not None and grant.sid
        joined = s.scalars(select(SessionClient.client_id).join(SsoSession).where(SsoSession.sid == grant.sid)).all()
        assert joined == [rp.client.client_id]
    # the code replayed: refused, and the grant it led to is revoked with its tokens
    replayed = rp.exchange(params["code"])
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_the_sso_session_read_back_lists_every_client_that_joined_it(op: LiveProvider) -> None:
    """The session and its clients in one joined read: a session joined by three applications lists the three (a
    joined read that kept only its first row would list one), and the fourth sign-in through it still works."""
    browser = Browser(op.issuer)
    parties = [RelyingParty.register(op, name=f"app {i}") for i in range(3)]
    for party in parties:
        party.code_flow(browser)  # the first signs in, the others ride the SSO session
    cookie = browser.session.cookies.get("antin_sso")
    view = op.provider.sessions.current(cookie)
    assert view is not None
    assert sorted(view.client_ids) == sorted(p.client.client_id for p in parties)
    assert parties[0].code_flow(browser)["id_token"]
