"""Webhooks: events POSTed to a request's ``callback_url``, signed, queued in SQL and retried with backoff.

The body is JSON with an ``id`` (the event id, also in ``Antin-Event-Id``: a receiver that saw it already ignores
it). ``Antin-Signature: t=<unix time>,v1=<hex>`` is HMAC-SHA256 under the client's webhook secret over
``<t>.<body>``; ``t`` is the time of this attempt, so a receiver that rejects an old ``t`` (five minutes, say)
cannot be fed a recorded delivery again. A delivery that does not get a 2xx is tried again after
:data:`BACKOFF` (then given up and kept, with its last error); a background thread drains the queue, like the
provider's back-channel logout, and a lease on each row keeps two processes from sending it at once. Each POST
goes through :mod:`antin.kernel.outbound`: a URL that resolves to a non-public address the operator did not allow
(``[server] outbound_allow``) is not called, and the attempt records why.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from antin.kernel.database import database_outage, outage_reason
from antin.kernel.instance import Instance
from antin.kernel.outbound import OutboundError, OutboundPolicy, outbound_policy, send
from signing.models import aware
from signing.requests.models import WebhookDelivery, WebhookSecret

__all__ = [
    "BACKOFF",
    "EVENTS",
    "WebhookQueue",
    "WebhookSecrets",
    "callback_policy",
    "signature_header",
    "webhook_queue",
]

log = logging.getLogger(__name__)

EXTENSION_KEY = "antin.signing.webhooks"
# the events' ``type``: a step done (a signature, or a review approved), the request finished (every step done),
# rejected by a reviewer (``step`` carries the decision and comment; the later steps are skipped), cancelled, or
# re-sent after a rejection (``step`` is the new round's first)
EVENTS = ("step.completed", "request.finished", "request.rejected", "request.cancelled", "request.resent")
# the waits after each failed attempt: about a day in all, then the delivery is given up
BACKOFF = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=8),
    timedelta(hours=12),
)
LEASE = timedelta(seconds=60)  # a row being sent is not taken by another drainer for this long
TIMEOUT = 10.0
IDLE_SECONDS = 60.0  # with nothing due, a worker's drainer looks at the queue once a minute
OUTAGE_RETRY_SECONDS = 5.0  # the database away: looked at again this soon (a promoted standby takes about that)


def callback_policy(instance: Instance) -> OutboundPolicy:
    """Where callbacks may go: public addresses, ``[server] outbound_allow``, and loopback outside production."""
    return outbound_policy(instance.settings.server.outbound_allow, production=instance.settings.production)


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class WebhookSecrets:
    """Each client's webhook secret. Kept as the key itself: the platform must compute HMACs with it (a digest
    would not do), and an encryption key on the same host would guard only a stolen copy of the database; a
    leaked secret lets one forge events to that one client, and ``antin clients webhook-secret`` replaces it."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance

    def rotate(self, client_id: str) -> str:
        secret = "whsec_" + secrets.token_urlsafe(32)
        with self.instance.database.session() as s:
            row = s.get(WebhookSecret, client_id)
            if row is None:
                s.add(WebhookSecret(client_id=client_id, secret=secret, created_at=self.instance.clock.now()))
            else:
                row.secret, row.created_at = secret, self.instance.clock.now()
        return secret

    def get(self, client_id: str) -> str | None:
        with self.instance.database.reading() as s:
            row = s.get(WebhookSecret, client_id)
            return row.secret if row is not None else None


class WebhookQueue:
    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.secrets = WebhookSecrets(instance)
        self.background = True  # tests turn it off and drain by hand
        self.outbound = callback_policy(instance)
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def enqueue(self, client_id: str, url: str, event_id: str, body: str) -> None:
        with self.instance.database.session() as s:
            s.add(
                WebhookDelivery(
                    event_id=event_id,
                    client_id=client_id,
                    url=url,
                    body=body,
                    next_attempt_at=self.instance.clock.now(),
                    created_at=self.instance.clock.now(),
                )
            )
        if self.background:
            self.start()
            self._wake.set()

    def drain(self, now: datetime | None = None) -> int:
        """Try every delivery due at ``now`` once; return how many were delivered."""
        now = now or self.instance.clock.now()
        with self.instance.database.reading() as s:
            due = s.scalars(
                select(WebhookDelivery.id).where(
                    WebhookDelivery.delivered_at.is_(None),
                    WebhookDelivery.next_attempt_at.is_not(None),
                    WebhookDelivery.next_attempt_at <= now,
                )
            ).all()
        return sum(self._attempt(delivery_id, now) for delivery_id in due)

    def _attempt(self, delivery_id: int, now: datetime) -> bool:
        with self.instance.database.transaction() as conn:
            claimed = conn.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, WebhookDelivery.next_attempt_at <= now)
                .where(WebhookDelivery.delivered_at.is_(None))
                .values(next_attempt_at=now + LEASE)
            ).rowcount
        if claimed != 1:
            return False  # another drainer has it
        with self.instance.database.reading() as s:
            row = s.get(WebhookDelivery, delivery_id)
            assert row is not None
            url, body, client_id, event_id, attempts = row.url, row.body, row.client_id, row.event_id, row.attempts
        error = ""
        secret = self.secrets.get(client_id)
        if secret is None:
            error = "the client has no webhook secret"
        else:
            data = body.encode()
            headers = {
                "Content-Type": "application/json",
                "Antin-Event-Id": event_id,
                "Antin-Signature": signature_header(secret, int(self.instance.clock.now().timestamp()), data),
                "User-Agent": "antin-webhooks",
            }
            try:
                response = send("POST", url, policy=self.outbound, body=data, headers=headers, timeout=TIMEOUT)
                if not 200 <= response.status < 300:
                    error = f"HTTP {response.status}"
            except OutboundError as err:  # refused (the URL resolves inward), or no answer in time
                error = err.reason
        attempts += 1
        with self.instance.database.session() as s:
            row = s.get(WebhookDelivery, delivery_id)
            assert row is not None
            row.attempts = attempts
            if not error:
                row.delivered_at, row.next_attempt_at, row.last_error = now, None, ""
            else:
                row.last_error = error[:300]
                row.next_attempt_at = now + BACKOFF[attempts - 1] if attempts <= len(BACKOFF) else None
                log.info("webhook %s to %s failed (%s), attempt %d", event_id, url, error, attempts)
        return not error

    def start(self) -> None:
        """Start this process's drainer thread (idempotent; also after a fork, whose child has no threads)."""
        if not self.background or (self._thread is not None and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=self._run, name="antin-webhooks", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop this process's drainer (``Instance.close``): one left behind would poll a database that is gone."""
        self.background = False
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=TIMEOUT + 1)

    def _run(self) -> None:
        warned = False
        while self.background:
            self._wake.clear()  # before draining: a delivery queued meanwhile wakes the next round
            wait: float | None
            try:
                self.drain()
                wait = self._seconds_to_next()
                warned = False
            except SQLAlchemyError as err:
                outage = database_outage(err)
                if not warned:  # once until the queue is read again
                    reason = f"the database is unavailable ({outage_reason(err)})" if outage else type(err).__name__
                    log.warning("the webhook queue cannot be read: %s", reason)
                # a restart or failover: the retries due must not wait for the next event; no tables yet (a
                # development start before `antin db upgrade`): wait for a delivery
                warned, wait = True, OUTAGE_RETRY_SECONDS if outage else None
            except Exception:  # the queue is in SQL: the next round tries again
                log.exception("draining the webhook queue failed")
                wait = IDLE_SECONDS
            self._wake.wait(wait)

    def _seconds_to_next(self) -> float:
        """Until the next retry is due, or IDLE_SECONDS: another worker's retries (one that stopped) are not lost."""
        with self.instance.database.reading() as s:
            due = s.scalars(
                select(WebhookDelivery.next_attempt_at)
                .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.next_attempt_at.is_not(None))
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(1)
            ).first()
        if due is None:
            return IDLE_SECONDS
        seconds = (aware(due) - self.instance.clock.now()).total_seconds()
        return min(max(seconds, 0.5), IDLE_SECONDS)


def webhook_queue(instance: Instance) -> WebhookQueue:
    return instance.service(EXTENSION_KEY, WebhookQueue)
