"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): a logout token to every client of a session.

Deliveries are rows in ``oidc_backchannel_delivery``: a persistent queue shared by every worker. A logout queues
one row per client and drains the queue at once in a background thread; failures are retried with growing
delays (10 s, 30 s, 2 min, 10 min, 1 h, then abandoned) by whichever worker drains next: each worker runs a
small daemon thread that drains every ``DRAIN_EVERY`` seconds. A worker claims a row by moving its
``next_attempt_at`` forward in one UPDATE, so two workers never send the same attempt.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import requests
from sqlalchemy import select, update

from antin.kernel.database import Database, utcnow
from idp.oidc.clients import ClientRecord
from idp.oidc.keys import SigningKeys
from idp.oidc.models import BackchannelDelivery
from idp.oidc.token_types import BACKCHANNEL_EVENT

__all__ = ["BACKCHANNEL_EVENT", "BackchannelLogout"]

log = logging.getLogger(__name__)

RETRY_DELAYS = (10, 30, 120, 600, 3600)
CLAIM_LEASE = timedelta(seconds=30)
DRAIN_EVERY = 15.0
LOGOUT_TOKEN_TTL = 120


class BackchannelLogout:
    def __init__(
        self,
        database: Database,
        keys: SigningKeys,
        *,
        issuer: str,
        timeout: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._clock = clock
        self._keys = keys
        self._issuer = issuer
        self._timeout = timeout
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.post: Callable[[str, str], int] = self._post

    def logout_token(self, client: ClientRecord, *, sid: str | None, subject: str | None) -> str:
        now = int(self._clock().timestamp())
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_TTL,
            "jti": secrets.token_urlsafe(18),
            "events": {BACKCHANNEL_EVENT: {}},
        }
        if sid:
            claims["sid"] = sid
        if subject:
            claims["sub"] = subject
        return self._keys.sign(claims, alg=client.id_token_signed_response_alg, typ="logout+jwt")

    def enqueue(self, clients: list[ClientRecord], *, sid: str | None, subject: str | None) -> int:
        count = 0
        with self._db.session() as s:
            for client in clients:
                if not client.backchannel_logout_uri:
                    continue
                s.add(
                    BackchannelDelivery(
                        client_id=client.client_id,
                        uri=client.backchannel_logout_uri,
                        logout_token=self.logout_token(client, sid=sid, subject=subject),
                    )
                )
                count += 1
        if count:
            self._wake.set()
        return count

    def drain(self) -> int:
        """Attempt every due delivery once; returns how many were delivered."""
        delivered = 0
        now = self._clock()
        with self._db.session() as s:
            due = s.execute(
                select(BackchannelDelivery.id, BackchannelDelivery.next_attempt_at)
                .where(
                    BackchannelDelivery.delivered_at.is_(None),
                    BackchannelDelivery.abandoned_at.is_(None),
                    BackchannelDelivery.next_attempt_at <= now,
                )
                .limit(50)
            ).all()
        for row_id, next_at in due:
            with self._db.session() as s:
                claimed = s.execute(
                    update(BackchannelDelivery)
                    .where(BackchannelDelivery.id == row_id, BackchannelDelivery.next_attempt_at == next_at)
                    .values(next_attempt_at=now + CLAIM_LEASE)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another worker has it
                row = s.get(BackchannelDelivery, row_id)
                assert row is not None
                uri, token = row.uri, row.logout_token
            error: str | None = None
            try:
                status = self.post(uri, token)
                if status not in (200, 204):
                    error = f"HTTP {status}"
            except requests.RequestException as err:
                error = type(err).__name__
            with self._db.session() as s:
                row = s.get(BackchannelDelivery, row_id)
                assert row is not None
                row.attempts += 1
                if error is None:
                    row.delivered_at = self._clock()
                    delivered += 1
                elif row.attempts > len(RETRY_DELAYS):
                    row.abandoned_at = self._clock()
                    row.last_error = error
                    log.warning("back-channel logout to %s abandoned: %s", row.client_id, error)
                else:
                    row.last_error = error
                    row.next_attempt_at = self._clock() + timedelta(seconds=RETRY_DELAYS[row.attempts - 1])
        return delivered

    def _post(self, uri: str, token: str) -> int:
        response = requests.post(
            uri,
            data={"logout_token": token},
            timeout=self._timeout,
            allow_redirects=False,
            headers={"Cache-Control": "no-store"},
        )
        return response.status_code

    # -- the background drainer ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start this process's drainer thread (idempotent; also fine after a fork)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="antin-backchannel-logout", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self.start()
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 1)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain()
            except Exception:  # the drainer must survive a database hiccup
                log.exception("back-channel logout drain failed")
            self._wake.wait(DRAIN_EVERY)
            self._wake.clear()
