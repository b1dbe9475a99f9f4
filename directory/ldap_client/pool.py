"""``LdapPool``: connections kept for reuse, service and bind connections apart, failover between URIs."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from directory.config import DirectoryConfig
from directory.errors import DirectoryUnavailableError, InvalidCredentialsError, InvalidInputError
from directory.ldap_client.connection import LdapConnection
from directory.ldap_client.errors import ConnectionLostError

__all__ = ["LdapPool"]

T = TypeVar("T")


@dataclass
class _Slot:
    conn: LdapConnection
    uri: str
    used: float = field(default_factory=time.monotonic)
    opened: float = field(default_factory=time.monotonic)


class LdapPool:
    """Connections kept for reuse, tried over several URIs.

    Two kinds: *service* connections stay bound as the service account; *bind* connections only check
    people's passwords (their identity changes with every bind, so they never serve a search on the
    service's behalf). A URI that fails is skipped for ``retry_down_after`` seconds while another answers;
    when every URI fails the caller gets :class:`DirectoryUnavailableError` at once. A connection to any but
    the first URI is not reused once it is ``retry_down_after`` seconds old, so that the pool comes back to
    the first server when it returns. After a fork (gunicorn) the pool starts afresh: connections are never
    shared between processes.
    """

    def __init__(self, config: DirectoryConfig) -> None:
        if not config.uris:
            raise InvalidInputError("uris", "at least one LDAP URI is needed")
        self.config = config
        self._lock = threading.Lock()
        self._idle: dict[str, list[_Slot]] = {"service": [], "bind": []}
        self._down_until: dict[str, float] = {}
        self._pid = os.getpid()

    def _uris_in_order(self) -> list[str]:
        now = time.monotonic()
        up = [u for u in self.config.uris if self._down_until.get(u, 0.0) <= now]
        down = [u for u in self.config.uris if u not in up]
        return up + down  # still try the ones marked down, last: they may be back

    def _open(self, kind: str) -> _Slot:
        errors: list[str] = []
        for uri in self._uris_in_order():
            try:
                conn = LdapConnection(uri, self.config)
                if kind == "service":
                    conn.bind(self.config.bind_dn, self.config.bind_password)
                else:
                    conn.whoami()  # connect now, so that a dead URI is skipped before a person's bind
            except DirectoryUnavailableError as err:
                self._down_until[uri] = time.monotonic() + self.config.retry_down_after
                errors.append(f"{uri}: {err.reason}")
                continue
            except InvalidCredentialsError as err:
                raise DirectoryUnavailableError(
                    "the service account's credentials were refused", self.config.uris
                ) from err
            self._down_until.pop(uri, None)
            return _Slot(conn, uri)
        raise DirectoryUnavailableError("; ".join(errors) or "no LDAP server answered", self.config.uris)

    def _checkout(self, kind: str) -> tuple[_Slot, bool]:
        stale: list[_Slot] = []
        try:
            with self._lock:
                if self._pid != os.getpid():
                    self._idle = {"service": [], "bind": []}
                    self._pid = os.getpid()
                idle = self._idle[kind]
                while idle:
                    slot = idle.pop()
                    if not self._is_unusable(slot):
                        return slot, True
                    stale.append(slot)
        finally:
            for slot in stale:
                slot.conn.close()
        return self._open(kind), False

    def _is_stale_fallback(self, slot: _Slot) -> bool:
        """A connection to a fallback server, old enough that the first one should be tried again."""
        age = time.monotonic() - slot.opened
        return slot.uri != self.config.uris[0] and age >= self.config.retry_down_after

    def _is_unusable(self, slot: _Slot) -> bool:
        """Not to be reused: a stale fallback, or a connection to a server that just failed (a hung server
        would cost every pooled connection to it one timeout each)."""
        return self._is_stale_fallback(slot) or self._down_until.get(slot.uri, 0.0) > time.monotonic()

    def _checkin(self, kind: str, slot: _Slot) -> None:
        with self._lock:
            keep = not self._is_unusable(slot)
            if keep and self._pid == os.getpid() and len(self._idle[kind]) < self.config.pool_size:
                slot.used = time.monotonic()
                self._idle[kind].append(slot)
                return
        slot.conn.close()

    def run(self, func: Callable[[LdapConnection], T], *, kind: Literal["service", "bind"] = "service") -> T:
        """Call ``func`` with a connection; a reused connection the server closed is replaced once.

        Only a lost connection is retried (a server restart leaves every pooled connection dead); a timeout
        is not, so that a hung server costs one timeout, not two.
        """
        slot, reused = self._checkout(kind)
        try:
            return self._call_and_checkin(kind, slot, func)
        except ConnectionLostError:
            if not reused:
                raise
        self._discard_idle(kind)
        return self._call_and_checkin(kind, self._open(kind), func)

    def _call_and_checkin(self, kind: str, slot: _Slot, func: Callable[[LdapConnection], T]) -> T:
        try:
            result = func(slot.conn)
        except DirectoryUnavailableError:
            slot.conn.close()  # never reuse a connection in an unknown state
            self._down_until[slot.uri] = time.monotonic() + self.config.retry_down_after
            raise
        except BaseException:
            self._checkin(kind, slot)
            raise
        self._checkin(kind, slot)
        return result

    @contextmanager
    def pinned(self, *, live: bool = False) -> Iterator[LdapConnection]:
        """A service connection held for a sequence of calls (paged searches keep their cookie on it).

        ``live``: first make sure the server still answers on it, as :meth:`run` would (a reused connection
        the server closed is replaced once): for a sequence that must not start on a dead connection, such as
        an import's pipelined adds, which are never sent twice.
        """
        slot, reused = self._checkout("service")
        if live:
            try:
                slot.conn.whoami()
            except ConnectionLostError:
                slot.conn.close()
                if not reused:
                    self._down_until[slot.uri] = time.monotonic() + self.config.retry_down_after
                    raise
                self._discard_idle("service")
                slot = self._open("service")
            except DirectoryUnavailableError:
                slot.conn.close()
                self._down_until[slot.uri] = time.monotonic() + self.config.retry_down_after
                raise
        try:
            yield slot.conn
        except DirectoryUnavailableError:
            slot.conn.close()
            raise
        except BaseException:
            self._checkin("service", slot)
            raise
        self._checkin("service", slot)

    def _discard_idle(self, kind: str) -> None:
        with self._lock:
            stale, self._idle[kind] = self._idle[kind], []
        for slot in stale:
            slot.conn.close()

    def close(self) -> None:
        for kind in ("service", "bind"):
            self._discard_idle(kind)
