"""oidc_token has no foreign key to oidc_grant (migration r14nofk00013, up and down, SQLite and PostgreSQL); a token
whose grant is gone (deleted by hand; the purge deletes a grant only with its tokens) is unknown everywhere it is
read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from alembic import command
from sqlalchemy import delete, inspect

from antin.kernel.database import Database
from antin.migrate import alembic_config, current_revision, upgrade
from idp.oidc.models import Grant
from tests.idp.oidc_harness import BOTH_DATABASES, LiveProvider, live_provider_on
from tests.idp.rp import Browser, RelyingParty
from tests.servers import empty_database

BEFORE = "a4d17ix00012"


def token_keys(database: Database) -> list[str]:
    return sorted(str(k["name"]) for k in inspect(database.engine).get_foreign_keys("oidc_token"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with empty_database(request.param, tmp_path) as db:
        yield db


def test_the_migration_drops_the_grant_key_and_puts_it_back(database: Database) -> None:
    upgrade(database, BEFORE)
    assert token_keys(database) == ["fk_oidc_token_grant_id_oidc_grant"]
    upgrade(database, "r14nofk00013")
    assert current_revision(database) == "r14nofk00013"
    assert token_keys(database) == []
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)
    assert token_keys(database) == ["fk_oidc_token_grant_id_oidc_grant"]
    upgrade(database)
    assert token_keys(database) == []


@pytest.fixture(params=BOTH_DATABASES)
def op(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveProvider]:
    with live_provider_on(request.param, tmp_path) as live:
        yield live


def test_a_token_whose_grant_was_deleted_is_unknown(op: LiveProvider) -> None:
    rp = RelyingParty.register(op, name="orphaned")
    tokens = rp.code_flow(Browser(op.issuer))
    refreshed = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    auth = (rp.client.client_id, rp.secret or "")
    seen = requests.post(op.issuer + "/introspect", data={"token": refreshed["access_token"]}, auth=auth, timeout=10)
    assert seen.json()["active"] is True  # verified once: the next answers read only its state
    with op.instance.database.session() as s:
        s.execute(delete(Grant).where(Grant.client_id == rp.client.client_id))
    for token in (refreshed["access_token"], refreshed["refresh_token"]):
        seen = requests.post(op.issuer + "/introspect", data={"token": token}, auth=auth, timeout=10)
        assert seen.json() == {"active": False}
    assert rp.userinfo(refreshed["access_token"]).status_code == 401
    again = rp.token_request({"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
