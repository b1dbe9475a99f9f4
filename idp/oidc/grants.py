"""What a grant is, and the tokens it issued, as the grants, endpoints and views read them.

A *grant* is what one authorization code (or one client_credentials request) produced; its refresh tokens form
one family. These are plain values: :mod:`idp.oidc.tokens` mints, :mod:`idp.oidc.token_lookup` finds and
:mod:`idp.oidc.revocation` revokes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from idp.oidc.clients import ClientRecord

__all__ = ["ACCESS_TOKEN_ALG", "AccessTokenInfo", "GrantContext", "IssuedTokenRef", "RefreshView", "epoch"]

ACCESS_TOKEN_ALG = "ES256"


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


@dataclass(frozen=True)
class GrantContext:
    client: ClientRecord
    subject: str | None
    scope: str
    sid: str | None = None
    auth_time: datetime | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    claims: dict[str, Any] | None = None
    resources: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefreshView:
    """A live refresh token, as authlib's refresh grant reads it."""

    token_id: int
    grant_id: int
    client_id: str
    scope: str
    dpop_jkt: str | None
    context: GrantContext
    session_live: bool = True  # the SSO session the grant came from (if any) is neither ended nor expired

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class AccessTokenInfo:
    """A live access token; a machine token (:mod:`idp.oidc.machine_tokens`) has no grant or token row, a user's
    (:mod:`idp.oidc.user_tokens`) no token row."""

    claims: dict[str, Any]
    grant_id: int | None
    token_id: int | None
    client_id: str
    subject: str | None
    scope: str
    dpop_jkt: str | None
    claims_request: dict[str, Any] | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


@dataclass(frozen=True)
class IssuedTokenRef:
    """A token a client wants to introspect or revoke, as authlib's endpoints read it. A machine token
    (:mod:`idp.oidc.machine_tokens`) has no row: no ``token_id`` or ``grant_id``, its ``jti`` instead; a user's
    access token (:mod:`idp.oidc.user_tokens`) has its grant's id and its ``jti``, no ``token_id``."""

    token_id: int | None
    grant_id: int | None
    kind: str
    client_id: str
    subject: str | None
    scope: str
    audience: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    revoked: bool
    dpop_jkt: str | None
    sid: str | None
    acr: str | None
    auth_time: datetime | None
    clock: Callable[[], datetime] = field(repr=False, compare=False, kw_only=True)
    jti: str | None = field(default=None, kw_only=True)  # an access token's without a row

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def is_expired(self) -> bool:
        return self.expires_at <= self.clock()

    def is_revoked(self) -> bool:
        return self.revoked
