"""Access tokens this worker has verified, kept by digest with their claims until they expire.

A resource server introspects the same access token on each API call it receives, and each time the token's ES256
signature, header and type were checked again: a fifth of an introspection's CPU (docs/benchmarks.md,
"Introspection at the peer's cost"). What the check says is a function of the token's bytes and of the keys
published at that moment only, so a token whose bytes were verified under the keys published now needs no second
check: its claims are taken from here. Nothing else is cached: whether the token was revoked is read again on each
introspection (:meth:`idp.oidc.token_lookup.TokenLookup.find_introspected`).

An entry is used only while the published keys are the very ones it was verified under (a key unpublished or
added by any worker makes every entry of this process unusable, then dropped) and until the token's ``exp``. The
digest is SHA-256 of the whole token, so only the same bytes find an entry. At most :data:`CAPACITY` entries are
kept (about 2.1 kB each with a user token's claims: ~4.2 MB at most per worker); the expired ones go at most every
:data:`SWEEP_SECONDS` (so the cache holds the tokens of the last access-token lifetime, not of the last hours: an
hour's soak saw it climb by ~160 entries per 10 minutes per worker before this), and when full the oldest quarter.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from antin.kernel.caches import CacheSize, register_instance_cache
from idp.oidc.grants import ACCESS_TOKEN_ALG
from idp.oidc.keys import SigningKeys
from idp.oidc.token_types import TokenType

__all__ = ["CAPACITY", "SWEEP_SECONDS", "VerifiedAccessTokens"]

CAPACITY = 2048
SWEEP_SECONDS = 10

_Entry = tuple[Mapping[str, Any], int, object]  # claims, exp, the published keys they were verified under


class VerifiedAccessTokens:
    """Our access tokens' verified claims, by the token's digest (see the module)."""

    def __init__(self, keys: SigningKeys, *, now: Callable[[], int], capacity: int = CAPACITY) -> None:
        self._keys = keys
        self._now = now  # seconds since the epoch, on the provider's clock
        self.capacity = capacity
        self.sweep_seconds = SWEEP_SECONDS
        self._swept_at = 0
        self._entries: dict[bytes, _Entry] = {}
        self._keys_seen: object = None
        self._lock = threading.Lock()
        register_instance_cache("oidc-verified-tokens", self, lambda cache: CacheSize(len(cache)))

    def __len__(self) -> int:
        return len(self._entries)

    def claims(self, token: str) -> Mapping[str, Any]:
        """The claims of an access token of ours: signature, algorithm and type checked now or earlier under the
        keys published now. Raises :class:`~idp.oidc.errors.InvalidJwtError` as
        :meth:`~idp.oidc.keys.SigningKeys.verify_as` does. The mapping is shared: read it, never change it."""
        published = self._keys.published_keys()
        if published is not self._keys_seen:  # keys changed: no entry is usable any more
            with self._lock:
                self._entries = {}
                self._keys_seen = published
        digest = hashlib.sha256(token.encode()).digest()
        now = self._now()
        entry = self._entries.get(digest)
        if entry is not None and entry[2] is published and entry[1] > now:
            return entry[0]
        _header, claims = self._keys.verify_as(token, TokenType.ACCESS_TOKEN, algs=(ACCESS_TOKEN_ALG,))
        exp = claims.get("exp")
        if isinstance(exp, int) and exp > now:
            self._keep(digest, (claims, exp, published), now)
        return claims

    def _keep(self, digest: bytes, entry: _Entry, now: int) -> None:
        with self._lock:
            entries = self._entries
            if len(entries) >= self.capacity or now >= self._swept_at + self.sweep_seconds:
                entries = {k: v for k, v in entries.items() if v[1] > now}
                self._swept_at = now
                if len(entries) >= self.capacity:  # none expired: the oldest quarter goes (insertion order)
                    keep = self.capacity - self.capacity // 4 - 1
                    entries = dict(list(entries.items())[len(entries) - keep :]) if keep > 0 else {}
                self._entries = entries
            entries[digest] = entry
