"""Refresh tokens that carry their grant's context, so that a refresh is one statement (issue 13).

A rotated refresh token is ``<256-bit secret>.<base64url JSON>``: the secret, then what the next refresh needs to
know before it writes anything (the grant's id, subject, sid, acr, amr, auth_time, claims request and resources,
and the token's own scope). The whole string's SHA-256 is the token row's ``lookup``, as for any refresh token, so
a context is only ever believed when the database holds a live token minted with exactly that string: only this
provider mints them, and a changed context is a token no row matches. Nothing is secret in it that the client does
not already hold (its ID token says ``sub``, ``sid``, ``acr``, ``amr`` and ``auth_time``; the claims request and
the resources are its own); the grant's id is our row number.

With the context known, the next refresh checks the account and reads the ID token's claims, signs, and sends
**one** statement that rotates the token only if it is still live (the client's, not rotated, revoked or expired,
its grant not revoked, its SSO session alive) and writes the successors and the audit entry with it
(:func:`idp.oidc.token_driver.rotate_by_lookup`). When that statement rotates nothing, the refresh is done again
the usual way (the token read, then rotated), which finds the reason and does what it calls for: a reuse revokes
the family. A token without a context (minted by a code grant, or before this module) is refreshed the usual way.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from idp.oidc.grants import GrantContext
from idp.oidc.random_secrets import new_secret

__all__ = ["MAX_CARRIED", "CarriedContext", "carried_context", "new_refresh_token"]

# a context longer than this (a very large ``claims`` request) is not carried: the token stays a plain secret
MAX_CARRIED = 2048


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


def new_refresh_token(grant_id: int, ctx: GrantContext) -> str:
    """A new refresh token of ``grant_id`` carrying ``ctx`` (its scope is the token's); a plain secret when the
    context is over :data:`MAX_CARRIED` characters encoded."""
    carried = {
        "g": grant_id,
        "s": ctx.subject,
        "p": ctx.scope,
        "i": ctx.sid,
        "t": ctx.auth_time.isoformat() if ctx.auth_time is not None else None,
        "a": ctx.acr,
        "m": list(ctx.amr),
        "c": ctx.claims,
        "r": list(ctx.resources),
    }
    data = json.dumps(carried, separators=(",", ":"), ensure_ascii=False).encode()
    encoded = base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    return new_secret() if len(encoded) > MAX_CARRIED else f"{new_secret()}.{encoded}"


def _str_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def carried_context(refresh_token: str) -> CarriedContext | None:
    """The context a refresh token carries, or None (a token without one, or anything malformed)."""
    _secret, dot, encoded = refresh_token.partition(".")
    if not dot or not encoded or len(encoded) > MAX_CARRIED:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        auth_time = datetime.fromisoformat(data["t"]) if data["t"] is not None else None
        fields = (data["g"], data["s"], data["p"], data["i"], data["a"], data["m"], data["c"], data["r"])
    except (ValueError, TypeError, KeyError, binascii.Error):
        return None
    grant_id, subject, scope, sid, acr, amr, claims, resources = fields
    if not (
        isinstance(grant_id, int)
        and not isinstance(grant_id, bool)
        and isinstance(scope, str)
        and all(_str_or_none(v) for v in (subject, sid, acr))
        and _strings(amr)
        and _strings(resources)
        and (claims is None or isinstance(claims, dict))
        and (auth_time is None or auth_time.tzinfo is not None)
    ):
        return None
    return CarriedContext(grant_id, subject, scope, sid, auth_time, acr, tuple(amr), claims, tuple(resources))
