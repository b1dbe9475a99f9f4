"""``antin sessions purge`` also deletes what no flow can use any more (tokens long expired, grants left without
tokens or session, spent codes, expired interactions and pushed requests), on SQLite and PostgreSQL; a live refresh
chain goes on working, and a purged token stays refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, update

from idp.oidc.grant_purge import SpentCount, purge_spent
from idp.oidc.models import AuthorizationCode, Grant, Interaction, IssuedToken, PushedRequest, SsoSession
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider_on
from tests.idp.rp import Browser, RelyingParty

LONG_AGO = timedelta(days=40)
DAYS = timedelta(days=30)


@pytest.fixture(params=BOTH_DATABASES)
def op(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider_on(request.param, tmp_path) as live:
        yield live


def _signed_in_and_refreshed(rp: RelyingParty) -> tuple[str, dict[str, str], dict[str, str]]:
    """A code flow in a browser of its own, then one refresh: (code, first tokens, refreshed tokens)."""
    code = rp.sign_in(Browser(rp.op.issuer))["code"]
    first = rp.exchange(code)
    assert first.status_code == 200, first.text
    refreshed = rp.token_request({"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    return code, first.json(), refreshed.json()


def _age(op: LiveProvider, client_id: str, *, all_tokens: bool) -> None:
    """The client's grant and code made 40 days old; its token rows expired 40 days ago (all, or all but the live
    refresh token: its access tokens have no row)."""
    then = op.instance.clock() - LONG_AGO
    with op.instance.database.session() as s:
        grant_ids = select(Grant.id).where(Grant.client_id == client_id)
        s.execute(update(Grant).where(Grant.client_id == client_id).values(created_at=then))
        s.execute(update(AuthorizationCode).where(AuthorizationCode.client_id == client_id).values(expires_at=then))
        tokens = update(IssuedToken).where(IssuedToken.grant_id.in_(grant_ids))
        if not all_tokens:
            newest = s.scalars(
                select(IssuedToken.id).where(IssuedToken.grant_id.in_(grant_ids)).order_by(IssuedToken.id.desc())
            ).all()[:1]
            tokens = tokens.where(IssuedToken.id.not_in(newest))
        s.execute(tokens.values(expires_at=then))


def _introspect(rp: RelyingParty, token: str) -> bool:
    auth = (rp.client.client_id, rp.secret or "")
    seen = requests.post(rp.op.issuer + "/introspect", data={"token": token}, auth=auth, timeout=10)
    assert seen.status_code == 200, seen.text
    return bool(seen.json()["active"])


def _refused(rp: RelyingParty, refresh_token: str) -> bool:
    again = rp.token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})
    return again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_spent_rows_go_and_the_live_chain_keeps_working(op: LiveProvider) -> None:
    spent = RelyingParty.register(op, name="Hồ sơ cũ")
    live = RelyingParty.register(op, name="Hồ sơ công việc")
    _, old_first, old_refreshed = _signed_in_and_refreshed(spent)
    live_code, live_first, live_refreshed = _signed_in_and_refreshed(live)
    _age(op, spent.client.client_id, all_tokens=True)
    _age(op, live.client.client_id, all_tokens=False)
    now = op.instance.clock()
    with op.instance.database.session() as s:
        for suffix, expires_at in (("old", now - LONG_AGO), ("new", now - timedelta(days=1))):
            s.add(Interaction(id=f"i-{suffix}", browser_digest="b", client_id="c", params={}, expires_at=expires_at))
            s.add(PushedRequest(digest=f"p-{suffix}", client_id="c", params={}, expires_at=expires_at))

    counted = purge_spent(op.instance.database, now - DAYS)
    # the spent client's 2 token rows (the rotated refresh token and the last: access tokens have no row), the live
    # client's rotated one
    assert counted == SpentCount(tokens=3, grants=1, codes=1, interactions=1, pushed_requests=1)
    with op.instance.database.session() as s:
        assert set(s.scalars(select(Grant.client_id))) == {live.client.client_id}
        assert s.scalar(select(func.count()).select_from(IssuedToken)) == 1
        assert set(s.scalars(select(AuthorizationCode.client_id))) == {live.client.client_id}
        assert set(s.scalars(select(Interaction.id))) == {"i-new"}
        assert set(s.scalars(select(PushedRequest.digest))) == {"p-new"}

    # the spent grant's tokens are unknown: refused, and inactive
    assert _refused(spent, old_refreshed["refresh_token"]) and _refused(spent, old_first["refresh_token"])
    assert not _introspect(spent, old_refreshed["access_token"])
    # the live grant: its purged rotated token is refused still, and its chain goes on
    assert _refused(live, live_first["refresh_token"])
    assert _introspect(live, live_refreshed["access_token"])
    again = live.token_request({"grant_type": "refresh_token", "refresh_token": live_refreshed["refresh_token"]})
    assert again.status_code == 200, again.text
    assert _introspect(live, again.json()["access_token"])
    assert purge_spent(op.instance.database, op.instance.clock() - DAYS) == SpentCount(0, 0, 0, 0, 0)
    # its code was kept with it: a replay of the code still revokes the grant
    assert live.exchange(live_code).json()["error"] == "invalid_grant"
    assert _refused(live, again.json()["refresh_token"])


def test_a_grant_whose_session_was_purged_goes_with_its_tokens(op: LiveProvider) -> None:
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    _, _, refreshed = _signed_in_and_refreshed(rp)
    then = op.instance.clock() - LONG_AGO
    with op.instance.database.session() as s:  # signed out 40 days ago; the refresh token would live on
        s.execute(update(SsoSession).values(ended_at=then))
        s.execute(update(Grant).values(created_at=then))
    assert op.provider.sessions.purge(DAYS).sessions == 1
    counted = purge_spent(op.instance.database, op.instance.clock() - DAYS)
    assert (counted.grants, counted.tokens) == (1, 2)  # the two refresh tokens: access tokens have no row
    assert _refused(rp, refreshed["refresh_token"])
    assert not _introspect(rp, refreshed["access_token"])
