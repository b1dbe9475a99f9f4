"""Machine tokens: the access tokens of client_credentials grants, which the provider does not store.

A client_credentials access token is an RFC 9068 JWT that says everything introspection and a resource server
need (``client_id``, ``scope``, ``aud``, ``exp``, ``cnf`` when DPoP-bound), and nothing else about it can change
but two facts: the token was revoked (RFC 7009), or its client was disabled. So a grant writes no ``oidc_grant``
and no ``oidc_token`` row, only its audit entry (one statement, committed before the answer); this is what the
peer (oidc-provider) and Keycloak do with such tokens (docs/oidc.md, "Machine tokens").

The token's ``jti`` is ``<random>.<client_id>``: the random part never holds a ``.`` (base64url), so the ``.``
tells a machine token from a stored one (a random ``jti`` alone, looked up in ``oidc_token``), and the client it
names lets a resource server that asks by ``jti`` alone be told that the client is disabled. The ``jti`` is only
read from a token whose signature verified, so nobody else can make one.

A revoked machine token is remembered in ``oidc_used_jti`` (kind ``access-revoked``) until a while after its
``exp`` (resource servers allow their clock some leeway); the store deletes expired records on each insert. Its
check is one read of that table's unique index.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, select

from antin.kernel.database import Database
from idp.oidc.jti import JtiStore
from idp.oidc.models import Client, UsedJti

__all__ = ["REVOKED_KIND", "MachineRevocations", "machine_client_of", "machine_jti"]

REVOKED_KIND = "access-revoked"
# a revoked token's record outlives its exp by this much: a resource server accepts a token up to its leeway late
_KEPT_AFTER_EXP = timedelta(minutes=5)

_REVOKED = select(UsedJti.id).where(UsedJti.kind == REVOKED_KIND, UsedJti.value == bindparam("jti"))
_REVOKED_SQL = "SELECT 1 FROM oidc_used_jti WHERE kind = 'access-revoked' AND value = %(jti)s"
# a resource server's one question: revoked, or its client unknown or disabled (no row: unknown)
_STATE = select(Client.disabled, exists(_REVOKED).label("revoked")).where(Client.client_id == bindparam("client_id"))


def machine_jti(client_id: str) -> str:
    """A new machine token's ``jti``: random, and naming its client."""
    return f"{secrets.token_urlsafe(18)}.{client_id}"


def machine_client_of(jti: str) -> str | None:
    """The client a machine token's ``jti`` names; None for the ``jti`` of a stored token."""
    _random, dot, client_id = jti.partition(".")
    return client_id if dot and client_id else None


class MachineRevocations:
    """Revoked machine tokens, by ``jti``."""

    def __init__(self, database: Database, *, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock
        self._store = JtiStore(database, clock=clock)

    def is_revoked(self, jti: str) -> bool:
        """Whether this token was revoked: one read of a unique index."""
        driver = self._db.driver  # on PostgreSQL without SQLAlchemy, as the token endpoint's reads
        if driver is not None:
            return driver.first(_REVOKED_SQL, {"jti": jti}) is not None
        with self._db.autocommit() as conn:
            return conn.execute(_REVOKED, {"jti": jti}).first() is not None

    def revoke(self, jti: str, expires_at: datetime, kind: str = REVOKED_KIND) -> None:
        """Remember the token revoked until a while after it expires (again: nothing changes); ``kind``: a user
        access token's is :data:`idp.oidc.user_tokens.REVOKED_KIND`."""
        ttl = (expires_at + _KEPT_AFTER_EXP - self._clock()).total_seconds()
        self._store.remember(kind, jti, max(1, int(ttl)))

    def client_disabled_or_revoked(self, jti: str, client_id: str) -> bool:
        """A resource server's question, in one statement: revoked, or its client unknown or disabled."""
        with self._db.reading() as s:
            row = s.execute(_STATE, {"jti": jti, "client_id": client_id}).first()
        return row is None or row.disabled is not False or bool(row.revoked)
