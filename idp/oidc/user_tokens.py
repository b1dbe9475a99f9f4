"""User access tokens: the access tokens of code and refresh grants, which the provider does not store.

A user's access token is an RFC 9068 JWT that says everything introspection, userinfo and a resource server need
(``client_id``, ``sub``, ``scope``, ``aud``, ``exp``, ``sid``, ``cnf`` when DPoP-bound). What can change after it
was signed lives elsewhere: its grant (revoked by a logout, a refresh-token reuse, RFC 7009 on its refresh token,
an account gone, a replayed code), its SSO session (ended or expired), its client (disabled), and the token itself
(revoked alone by RFC 7009). So a code grant or a refresh writes no row for it (one token row fewer per operation:
docs/benchmarks.md, "User access tokens without rows"), and every reader reads those facts in **one indexed
statement**: the grant by its primary key, its session by its unique ``sid``, and this ``jti`` among the revoked
ones (``oidc_used_jti``'s unique index, kind :data:`REVOKED_KIND`, kept until a while after ``exp`` as a machine
token's are).

The token's ``jti`` is ``<random>~<sealed grant id>``: the grant's id sealed as a refresh token's context seals it
(:class:`~idp.oidc.refresh_tokens.RefreshContexts`: one AES block under a key of the instance, so the ``jti`` tells
nothing of how many grants the instance made). The random part is base64url (never ``~`` or ``.``) and so is the
sealed block, so the ``~`` tells a user token from a machine token (``<random>.<client_id>``:
:mod:`idp.oidc.machine_tokens`, read first: a client id may hold a ``~``) and from the tokens stored before this
(a random ``jti`` alone: their row is read as it always was, until they expire). The ``jti`` is only read from a
token whose signature verified, so nobody else can make one; a sealed part that does not open is refused all the
same.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, or_, select

from antin.kernel.database import table_of
from idp.oidc.models import Client, Grant, SsoSession, UsedJti

__all__ = [
    "GRANT_STATE",
    "GRANT_STATE_SQL",
    "GRANT_STATE_WITH_CLAIMS",
    "GRANT_STATE_WITH_CLAIMS_SQL",
    "RESOURCE_STATE",
    "REVOKED_KIND",
    "is_live",
    "sealed_grant_of",
    "user_jti",
]

REVOKED_KIND = "user-access-revoked"
_SEPARATOR = "~"

_GRANTS = table_of(Grant)
_SESSIONS = table_of(SsoSession)
_CLIENTS = table_of(Client)
_USED = table_of(UsedJti)

_REVOKED = exists().where(_USED.c.kind == REVOKED_KIND, _USED.c.value == bindparam("jti"))
# live: the grant not revoked, its SSO session (if any) neither ended nor past its limit, this jti not revoked alone
# (no session row, or a NULL in the comparison, reads as not live)
_LIVE = and_(
    _GRANTS.c.revoked_at.is_(None),
    or_(
        _GRANTS.c.sid.is_(None),
        and_(
            _SESSIONS.c.ended_at.is_(None),
            _SESSIONS.c.expires_at > bindparam("now", type_=_SESSIONS.c.expires_at.type),
        ),
    ),
    ~_REVOKED,
).label("live")
_FROM = _GRANTS.outerjoin(_SESSIONS, _SESSIONS.c.sid == _GRANTS.c.sid)
_WHOSE = (_GRANTS.c.client_id, _GRANTS.c.subject, _GRANTS.c.sid)
# introspection: whose grant it is and whether the token lives (the answer is the token's own claims)
GRANT_STATE: Select[Any] = select(*_WHOSE, _LIVE).select_from(_FROM).where(_GRANTS.c.id == bindparam("grant_id"))
# userinfo also reads the grant's claims request
GRANT_STATE_WITH_CLAIMS: Select[Any] = (
    select(*_WHOSE, _LIVE, _GRANTS.c.claims).select_from(_FROM).where(_GRANTS.c.id == bindparam("grant_id"))
)
# a resource server's question also says whether the client is disabled (or gone: no row)
RESOURCE_STATE: Select[Any] = (
    select(*_WHOSE, _LIVE, _CLIENTS.c.disabled)
    .select_from(_FROM.outerjoin(_CLIENTS, _CLIENTS.c.client_id == _GRANTS.c.client_id))
    .where(_GRANTS.c.id == bindparam("grant_id"))
)
# the same as SQL text for PostgreSQL's driver (idp.oidc.token_driver)
_STATE_SQL = (
    "SELECT g.client_id, g.subject, g.sid, g.revoked_at IS NULL"  # noqa: S608 (constants)
    " AND (g.sid IS NULL OR (s.ended_at IS NULL AND s.expires_at > %(now)s::timestamptz))"
    f" AND NOT EXISTS (SELECT 1 FROM oidc_used_jti u WHERE u.kind = '{REVOKED_KIND}' AND u.value = %(jti)s::varchar)"
    " AS live{more} FROM oidc_grant g LEFT OUTER JOIN oidc_sso_session s ON s.sid = g.sid"
    " WHERE g.id = %(grant_id)s::integer"
)
GRANT_STATE_SQL = _STATE_SQL.format(more="")
GRANT_STATE_WITH_CLAIMS_SQL = _STATE_SQL.format(more=", g.claims")


def user_jti(sealed_grant_id: str) -> str:
    """A new user access token's ``jti``: random, and naming its grant (sealed)."""
    return f"{secrets.token_urlsafe(18)}{_SEPARATOR}{sealed_grant_id}"


def sealed_grant_of(jti: str) -> str | None:
    """The sealed grant id a user access token's ``jti`` holds; None for a machine token's or a stored token's."""
    if "." in jti:  # a machine token's (its client id may hold a "~")
        return None
    random, sep, sealed = jti.partition(_SEPARATOR)
    return sealed if sep and random and sealed else None


def is_live(row: Any, claims: Mapping[str, Any]) -> bool:
    """Whether the state read by :data:`GRANT_STATE` lets the token with these (verified) claims be used: the grant
    lives (see ``_LIVE``) and is the token's — its client, subject and session, as the signature already vouches."""
    return bool(
        row.live
        and row.client_id == claims.get("client_id")
        and (row.subject or row.client_id) == claims.get("sub")
        and row.sid == claims.get("sid")
    )
