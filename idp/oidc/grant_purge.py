"""Deleting what no flow can use any more: tokens long expired, grants left without tokens, spent codes, expired
interactions and pushed requests. Run by ``antin sessions purge`` beside the sessions' purge.

Each row goes only when nothing live reads it: a token expired more than the age given (a rotated refresh token is
kept as long, so a reuse inside its lifetime still revokes its family; a purged one is unknown, and refused as
such); a grant older than that age with no token row left and older than the access tokens' lifetime (a user's
access token has no row: it is read through its grant, :mod:`idp.oidc.user_tokens`), or whose SSO session was purged
(its refresh tokens are refused already); a code expired as long ago whose grant is gone (while its grant lives, a
replay of the code still revokes it); interactions and pushed requests expired as long ago. ``oidc_token`` has no
foreign key to ``oidc_grant`` (migration r14nofk00013): a grant's tokens are deleted here with it. The audit log is
never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select

from antin.kernel.database import Database
from idp.oidc.models import AuthorizationCode, Grant, Interaction, IssuedToken, PushedRequest, SsoSession

__all__ = ["SpentCount", "purge_spent"]

PURGE_BATCH = 5_000  # rows deleted per transaction, as the sessions' purge: never one long lock


@dataclass(frozen=True)
class SpentCount:
    """Rows deleted by :func:`purge_spent`, per table."""

    tokens: int
    grants: int
    codes: int
    interactions: int
    pushed_requests: int


def _delete_in_batches(
    database: Database, id_column: Any, where: Any, *, also: Any = None, before_first: Any = 0
) -> tuple[int, int]:
    """Delete the rows matching ``where`` by batches of ids in id order (one scan of the table in all, each batch
    its own transaction); ``also(session, ids)`` deletes what goes with them first and returns its count.
    Returns (rows, rows deleted by ``also``)."""
    table = id_column.table
    after, rows, extra = before_first, 0, 0
    while True:
        with database.session() as s:
            ids = s.scalars(
                select(id_column).where(id_column > after, where).order_by(id_column).limit(PURGE_BATCH)
            ).all()
            if not ids:
                return rows, extra
            if also is not None:
                extra += also(s, ids)
            s.execute(delete(table).where(id_column.in_(ids)))
            rows += len(ids)
            after = ids[-1]


def _delete_tokens_of(s: Any, grant_ids: list[int]) -> int:
    done = s.execute(delete(IssuedToken).where(IssuedToken.grant_id.in_(grant_ids)))
    return int(done.rowcount)


def purge_spent(database: Database, cutoff: datetime, *, access_tokens_since: datetime | None = None) -> SpentCount:
    """Delete tokens, grants, codes, interactions and pushed requests spent before ``cutoff`` (see the module).

    ``access_tokens_since``: when the oldest access token that may still be live was issued (now less the access
    tokens' lifetime and some leeway): a grant with no token row left is kept until then as well, since its access
    tokens have no row (:mod:`idp.oidc.user_tokens`) and are read through it."""
    tokens, _ = _delete_in_batches(database, IssuedToken.id, IssuedToken.expires_at < cutoff)
    has_token = exists().where(IssuedToken.grant_id == Grant.id)
    session_gone = and_(Grant.sid.is_not(None), ~exists().where(SsoSession.sid == Grant.sid))
    tokenless_before = cutoff if access_tokens_since is None else min(cutoff, access_tokens_since)
    grants, with_grants = _delete_in_batches(
        database,
        Grant.id,
        and_(Grant.created_at < cutoff, or_(and_(~has_token, Grant.created_at < tokenless_before), session_gone)),
        also=_delete_tokens_of,
    )
    grant_gone = or_(AuthorizationCode.grant_id.is_(None), ~exists().where(Grant.id == AuthorizationCode.grant_id))
    codes, _ = _delete_in_batches(
        database, AuthorizationCode.id, and_(AuthorizationCode.expires_at < cutoff, grant_gone)
    )
    pushed, _ = _delete_in_batches(database, PushedRequest.id, PushedRequest.expires_at < cutoff)
    interactions, _ = _delete_in_batches(database, Interaction.id, Interaction.expires_at < cutoff, before_first="")
    return SpentCount(tokens + with_grants, grants, codes, interactions, pushed)
