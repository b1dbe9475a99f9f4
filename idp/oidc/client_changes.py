"""Telling every worker that a client changed, so that its cached registration goes at once.

Each process keeps the clients it read for ``ANTIN_OIDC_CLIENT_CACHE_SECONDS``
(:class:`idp.oidc.clients.ClientRegistry`). When a client's secret is rotated, it is disabled or its scopes change,
the process that changed it announces the client_id; with Redis configured (``ANTIN_REDIS_URL``, as production
is) every worker of every host hears it on one pub/sub channel and drops that client from its cache, so the old
secret stops working everywhere within the notice's delivery, not the cache's lifetime. A worker that loses its
subscription drops its whole cache when it subscribes again (it may have missed notices). Without Redis (the
embedded default, one host) the cache's lifetime is the bound, as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["CHANNEL", "ClientChanges", "NoChangeNotices", "RedisChangeNotices"]

log = logging.getLogger(__name__)

CHANNEL = "antin:oidc:client-changed"
_ALL = "*"  # a notice that every cached client must go


class ClientChanges(Protocol):
    def announce(self, client_id: str | None) -> None:
        """Tell every process that this client (None: every client) changed."""

    def listen(self, forget: Callable[[str | None], None]) -> None:
        """Call ``forget(client_id)`` on every notice from now on (idempotent; once per process)."""

    def close(self) -> None:
        """Stop listening (the instance is closing): no more notices, no more attempts to subscribe."""


class NoChangeNotices:
    """No shared channel: each process's cache lifetime bounds how long a change takes to reach it."""

    def announce(self, client_id: str | None) -> None:
        return None

    def listen(self, forget: Callable[[str | None], None]) -> None:
        return None

    def close(self) -> None:
        return None


class RedisChangeNotices:
    def __init__(self, url: str, *, retry_seconds: float = 1.0) -> None:
        import redis

        from antin.kernel.redis_client import redis_client

        self._redis: Any = redis_client(url, socket_timeout=5, socket_connect_timeout=2)
        # the subscriber waits for notices without a read timeout; keepalive finds a connection that died
        self._subscriber: Any = redis_client(url, socket_connect_timeout=2, socket_keepalive=True)
        self._error: type[Exception] = redis.RedisError
        self._retry_seconds = retry_seconds
        self._pid: int | None = None  # the process whose listener runs (a forked worker starts its own)
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self._closed = threading.Event()
        self._pubsub: Any = None  # the listener's current subscription, closed by close()

    def announce(self, client_id: str | None) -> None:
        try:
            self._redis.publish(CHANNEL, client_id if client_id is not None else _ALL)
        except self._error as err:
            # the change is made; other processes see it when their cached copy expires
            log.warning("cannot announce a client change on Redis: %s", err)

    def listen(self, forget: Callable[[str | None], None]) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid:
                return
            self._pid = pid
            self.subscribed.clear()
            thread = threading.Thread(target=self._run, args=(forget,), name="oidc-client-changes", daemon=True)
            thread.start()

    def close(self) -> None:
        self._closed.set()
        pubsub = self._pubsub
        if pubsub is not None:
            with contextlib.suppress(Exception):
                pubsub.close()  # the listener's blocking read ends; it sees the instance closed and stops

    def _run(self, forget: Callable[[str | None], None]) -> None:
        delay = self._retry_seconds
        while not self._closed.is_set():
            pubsub = self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=False)
            try:
                pubsub.subscribe(CHANNEL)
                for message in pubsub.listen():
                    if message.get("type") == "subscribe":
                        forget(None)  # notices sent while this process was not listening are lost
                        self.subscribed.set()
                        delay = self._retry_seconds
                    elif message.get("type") == "message":
                        data = message.get("data")
                        client_id = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
                        forget(None if client_id == _ALL else client_id)
            except self._error as err:
                if not self._closed.is_set():
                    log.warning("client change notices interrupted, subscribing again: %s", err)
            except Exception:  # a listener that dies would leave the cache on its lifetime alone: say so loudly
                if not self._closed.is_set():
                    log.exception("client change notices failed, subscribing again")
            finally:
                self.subscribed.clear()
                forget(None)
                with contextlib.suppress(self._error):
                    pubsub.close()
            self._closed.wait(delay)
            delay = min(delay * 2, 30.0)  # Redis down: try again, less and less often
