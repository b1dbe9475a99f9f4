"""The JWKS while PostgreSQL is away (issue 14: a failover): a 503 problem, and one short warning line naming the
outage (it was an ERROR whose text was the driver's whole story and the SQL, over many lines), not a traceback.
Real PostgreSQL, its host killed."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import requests

from idp.oidc.discovery_documents import JWKS_PATH
from idp.oidc.keys import JWKS_MAX_AGE_SECONDS
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import live_provider
from tests.postgres_standby import kill_host
from tests.servers import postgres_server

pytestmark = [pytest.mark.postgres]


def test_the_jwks_with_the_database_away_is_a_503_and_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="idp.oidc.discovery_documents")
    with (
        postgres_server(tmp_path / "pg") as url,
        live_provider(tmp_path / "op", make_directory(), database__url=url) as op,
    ):
        assert requests.get(op.issuer + JWKS_PATH, timeout=10).status_code == 200
        kill_host(url)
        time.sleep(JWKS_MAX_AGE_SECONDS + 0.2)  # the published keys are read again
        away = requests.get(op.issuer + JWKS_PATH, timeout=10)
        op.instance.database.dispose()
    assert away.status_code == 503 and away.headers["Content-Type"].startswith("application/problem+json")
    logged = [r for r in caplog.records if r.name == "idp.oidc.discovery_documents"]
    assert [(r.levelno, r.exc_info) for r in logged] == [(logging.WARNING, None)]
    assert logged[0].getMessage() == "the JWKS could not be built: the database is unavailable (OperationalError)"
