"""The provider on PostgreSQL (production's database): sign-in, refresh rotation and reuse, PAR, logout."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import live_provider
from tests.idp.rp import Browser, RelyingParty
from tests.servers import postgres_server

pytestmark = pytest.mark.postgres


def test_flows_on_postgresql(tmp_path: Path) -> None:
    with (
        postgres_server(tmp_path / "pg") as url,
        live_provider(tmp_path / "op", make_directory(), database__url=url) as op,
    ):
        assert op.instance.database.url.get_backend_name() == "postgresql"
        rp = RelyingParty.register(op, name="On PostgreSQL", post_logout_redirect_uris=("http://localhost:9/bye",))
        browser = Browser(op.issuer)
        tokens = rp.code_flow(browser)
        again = rp.exchange(rp.sign_in(browser)["code"]).json()
        first = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert first.status_code == 200
        reuse = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert reuse.json()["error"] == "invalid_grant"
        pushed = requests.post(
            op.issuer + "/par", data=rp.auth_params(), auth=(rp.client.client_id, rp.secret), timeout=10
        )
        assert pushed.status_code == 201
        page = browser.go(
            op.issuer
            + "/logout?"
            + urlencode({"id_token_hint": again["id_token"], "post_logout_redirect_uri": "http://localhost:9/bye"})
        )
        assert page.location == "http://localhost:9/bye"
        assert rp.userinfo(again["access_token"]).status_code == 401
        op.instance.database.dispose()
