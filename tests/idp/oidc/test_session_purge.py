"""``antin sessions purge``: sessions long over (ended, expired, idle) and finished logout deliveries are deleted;
live sessions and those over only recently are kept, and the official still signed in notices nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select, update

from antin.cli import cli
from idp.oidc.interaction import AuthenticationResult
from idp.oidc.models import BackchannelDelivery, SessionClient, SsoSession
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty


def _sign_in_at(op: LiveProvider, days_ago: float, *, clients: tuple[str, ...] = ()) -> str:
    """A session started ``days_ago`` (the instance's clock moved back meanwhile); returns its sid."""
    clock = op.instance.clock
    clock.advance(-timedelta(days=days_ago))
    try:
        result = AuthenticationResult("subject-old", clock(), "urn:antin:acr:password", ("pwd",), "old.official")
        _cookie, view = op.provider.sessions.start(result)
        with op.instance.database.session() as s:
            session_id = s.scalar(select(SsoSession.id).where(SsoSession.sid == view.sid))
            for client_id in clients:
                s.execute(insert(SessionClient).values(session_id=session_id, client_id=client_id, first_at=clock()))
    finally:
        clock.advance(timedelta(days=days_ago))
    return view.sid


def _end_at(op: LiveProvider, sid: str, days_ago: float) -> None:
    clock = op.instance.clock
    clock.advance(-timedelta(days=days_ago))
    try:
        assert op.provider.sessions.end(sid) is not None
    finally:
        clock.advance(timedelta(days=days_ago))


def test_purge_deletes_what_is_long_over_and_keeps_the_rest(op: LiveProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    browser = Browser(op.issuer)
    rp.code_flow(browser)  # a live session, signed in now
    ended_long_ago = _sign_in_at(op, 40, clients=("app-a", "app-b"))
    _end_at(op, ended_long_ago, 39)
    left_to_expire = _sign_in_at(op, 40, clients=("app-c",))  # never signed out: past its limits for weeks
    ended_yesterday = _sign_in_at(op, 1.5)
    _end_at(op, ended_yesterday, 1)
    now = op.instance.clock()
    with op.instance.database.session() as s:
        s.add_all(
            [
                BackchannelDelivery(
                    client_id="app-a", uri="http://x/", logout_token="t1", delivered_at=now - timedelta(days=39)
                ),
                BackchannelDelivery(
                    client_id="app-b", uri="http://x/", logout_token="t2", abandoned_at=now - timedelta(days=35)
                ),
                BackchannelDelivery(
                    client_id="app-c", uri="http://x/", logout_token="t3", delivered_at=now - timedelta(days=2)
                ),
                BackchannelDelivery(client_id="app-d", uri="http://x/", logout_token="t4"),  # still to be sent
            ]
        )

    monkeypatch.setenv("ANTIN_DATA_DIR", str(op.instance.settings.data_dir))
    monkeypatch.setenv("ANTIN_ISSUER", op.issuer)
    monkeypatch.setenv("ANTIN_SECRET_KEY", op.instance.secret_key)
    result = CliRunner().invoke(cli, ["sessions", "purge", "--older-than", "30", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "sessions": 2,
        "deliveries": 2,
        "older_than_days": 30,
        # the live sign-in's grant, tokens, code and interaction are all kept
        "tokens": 0,
        "grants": 0,
        "codes": 0,
        "interactions": 0,
        "pushed_requests": 0,
    }

    with op.instance.database.session() as s:
        sids = set(s.scalars(select(SsoSession.sid)))
        assert ended_long_ago not in sids and left_to_expire not in sids and ended_yesterday in sids
        assert len(sids) == 2  # the live one and yesterday's
        assert (
            s.scalar(select(func.count()).select_from(SessionClient).where(SessionClient.client_id.like("app-%"))) == 0
        )
        assert set(s.scalars(select(BackchannelDelivery.logout_token))) == {"t3", "t4"}
    # the official signed in now is still signed in: no password asked
    assert "code" in rp.authorize(browser, prompt="none").params
    again = CliRunner().invoke(cli, ["sessions", "purge", "--older-than", "0"])
    assert again.exit_code == 0 and "deleted 1 sessions" in again.output  # yesterday's; never the live one
    assert "deleted 0 tokens, 0 grants, 0 codes" in again.output  # the live sign-in's are all in use
    assert "code" in rp.authorize(browser, prompt="none").params


def test_purge_refuses_a_negative_age(op: LiveProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTIN_DATA_DIR", str(op.instance.settings.data_dir))
    monkeypatch.setenv("ANTIN_ISSUER", op.issuer)
    monkeypatch.setenv("ANTIN_SECRET_KEY", op.instance.secret_key)
    result = CliRunner().invoke(cli, ["sessions", "purge", "--older-than", "-1"])
    assert result.exit_code == 2 and "--older-than" in result.output


def test_an_idle_session_is_kept_until_its_absolute_limit(op: LiveProvider) -> None:
    """The browser went quiet, but its application goes on refreshing: a purge must not end that early."""
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    tokens = rp.code_flow(Browser(op.issuer))
    sid = tokens["id_claims"]["sid"]
    now = op.instance.clock()
    with op.instance.database.session() as s:  # last seen 2 h ago: idle (the limit is 30 min), not yet expired
        s.execute(update(SsoSession).where(SsoSession.sid == sid).values(last_seen_at=now - timedelta(hours=2)))
    assert op.provider.sessions.purge(timedelta(0)).sessions == 0
    refreshed = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    with op.instance.database.session() as s:  # its absolute limit passed a minute ago: now it is over
        s.execute(update(SsoSession).where(SsoSession.sid == sid).values(expires_at=now - timedelta(minutes=1)))
    assert op.provider.sessions.purge(timedelta(0)).sessions == 1
    again = rp.token_request({"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"]})
    assert again.json()["error"] == "invalid_grant"
