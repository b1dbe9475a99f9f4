"""A client's public keys for ``private_key_jwt``, fetched from its registered ``jwks_uri`` with care.

The provider makes this request on behalf of whoever sends a client assertion naming the client, so it is an
outbound request an anonymous caller can trigger. It is therefore:

- cached per URI, for the ``Cache-Control: max-age`` the client's server sends, kept within
  [``MIN_TTL``, ``MAX_TTL``] (``DEFAULT_TTL`` without one; ``no-store``/``no-cache`` count as ``MIN_TTL``);
- refreshed early only for an assertion whose ``kid`` the cached set lacks (the client rotated its key), and
  never more than once per ``COOLDOWN`` seconds per URI, whatever the ``kid`` and whether the fetch failed:
  an assertion with random ``kid`` values cannot make us fetch in a loop;
- made through the kernel's :mod:`antin.kernel.outbound` (no proxy, no redirects, no DNS rebinding, every
  resolved address checked), with a total time limit (``TIMEOUT``) and a size limit (``MAX_BYTES``); a host that
  resolves to a non-public address is refused unless ``[server] outbound_allow`` lists it or
  ``client_jwks_allow_private_addresses`` is on. Unlike back-channel logout and webhooks, loopback is refused
  outside production too: an anonymous caller can trigger this fetch.

The cache is per process (each worker fetches for itself, at most once per ``COOLDOWN``); its size is bounded by
the number of registered clients, since only registered ``jwks_uri`` values are ever fetched.
"""

from __future__ import annotations

import email.message
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from antin.kernel.outbound import OutboundError, OutboundPolicy, is_public_address, send
from idp.oidc.errors import ClientKeysUnavailableError

__all__ = ["ClientKeysUnavailableError", "RemoteJwks", "fetch_jwks", "is_public_address"]

TIMEOUT = 3.0
MAX_BYTES = 64 * 1024
MIN_TTL = 60.0
DEFAULT_TTL = 300.0
MAX_TTL = 24 * 3600.0
COOLDOWN = 30.0
ALLOW_HINT = "set ANTIN_OIDC_CLIENT_JWKS_ALLOW_PRIVATE_ADDRESSES=true or list it in ANTIN_SERVER_OUTBOUND_ALLOW"


def _now() -> float:
    return time.monotonic()


# -- one fetch ------------------------------------------------------------------------------------------------


def _max_age(headers: email.message.Message) -> float | None:
    """The ``max-age`` of a Cache-Control header; 0 for ``no-store``/``no-cache``; None without either."""
    value = headers.get("Cache-Control")
    if not value:
        return None
    max_age: float | None = None
    for directive in value.lower().split(","):
        name, _, argument = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age":
            try:
                max_age = float(int(argument.strip().strip('"')))
            except ValueError:
                continue
    return max_age


def fetch_jwks(
    uri: str,
    *,
    allow_private: bool,
    policy: OutboundPolicy | None = None,
    timeout: float = TIMEOUT,
    max_bytes: int = MAX_BYTES,
) -> tuple[dict[str, Any], float | None]:
    """GET one JWK Set through the kernel's outbound rules (``policy``: ``[server] outbound_allow``, loopback
    excluded outside production too); ``allow_private`` lifts the address check. Returns it and its max-age."""
    base = policy or OutboundPolicy()
    policy = replace(base, allow_every_address=base.allow_every_address or allow_private, hint=ALLOW_HINT)
    headers = {"Accept": "application/jwk-set+json, application/json", "User-Agent": "antin-idp"}
    try:
        response = send("GET", uri, policy=policy, headers=headers, timeout=timeout, max_bytes=max_bytes)
    except OutboundError as err:
        raise ClientKeysUnavailableError(uri, err.reason) from err
    if 300 <= response.status < 400:
        raise ClientKeysUnavailableError(uri, f"HTTP {response.status}: redirects are not followed")
    if response.status != 200:
        raise ClientKeysUnavailableError(uri, f"HTTP {response.status}")
    return _jwk_set(uri, response.body), _max_age(response.headers)


def _jwk_set(uri: str, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as err:
        raise ClientKeysUnavailableError(uri, "not JSON") from err
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ClientKeysUnavailableError(uri, "not a JWK Set (no 'keys' array)")
    return document


# -- the cache ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    jwks: dict[str, Any] | None  # None: the last attempt failed
    kids: frozenset[str]
    attempted_at: float
    expires_at: float
    error: ClientKeysUnavailableError | None = None


Fetcher = Callable[[str], tuple[dict[str, Any], float | None]]


class RemoteJwks:
    """Clients' JWK Sets by ``jwks_uri``, cached as the module docstring says."""

    def __init__(
        self, *, allow_private_addresses: bool, policy: OutboundPolicy | None = None, fetch: Fetcher | None = None
    ) -> None:
        self._fetch: Fetcher = fetch or (
            lambda uri: fetch_jwks(uri, allow_private=allow_private_addresses, policy=policy)
        )
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, uri: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(uri, threading.Lock())

    def get(self, uri: str, *, kid: str | None) -> dict[str, Any]:
        """The JWK Set at ``uri``: from the cache when it is fresh and knows ``kid``; raises when unavailable."""
        with self._lock(uri):  # one fetch per URI at a time; the others then read what it fetched
            now = _now()
            entry = self._entries.get(uri)
            fresh = entry if entry is not None and entry.jwks is not None and now < entry.expires_at else None
            if fresh is not None and fresh.jwks is not None and (kid is None or kid in fresh.kids):
                return fresh.jwks
            if entry is not None and now - entry.attempted_at < COOLDOWN:
                if fresh is not None and fresh.jwks is not None:
                    return fresh.jwks  # an unknown kid so soon after a fetch: the signature check will refuse it
                raise entry.error or ClientKeysUnavailableError(uri, "not fetched again before the cool-down ends")
            try:
                jwks, max_age = self._fetch(uri)
            except ClientKeysUnavailableError as err:
                if fresh is not None:  # a failed early refresh keeps the keys still valid, and starts the cool-down
                    self._entries[uri] = _Entry(fresh.jwks, fresh.kids, now, fresh.expires_at, err)
                else:
                    self._entries[uri] = _Entry(None, frozenset(), now, now, err)
                raise
            ttl = min(MAX_TTL, max(MIN_TTL, DEFAULT_TTL if max_age is None else max_age))
            kids = frozenset(str(k["kid"]) for k in jwks["keys"] if isinstance(k, dict) and "kid" in k)
            self._entries[uri] = _Entry(jwks, kids, now, now + ttl)
            return jwks
