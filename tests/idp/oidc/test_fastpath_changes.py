"""The fast path's cached clients and keys follow changes made elsewhere at once: two workers on one database and one
Redis, each caching client registrations for an hour; a secret rotated, a client disabled or the signing keys
rotated by the other worker is seen by the next request answered before Flask."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from werkzeug.test import Client

from idp.oidc.client_changes import RedisChangeNotices
from idp.oidc.clients import ClientSpec
from idp.oidc.fastpath import EXTENSION_KEY, MachineEndpoints
from idp.oidc.grants import GrantContext
from tests.components import require_command
from tests.idp.conftest import make_directory
from tests.idp.oidc_harness import LiveProvider, live_provider

SERVICE = ClientSpec(name="service", grant_types=("client_credentials",), scopes=("profile",))


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[LiveProvider, LiveProvider]]:
    require_command("redis-server")
    from tests.servers import redis_server

    with redis_server(tmp_path / "redis") as redis_url:
        shared = {
            "database__url": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
            "redis__url": redis_url,
            "oidc__client_cache_seconds": 3600,  # only a notice can make a worker read a registration again
            "core__secret_key": "s" * 48,  # one instance: the same secret keys the client digests and the keys
        }
        with (
            live_provider(tmp_path / "one", make_directory(), **shared) as one,
            live_provider(tmp_path / "two", make_directory(), **shared) as two,
        ):
            yield one, two


def _eventually(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_secret_rotated_or_a_client_disabled_by_another_worker_is_refused_at_once(
    workers: tuple[LiveProvider, LiveProvider],
) -> None:
    admin, worker = workers
    record, secret = admin.provider.clients.add(SERVICE)
    assert secret is not None
    client = Client(worker.app)
    fast = worker.app.extensions[EXTENSION_KEY]
    assert isinstance(fast, MachineEndpoints)

    def token(with_secret: str) -> int:
        form = {"grant_type": "client_credentials"}
        return client.post("/token", data=form, auth=(record.client_id, with_secret)).status_code

    assert token(secret) == 200  # through the app: its hooks start the worker's threads (the notices' listener)
    assert token(secret) == 200
    answered = fast.answered
    changes = worker.provider.clients._changes
    assert isinstance(changes, RedisChangeNotices) and changes.subscribed.wait(10)

    _, new_secret = admin.provider.clients.rotate_secret(record.client_id)
    assert _eventually(lambda: token(secret) == 401), "the old secret still worked on the other worker"
    assert token(new_secret) == 200 and fast.answered > answered  # the new one, answered before Flask

    admin.provider.clients.set_disabled(record.client_id)
    assert _eventually(lambda: token(new_secret) == 401), "the disabled client still got tokens"


def test_keys_rotated_by_another_worker_sign_and_verify_on_this_one(workers: tuple[LiveProvider, LiveProvider]) -> None:
    admin, worker = workers
    record, secret = admin.provider.clients.add(SERVICE)
    assert secret is not None
    client = Client(worker.app)
    auth = (record.client_id, secret)
    client.post("/token", data={"grant_type": "client_credentials"}, auth=auth)  # the app's first request

    def issued_with_kid() -> tuple[str, str]:
        answer = client.post("/token", data={"grant_type": "client_credentials"}, auth=auth)
        assert answer.status_code == 200
        access_token = str(answer.get_json()["access_token"])
        published = KeySet.import_key_set(json.loads(client.get("/jwks.json").get_data()))
        decoded = jwt.decode(access_token, published, algorithms=["ES256"])  # the independent check
        return access_token, str(decoded.header["kid"])

    before, old_kid = issued_with_kid()
    admin.provider.keys.rotate()  # another process: this worker's key cache is still fresh
    # the JWKS is read again within a second: the new keys are published at once, the retired one kept
    assert _eventually(lambda: len(json.loads(client.get("/jwks.json").get_data())["keys"]) == 4)
    # a token signed elsewhere with the new key is accepted here by introspection (its kid makes it read the keys)
    new_key = admin.provider.keys.signing_key("ES256")
    assert new_key.kid != old_kid
    issued_elsewhere = admin.provider.tokens.issue(_context(admin, record.client_id))[0]["access_token"]
    for access_token in (before, issued_elsewhere):
        answer = client.post("/introspect", data={"token": access_token}, auth=auth)
        assert answer.status_code == 200 and answer.get_json()["active"] is True


def _context(op: LiveProvider, client_id: str) -> GrantContext:
    record = op.provider.clients.get(client_id)
    assert record is not None
    return GrantContext(client=record, subject=None, scope="profile")
