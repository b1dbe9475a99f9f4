"""Refresh tokens that carry their grant's context, so that a refresh is one statement (issue 13).

A refresh token minted for a known grant (by a refresh, or by a code grant whose grant id was drawn before its
statement, on PostgreSQL's driver) is ``<256-bit secret>.<base64url JSON>``: the secret, then what the next refresh
needs to know before it writes anything (the grant's id, subject, sid, acr, amr, auth_time, claims request and
resources, and the token's own scope). The whole string's SHA-256 is the token row's ``lookup``, as for any refresh
token, so a context is only ever believed when the database holds a live token minted with exactly that string:
only this provider mints them, and a changed context is a token no row matches. Nothing is secret in it that the
client does not already hold (its ID token says ``sub``, ``sid``, ``acr``, ``amr`` and ``auth_time``; the claims
request and the resources are its own) but the grant's id, our row number, which would tell how many grants the
instance has made: it is sealed — the id with 8 zero bytes, one AES-128 block under a key derived from the
instance secret (a permutation of one block: distinct ids give distinct blocks, and without the key a block tells
nothing of the id) — and opened again only when its 8 zero bytes come back.

With the context known, the next refresh checks the account and reads the ID token's claims, signs, and sends
**one** statement that rotates the token only if it is still live (the client's, not rotated, revoked or expired,
its grant not revoked, its SSO session alive) and writes the successors and the audit entry with it
(:func:`idp.oidc.token_driver.rotate_by_lookup`). When that statement rotates nothing, the refresh is done again
the usual way (the token read, then rotated), which finds the reason and does what it calls for: a reuse revokes
the family. A token without a context (minted by a code grant on SQLite, or too large to carry) or with one of
before its grant's id was sealed is refreshed the usual way, and its successor carries a sealed context.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from idp.oidc.grants import GrantContext
from idp.oidc.random_secrets import new_secret

__all__ = ["MAX_CARRIED", "CarriedContext", "RefreshContexts"]

# a context longer than this (a very large ``claims`` request) is not carried: the token stays a plain secret
MAX_CARRIED = 2048
_KEY_LABEL = b"antin:oidc:refresh-context:v1"
_PAD = bytes(8)


@dataclass(frozen=True)
class CarriedContext:
    """What a refresh token says of its grant: believed only once its row is found live by the same statement."""

    grant_id: int
    subject: str | None
    scope: str
    sid: str | None
    auth_time: datetime | None
    acr: str | None
    amr: tuple[str, ...]
    claims: dict[str, Any] | None
    resources: tuple[str, ...]


def _str_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RefreshContexts:
    """Mints refresh tokens carrying their grant's context and reads them back, the grant's id sealed under a key
    of this instance (derived from its secret: every worker and instance sharing the secret reads the others')."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("refresh tokens' contexts need the instance secret")
        # a key of its own: a sealed id reveals nothing about the secret that signs cookies and the audit heads
        key = hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()[:16]
        # one block, never chained: a permutation of the 128-bit (id, zeros), as format-preserving id sealing does
        self._cipher = Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305
        # a context per thread, kept (an ECB context turns each whole block alone: nothing to finalize), and the last
        # grants' blocks remembered: a chain seals and opens the same id at every refresh (a context made per call
        # cost ~20 µs a refresh in the served process, docs/benchmarks.md)
        self._contexts = threading.local()
        self._sealed: Callable[[int], str] = lru_cache(maxsize=4096)(self._seal)
        self._opened: Callable[[str], int | None] = lru_cache(maxsize=4096)(self._open)

    def _context(self) -> Any:
        contexts = self._contexts
        if not hasattr(contexts, "encryptor"):
            contexts.encryptor, contexts.decryptor = self._cipher.encryptor(), self._cipher.decryptor()
        return contexts

    def _seal(self, grant_id: int) -> str:
        return _b64(self._context().encryptor.update(grant_id.to_bytes(8, "big") + _PAD))

    def _open(self, sealed: str) -> int | None:
        try:
            block = _unb64(sealed)
        except (ValueError, binascii.Error):
            return None
        if len(block) != 16:
            return None
        opened = self._context().decryptor.update(block)
        return int.from_bytes(opened[:8], "big") if opened[8:] == _PAD else None

    def seal_grant_id(self, grant_id: int) -> str:
        """``grant_id`` sealed: 22 base64url characters."""
        return self._sealed(grant_id)

    def open_grant_id(self, sealed: str) -> int | None:
        """The grant id ``sealed`` holds, or None when it is not one this instance sealed."""
        return self._opened(sealed)

    def mint(self, grant_id: int, ctx: GrantContext) -> str:
        """A new refresh token of ``grant_id`` carrying ``ctx`` (its scope is the token's); a plain secret when the
        context is over :data:`MAX_CARRIED` characters encoded."""
        carried = {
            "g": self.seal_grant_id(grant_id),
            "s": ctx.subject,
            "p": ctx.scope,
            "i": ctx.sid,
            "t": ctx.auth_time.isoformat() if ctx.auth_time is not None else None,
            "a": ctx.acr,
            "m": list(ctx.amr),
            "c": ctx.claims,
            "r": list(ctx.resources),
        }
        encoded = _b64(json.dumps(carried, separators=(",", ":"), ensure_ascii=False).encode())
        return new_secret() if len(encoded) > MAX_CARRIED else f"{new_secret()}.{encoded}"

    def read(self, refresh_token: str) -> CarriedContext | None:
        """The context a refresh token carries, or None (a token without one, a context of before the grant's id
        was sealed, or anything malformed)."""
        _secret, dot, encoded = refresh_token.partition(".")
        if not dot or not encoded or len(encoded) > MAX_CARRIED:
            return None
        try:
            data = json.loads(_unb64(encoded))
            auth_time = datetime.fromisoformat(data["t"]) if data["t"] is not None else None
            fields = (data["g"], data["s"], data["p"], data["i"], data["a"], data["m"], data["c"], data["r"])
        except (ValueError, TypeError, KeyError, binascii.Error):
            return None
        sealed, subject, scope, sid, acr, amr, claims, resources = fields
        if not (
            isinstance(sealed, str)
            and isinstance(scope, str)
            and all(_str_or_none(v) for v in (subject, sid, acr))
            and _strings(amr)
            and _strings(resources)
            and (claims is None or isinstance(claims, dict))
            and (auth_time is None or auth_time.tzinfo is not None)
        ):
            return None
        grant_id = self.open_grant_id(sealed)
        if grant_id is None:
            return None
        return CarriedContext(grant_id, subject, scope, sid, auth_time, acr, tuple(amr), claims, tuple(resources))
