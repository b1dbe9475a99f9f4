"""Back-channel logout fan-out, for :mod:`bench.sessions_bench`: one official, one session, 20 applications.

Each application is a path on one local HTTP receiver that records when its logout token arrived and checks it
(signature with the tests' own JOSE on ``cryptography``, ``iss``, ``aud``, ``sid``, the logout event). The time
is from the call of ``end_session`` to the arrival of the last token expected. Two drainers are compared: one
thread (the drainer before issue 14: one POST at a time) and the pool the provider runs (``DELIVERY_WORKERS``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import insert, select

from antin.kernel.outbound import OutboundPolicy
from bench.rows import Row, row_from_samples
from idp.oidc.clients import ClientRecord, ClientSpec
from idp.oidc.interaction import AuthenticationResult
from idp.oidc.logout import DELIVERY_WORKERS, BackchannelLogout
from idp.oidc.models import SessionClient, SsoSession
from idp.oidc.token_types import BACKCHANNEL_EVENT
from tests.idp.jose_check import BadTokenError, verify_jws

__all__ = ["fan_out_rows"]

APPLICATIONS = 20
SLOW_SECONDS = 3.0
LAG_SECONDS = 0.05  # an application across a network: round trip, TLS and its own work before it answers


class Receivers:
    """Every application's back-channel logout endpoint: ``/app/<n>`` answers at once, ``/app/lag<n>`` after
    50 ms, ``/app/slow`` after 3 s."""

    def __init__(self) -> None:
        self.arrivals: dict[str, tuple[float, str]] = {}
        self.lock = threading.Condition()
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                arrived = time.perf_counter()
                if self.path.endswith("/slow"):
                    time.sleep(SLOW_SECONDS)
                    arrived = time.perf_counter()
                elif "/lag" in self.path:
                    time.sleep(LAG_SECONDS)
                with receivers.lock:
                    receivers.arrivals[self.path] = (arrived, parse_qs(body)["logout_token"][0])
                    receivers.lock.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/app/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()

    def wait_for(self, paths: set[str], timeout: float = 60) -> dict[str, tuple[float, str]]:
        with self.lock:
            self.lock.wait_for(lambda: paths <= set(self.arrivals), timeout)
            return dict(self.arrivals)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _refused_uri() -> str:
    """A loopback port nothing listens on: the connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/app/dead"


@contextmanager
def _drainer(live: Any, workers: int) -> Iterator[BackchannelLogout]:
    provider = live.provider
    original = provider.backchannel
    original.close()
    drainer = BackchannelLogout(
        live.instance.database,
        provider.keys,
        issuer=provider.issuer,
        workers=workers,
        clock=live.instance.clock,
        # the applications' endpoints are this bench's own receivers on loopback, which deliveries refuse unless listed
        outbound=OutboundPolicy.from_entries(["127.0.0.0/8"]),
    )
    provider.backchannel = drainer
    try:
        yield drainer
    finally:
        drainer.close()
        provider.backchannel = original


def _session_with(live: Any, clients: list[ClientRecord]) -> str:
    provider = live.provider
    result = AuthenticationResult("bench-subject", live.instance.clock(), "urn:antin:acr:password", ("pwd",), "bench")
    _cookie, view = provider.sessions.start(result)
    with live.instance.database.session() as s:
        session_id = s.scalar(select(SsoSession.id).where(SsoSession.sid == view.sid))
        s.execute(
            insert(SessionClient),
            [{"session_id": session_id, "client_id": c.client_id, "first_at": view.created_at} for c in clients],
        )
    sid: str = view.sid
    return sid


def _checked(token: str, jwks: dict[str, Any], issuer: str, client_id: str, sid: str) -> bool:
    try:
        _header, claims = verify_jws(token, jwks)
    except BadTokenError:
        return False
    return (
        claims.get("iss") == issuer
        and claims.get("aud") == client_id
        and claims.get("sid") == sid
        and BACKCHANNEL_EVENT in claims.get("events", {})
    )


def fan_out_rows(live: Any, database: str, repeats: int, slow_repeats: int) -> list[Row]:
    receivers = Receivers()
    try:
        healthy = [receivers.base + str(i) for i in range(APPLICATIONS)]
        lagging = [receivers.base + f"lag{i}" for i in range(APPLICATIONS)]
        # the slow and the refusing application are the session's first clients: the worst place for a drainer
        # that posts one at a time
        faulty = [receivers.base + "slow", _refused_uri(), *healthy[: APPLICATIONS - 2]]
        rows = []
        for label, uris, count in (
            ("20 applications answering at once", healthy, repeats),
            ("20 applications answering in 50 ms", lagging, repeats),
            ("1 slow (3 s) + 1 refusing of 20", faulty, slow_repeats),
        ):
            clients = [
                live.provider.clients.add(
                    ClientSpec(
                        name=f"app {label} {i}", redirect_uris=("http://localhost:9/cb",), backchannel_logout_uri=u
                    )
                )[0]
                for i, u in enumerate(uris)
            ]
            for workers in (1, DELIVERY_WORKERS):
                rows.append(_measure(live, database, receivers, clients, label, workers, count))
        return rows
    finally:
        receivers.close()


def _measure(
    live: Any,
    database: str,
    receivers: Receivers,
    clients: list[ClientRecord],
    label: str,
    workers: int,
    repeats: int,
) -> Row:
    jwks = live.provider.keys.jwks()
    by_path = {urlsplit(c.backchannel_logout_uri or "").path: c for c in clients}
    answering = {p for p in by_path if not p.endswith("/dead")}
    fast = {p for p in answering if not p.endswith("/slow")}
    to_fast: list[float] = []
    to_all: list[float] = []
    checked = wrong = 0
    with _drainer(live, workers):
        for _ in range(repeats):
            sid = _session_with(live, clients)
            receivers.reset()
            started = time.perf_counter()
            assert live.provider.end_session(sid, reason="bench")
            arrivals = receivers.wait_for(answering)
            for path in answering:
                checked += 1
                got = arrivals.get(path)
                wrong += got is None or not _checked(got[1], jwks, live.provider.issuer, by_path[path].client_id, sid)
            if all(p in arrivals for p in answering):
                to_fast.append(max(arrivals[p][0] for p in fast) - started)
                to_all.append(max(arrivals[p][0] for p in answering) - started)
    threads = "1 thread (one at a time, as before)" if workers == 1 else f"{workers} threads"
    slow_note = ""
    if len(fast) != len(answering) and to_all:
        slow_note = f"; the slow one's token after {min(to_all):.2f}–{max(to_all):.2f} s"
    return row_from_samples(
        "sessions",
        f"logout fan-out, {label}, {threads} ({database})",
        "antin",
        to_fast,
        checked=checked,
        wrong=wrong,
        note=f"time from end_session to the last of the {len(fast)} answering at once{slow_note}",
    )
