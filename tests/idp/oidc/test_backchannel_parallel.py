"""Back-channel logout to many applications: one that hangs does not hold the others back; two drainers working
the same queue never send one logout token twice. Real HTTP receivers; tokens checked with the tests' own JOSE."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from antin.kernel.outbound import OutboundPolicy
from idp.oidc.clients import ClientRecord, ClientSpec
from idp.oidc.logout import BackchannelLogout
from idp.oidc.models import BackchannelDelivery
from tests.idp.jose_check import verify_jws
from tests.idp.oidc_harness import LiveProvider

# the hanging application answers only when the test lets it (or after this long, should the test break); the
# drainer waits longer than that for it: a drainer that posts one at a time delivers nothing else meanwhile
HANG_SECONDS = 60.0
LOOPBACK = OutboundPolicy.from_entries(["127.0.0.1"])  # the applications of this test listen there


class Applications:
    """Back-channel logout endpoints of many applications on one server: ``/rp/<n>``; ``/rp/hang`` is held."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []  # (path, logout token) in arrival order
        self.lock = threading.Lock()
        self.hang_entered = threading.Event()
        self.hang_over = threading.Event()
        self.release = threading.Event()
        self.arrived = threading.Condition(self.lock)
        apps = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if self.path == "/rp/hang":
                    apps.hang_entered.set()
                    apps.release.wait(HANG_SECONDS)
                    apps.hang_over.set()
                with apps.arrived:
                    apps.received.append((self.path, parse_qs(body)["logout_token"][0]))
                    apps.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/rp/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 60) -> list[tuple[str, str]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def apps() -> Iterator[Applications]:
    a = Applications()
    yield a
    a.close()


def register(op: LiveProvider, uris: list[str]) -> list[ClientRecord]:
    return [
        op.provider.clients.add(
            ClientSpec(name=f"Application {i}", redirect_uris=("http://localhost:9/cb",), backchannel_logout_uri=uri)
        )[0]
        for i, uri in enumerate(uris)
    ]


def test_a_hanging_application_does_not_hold_back_the_others(op: LiveProvider, apps: Applications) -> None:
    # the hanging one is queued first: a drainer that posts one at a time would wait on it before the rest
    clients = register(op, [apps.base + "hang", *(apps.base + str(i) for i in range(19))])
    backchannel = BackchannelLogout(
        op.instance.database,
        op.provider.keys,
        issuer=op.issuer,
        timeout=HANG_SECONDS + 5,
        clock=op.instance.clock,
        outbound=LOOPBACK,
    )
    try:
        assert backchannel.enqueue(clients, sid="sid-of-the-session", subject="subject-1") == 20
        backchannel.kick()
        others = [r for r in apps.wait_for(19, timeout=30) if r[0] != "/rp/hang"]
        held = apps.hang_entered.is_set() and not apps.hang_over.is_set()
        apps.release.set()
        assert len(others) == 19, "the other applications did not receive their logout token while one hung"
        assert held, "the others arrived only after the hanging application had answered"
        assert apps.wait_for(20)[-1][0] == "/rp/hang"  # once released it is delivered too
    finally:
        apps.release.set()
        backchannel.close()
    assert sorted(path for path, _ in others) == sorted(f"/rp/{i}" for i in range(19))
    jwks = op.provider.keys.jwks()
    audiences = set()
    for _path, token in others:
        _header, claims = verify_jws(token, jwks)
        assert claims["sid"] == "sid-of-the-session" and claims["iss"] == op.issuer
        audiences.add(claims["aud"])
    assert audiences == {c.client_id for c in clients[1:]}


def test_two_drainers_never_send_a_logout_token_twice(op: LiveProvider, apps: Applications) -> None:
    clients = register(op, [apps.base + str(i) for i in range(30)])
    first = op.provider.backchannel
    # a second process's drainer: its own pool and threads over the same queue
    second = BackchannelLogout(
        op.instance.database, op.provider.keys, issuer=op.issuer, clock=op.instance.clock, outbound=LOOPBACK
    )
    try:
        for n in range(2):  # two logouts of 30 applications each: 60 deliveries
            first.enqueue(clients, sid=f"sid-{n}", subject="subject-1")
        start = threading.Barrier(2)
        delivered = [0, 0]

        def run(index: int, drainer: BackchannelLogout) -> None:
            start.wait()
            delivered[index] = drainer.drain()

        threads = [threading.Thread(target=run, args=(i, d)) for i, d in enumerate((first, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        received = apps.wait_for(60, timeout=10)
    finally:
        second.close()
    tokens = [token for _path, token in received]
    assert len(tokens) == 60 and len(set(tokens)) == 60
    assert sum(delivered) == 60  # each delivery counted by exactly one of the drainers
    with op.instance.database.session() as s:
        rows = s.execute(select(BackchannelDelivery.attempts, BackchannelDelivery.delivered_at)).all()
    assert len(rows) == 60 and all(attempts == 1 and at is not None for attempts, at in rows)
