"""Client secrets: stored as a keyed digest, old digests upgraded on first use, and a change reaching every worker's
cached copy at once through Redis."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, update

from antin.kernel.database import Base, Database
from directory.memory import InMemoryDirectory
from idp.oidc.client_changes import RedisChangeNotices
from idp.oidc.client_secrets import ClientSecretDigests, SecretCheck
from idp.oidc.clients import ClientRegistry, ClientSpec
from idp.oidc.models import Client
from tests.components import require_command
from tests.idp.oidc_harness import live_provider

SERVICE = ClientSpec(name="service", grant_types=("client_credentials",), scopes=("profile",))


def _stored_digest(database: Database, client_id: str) -> str | None:
    with database.session() as s:
        return s.scalar(select(Client.secret_digest).where(Client.client_id == client_id))


def test_the_stored_digest_is_keyed_by_the_instance_secret() -> None:
    secret = "a-secret"
    one, other = ClientSecretDigests("k" * 32), ClientSecretDigests("j" * 32)
    stored = one.digest(secret)
    assert secret not in stored and hashlib.sha256(secret.encode()).hexdigest() not in stored
    assert len(stored) <= 64  # fits the column
    # the database alone does not let anyone test a candidate: another key says "wrong"
    assert one.check(secret, stored) is SecretCheck.RIGHT
    assert other.check(secret, stored) is SecretCheck.WRONG
    assert one.check("b-secret", stored) is SecretCheck.WRONG
    assert one.check(secret, None) is SecretCheck.WRONG


def test_an_old_sha256_digest_works_once_then_is_stored_again(tmp_path: Path) -> None:
    with live_provider(tmp_path, InMemoryDirectory()) as op:
        record, secret = op.provider.clients.add(SERVICE)
        assert secret is not None
        database = op.instance.database
        # a registration made before keyed digests: the plain SHA-256 of the secret
        with database.session() as s:
            s.execute(
                update(Client)
                .where(Client.client_id == record.client_id)
                .values(secret_digest=hashlib.sha256(secret.encode()).hexdigest())
            )
        op.provider.clients.forget()

        def token(with_secret: str) -> int:
            r = requests.post(
                op.issuer + "/token",
                data={"grant_type": "client_credentials"},
                auth=(record.client_id, with_secret),
                timeout=10,
            )
            return r.status_code

        assert token(secret + "x") == 401
        assert _stored_digest(database, record.client_id) == hashlib.sha256(secret.encode()).hexdigest()
        assert token(secret) == 200
        upgraded = _stored_digest(database, record.client_id)
        assert upgraded is not None and upgraded.startswith("h1$") and secret not in upgraded
        op.provider.clients.forget()
        assert token(secret) == 200 and token(secret + "x") == 401


def test_a_change_reaches_another_workers_cache_through_redis(tmp_path: Path) -> None:
    require_command("redis-server")
    from tests.servers import redis_server

    database = Database(f"sqlite:///{tmp_path / 'clients.sqlite3'}")
    Base.metadata.create_all(database.engine, tables=[Client.__table__])  # type: ignore[list-item]
    with redis_server(tmp_path) as url:
        # two workers with an hour-long cache: only the notice can make the second one see a change
        notices = RedisChangeNotices(url)
        worker = ClientRegistry(database, secret_key="k" * 32, cache_seconds=3600, changes=notices)
        admin = ClientRegistry(database, secret_key="k" * 32, changes=RedisChangeNotices(url))
        record, secret = admin.add(SERVICE)
        assert secret is not None
        cached = worker.active(record.client_id)
        assert cached is not None and worker.check_secret(cached, secret) is not None
        assert notices.subscribed.wait(10), "the worker never subscribed to client change notices"

        _, new_secret = admin.rotate_secret(record.client_id)
        assert _eventually(lambda: worker.check_secret(worker.active(record.client_id) or cached, secret) is None)
        fresh = worker.active(record.client_id)
        assert fresh is not None and worker.check_secret(fresh, new_secret) is not None

        admin.set_disabled(record.client_id)
        assert _eventually(lambda: worker.active(record.client_id) is None)
        worker.close()
        admin.close()
    database.dispose()


def _eventually(condition: object, seconds: float = 5.0) -> bool:
    """True once ``condition()`` holds, within a few seconds (a notice crosses Redis in milliseconds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_closed_registry_stops_listening_and_says_nothing_when_redis_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An instance that closes (a worker stopping, a test's platform torn down) stops its listener: it must not keep
    trying to subscribe, nor log "interrupted" every second into a stream that may be gone."""
    require_command("redis-server")
    from tests.servers import redis_server

    database = Database(f"sqlite:///{tmp_path / 'clients.sqlite3'}")
    Base.metadata.create_all(database.engine, tables=[Client.__table__])  # type: ignore[list-item]
    with redis_server(tmp_path) as url:
        notices = RedisChangeNotices(url, retry_seconds=0.05)
        worker = ClientRegistry(database, secret_key="k" * 32, cache_seconds=3600, changes=notices)
        before = set(threading.enumerate())
        worker.active("no-such-client")  # the first read starts the listener
        assert notices.subscribed.wait(10), "the worker never subscribed to client change notices"
        [listener] = [t for t in set(threading.enumerate()) - before if t.name == "oidc-client-changes"]
        worker.close()
        listener.join(5)
        assert not listener.is_alive(), "the listener still runs after close()"
    with caplog.at_level(logging.WARNING, logger="idp.oidc.client_changes"):
        time.sleep(0.3)  # Redis is gone: a listener still running would log within its 0.05 s retry
    assert not [r for r in caplog.records if r.name == "idp.oidc.client_changes"]
    database.dispose()
