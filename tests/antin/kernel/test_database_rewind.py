"""Two PostgreSQL failovers in a row (issue 14): the primary dies, the standby is promoted, the old primary is
brought back with ``pg_rewind`` as the new primary's standby, then the new primary dies and the old one takes over
again. The platform keeps one multi-host ``ANTIN_DATABASE_URL`` throughout and nothing on it is reloaded: a refresh
token issued before the first failover is refreshed after it, and its successor after the second. Real servers."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
import requests

from idp.oidc.random_secrets import digest
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import live_provider
from tests.idp.rp import Browser, RelyingParty
from tests.postgres_standby import (
    kill_host,
    postgres_with_standby,
    promote,
    psql,
    rewind_as_standby,
    wait_until_replayed,
)

pytestmark = [pytest.mark.postgres]


def refresh_once_writes_go_through(rp: RelyingParty, refresh_token: str) -> tuple[dict[str, Any], int]:
    """The refresh as a client retries it after 503s (``Retry-After``) until the platform reaches the primary;
    (the new tokens, the 503s seen)."""
    deadline, unavailable = time.monotonic() + 30, 0
    while True:
        answer = rp.token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})
        if answer.status_code != 503:
            assert answer.status_code == 200, answer.text
            return answer.json(), unavailable
        assert answer.headers["Retry-After"] and "Traceback" not in answer.text
        unavailable += 1
        assert time.monotonic() < deadline, "the platform did not reach the promoted server"
        time.sleep(0.2)


def test_the_old_primary_comes_back_as_a_standby_and_takes_over_again(tmp_path: Any) -> None:
    with (
        postgres_with_standby(tmp_path / "pg") as servers,
        live_provider(tmp_path / "op", make_directory(), database__url=servers.url) as op,
    ):
        rp = RelyingParty.register(op, name="Hai lần chuyển đổi")
        before = rp.code_flow(Browser(op.issuer))
        wait_until_replayed(servers.primary_url)

        # the link to the standby stalls, the primary writes alone, then its host dies: that write is on no other server
        receiver = int(psql(servers.standby_url, "select pid from pg_stat_wal_receiver"))
        os.kill(receiver, signal.SIGSTOP)
        psql(servers.primary_url, "create table written_alone (n int)")
        kill_host(servers.primary_url)
        os.kill(receiver, signal.SIGKILL)
        promote(servers.standby_url)
        after_first, unavailable_first = refresh_once_writes_go_through(rp, before["refresh_token"])

        rewound = rewind_as_standby(servers.primary_url, servers.standby_url)
        wait_until_replayed(servers.standby_url)
        assert psql(servers.primary_url, "select pg_is_in_recovery()") == "t"
        # the new primary's write (the refresh) is read on the rewound old one; what it wrote alone is taken back
        # (its refresh token's row: an access token has none, idp/oidc/user_tokens.py)
        lookup = "select count(*) from oidc_token where lookup = '" + digest(after_first["refresh_token"]) + "'"
        assert psql(servers.primary_url, lookup) == "1"
        assert psql(servers.primary_url, "select to_regclass('written_alone') is null") == "t"

        kill_host(servers.standby_url)
        promote(servers.primary_url)
        after_second, unavailable_second = refresh_once_writes_go_through(rp, after_first["refresh_token"])
        assert after_second["access_token"] != after_first["access_token"]
        # the rotation made on the other server holds here: the first refresh token is spent
        reused = requests.post(
            op.issuer + "/token",
            data={"grant_type": "refresh_token", "refresh_token": before["refresh_token"]},
            auth=(rp.client.client_id, rp.secret or ""),
            timeout=10,
        )
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        print(
            f"pg_rewind {rewound:.2f} s; 503s before the refresh went through: {unavailable_first} after the first "
            f"failover, {unavailable_second} after the second"
        )
        op.instance.database.dispose()
