"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): a logout token to every client of a session.

Deliveries are rows in ``oidc_backchannel_delivery``: a persistent queue shared by every worker. A logout queues
one row per client and wakes this process's drainer; failures are retried with growing delays (10 s, 30 s,
2 min, 10 min, 1 h, then abandoned) by whichever worker drains next: each worker runs a small daemon thread that
drains every ``DRAIN_EVERY`` seconds. A worker claims a row by moving its ``next_attempt_at`` forward in one
UPDATE, so two workers never send the same attempt.

Deliveries are POSTed in parallel by a small pool (``DELIVERY_WORKERS`` threads): one application that answers
slowly or not at all holds one thread until the timeout, not the logout of every other application. A row is
claimed only when a thread is free to send it at once, so its claim (``CLAIM_LEASE``) never runs out in a queue.
Each POST goes through :mod:`antin.kernel.outbound`: a URI that resolves to a non-public address the operator did
not allow is refused (recorded as the attempt's error) and nothing is sent.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlencode

from sqlalchemy import select, update

from antin.kernel.database import Database, database_outage, outage_reason, utcnow
from antin.kernel.outbound import OutboundError, OutboundPolicy, send
from idp.oidc.clients import ClientRecord
from idp.oidc.keys import SigningKeys
from idp.oidc.models import BackchannelDelivery
from idp.oidc.token_types import BACKCHANNEL_EVENT

__all__ = ["BACKCHANNEL_EVENT", "DELIVERY_WORKERS", "BackchannelLogout"]

log = logging.getLogger(__name__)

RETRY_DELAYS = (10, 30, 120, 600, 3600)
CLAIM_LEASE = timedelta(seconds=30)
DRAIN_EVERY = 15.0
LOGOUT_TOKEN_TTL = 120
DELIVERY_WORKERS = 8  # parallel POSTs per process: a few hung applications cannot hold every logout back


class Claimed(NamedTuple):
    """A delivery this worker claimed, with what sending and recording it needs."""

    row_id: int
    client_id: str
    uri: str
    token: str
    attempts: int


class BackchannelLogout:
    def __init__(
        self,
        database: Database,
        keys: SigningKeys,
        *,
        issuer: str,
        timeout: float = 5.0,
        workers: int = DELIVERY_WORKERS,
        clock: Callable[[], datetime] = utcnow,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self._db = database
        self._outbound = outbound or OutboundPolicy()
        self._clock = clock
        self._keys = keys
        self._issuer = issuer
        self._timeout = timeout
        self._workers = workers
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        # the pool and the count of its busy threads; the pool is rebuilt in a forked child (its threads are not)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._busy = 0
        self._freed = threading.Condition()
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
        """Attempt every due delivery once, in parallel, and wait for them; returns how many were delivered."""
        delivered = 0
        pending: set[Future[bool]] = set()
        tried: set[int] = set()
        while True:
            # with nothing of ours in flight, wait for a thread the background drainer holds rather than skip
            started = self._dispatch(exclude=tried, block=not pending)
            pending.update(started)
            if not pending:
                return delivered
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            delivered += sum(f.result() for f in done)

    def _dispatch(self, exclude: set[int] | None = None, *, block: bool = False) -> list[Future[bool]]:
        """Claim as many due deliveries as there are free threads and start sending them; returns at once."""
        free = self._reserve(block)
        if not free:
            return []
        started: list[Future[bool]] = []
        try:
            now = self._clock()
            with self._db.session() as s:
                query = (
                    select(BackchannelDelivery.id, BackchannelDelivery.next_attempt_at)
                    .where(
                        BackchannelDelivery.delivered_at.is_(None),
                        BackchannelDelivery.abandoned_at.is_(None),
                        BackchannelDelivery.next_attempt_at <= now,
                    )
                    .order_by(BackchannelDelivery.next_attempt_at, BackchannelDelivery.id)
                    .limit(free)
                )
                if exclude:
                    query = query.where(BackchannelDelivery.id.not_in(exclude))
                due = s.execute(query).all()
            pool = self._executor()
            for row_id, next_at in due:
                if exclude is not None:
                    exclude.add(row_id)
                claimed = self._claim(row_id, next_at, now)
                if claimed is None:
                    continue  # another worker has it
                started.append(pool.submit(self._deliver, claimed))
        finally:
            self._release(free - len(started))  # the threads given no delivery
        return started

    def _claim(self, row_id: int, next_at: datetime, now: datetime) -> Claimed | None:
        """Move the row's next attempt past the lease in one UPDATE: only one worker's UPDATE matches."""
        with self._db.session() as s:
            claimed = s.execute(
                update(BackchannelDelivery)
                .where(BackchannelDelivery.id == row_id, BackchannelDelivery.next_attempt_at == next_at)
                .values(next_attempt_at=now + CLAIM_LEASE)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = s.get(BackchannelDelivery, row_id)
            assert row is not None
            return Claimed(row_id, row.client_id, row.uri, row.logout_token, row.attempts)

    def _deliver(self, claim: Claimed) -> bool:
        """POST one claimed logout token and record the outcome (on a pool thread); True if delivered."""
        try:
            return self._send_and_record(claim)
        except Exception as err:  # a database hiccup: the claim runs out and the delivery is tried again
            if not database_outage(err):
                log.exception("back-channel logout delivery %s failed", claim.row_id)
            else:  # a failover or restart: one line, not a traceback per delivery
                log.warning(
                    "back-channel logout delivery %s not recorded, the database is unavailable (%s): tried again "
                    "when its claim runs out",
                    claim.row_id,
                    outage_reason(err),
                )
            return False
        finally:
            self._release(1)
            self._wake.set()  # a thread is free: the drainer may start the next due delivery

    def _send_and_record(self, claim: Claimed) -> bool:
        error: str | None = None
        try:
            status = self.post(claim.uri, claim.token)
            if status not in (200, 204):
                error = f"HTTP {status}"
        except OutboundError as err:  # refused (the URI resolves inward), or no answer in time
            error = err.reason[:300]
        attempts = claim.attempts + 1  # the claim is ours: nobody else changes the row meanwhile
        outcome: dict[str, object] = {"attempts": attempts}
        if error is None:
            outcome["delivered_at"] = self._clock()
        elif attempts > len(RETRY_DELAYS):
            outcome.update(abandoned_at=self._clock(), last_error=error)
            log.warning("back-channel logout to %s abandoned: %s", claim.client_id, error)
        else:
            outcome.update(
                last_error=error, next_attempt_at=self._clock() + timedelta(seconds=RETRY_DELAYS[attempts - 1])
            )
        # one UPDATE, no read first: on SQLite a read then a write in one transaction can fail at once when
        # another drainer wrote in between
        with self._db.one_write() as conn:
            conn.execute(update(BackchannelDelivery).where(BackchannelDelivery.id == claim.row_id).values(outcome))
        return error is None

    def _reserve(self, block: bool) -> int:
        """Take every free thread (waiting for one if ``block``); returns how many."""
        with self._freed:
            if self._pool_pid != os.getpid():  # a forked child: the parent's threads and their count are not ours
                self._pool, self._pool_pid, self._busy = None, os.getpid(), 0
            while block and self._busy >= self._workers:
                self._freed.wait()
            free = self._workers - self._busy
            self._busy = self._workers
            return free

    def _release(self, count: int) -> None:
        if count:
            with self._freed:
                self._busy -= count
                self._freed.notify_all()

    def _executor(self) -> ThreadPoolExecutor:
        with self._freed:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="antin-backchannel-post")
            return self._pool

    def _post(self, uri: str, token: str) -> int:
        response = send(
            "POST",
            uri,
            policy=self._outbound,
            body=urlencode({"logout_token": token}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-store"},
            timeout=self._timeout,
        )
        return response.status

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
        with self._freed:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # a delivery claimed is sent, not dropped with its claim

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before dispatching: a delivery that ends meanwhile wakes the next round
            try:
                self._dispatch()  # not waited for: the loop starts the next delivery as soon as a thread is free
            except Exception as err:  # the drainer must survive a database hiccup
                if not database_outage(err):
                    log.exception("back-channel logout drain failed")
                else:  # each worker's drainer meets a failover once a round: a line each, not a traceback
                    reason = outage_reason(err)
                    log.warning("back-channel logout queue not read, the database is unavailable (%s)", reason)
            self._wake.wait(DRAIN_EVERY)
