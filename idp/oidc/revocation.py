"""Revoking grants and tokens: by the client (RFC 7009), at logout, when an account goes, on a replay.

Revoking a grant revokes every token it issued; a refresh token is never revoked alone (its family goes with it).
A machine token (client_credentials) has no grant, a user's access token no row: revoking either alone records its
``jti`` (:mod:`idp.oidc.machine_tokens`, :mod:`idp.oidc.user_tokens`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from antin.kernel.database import Database
from idp.oidc.grants import IssuedTokenRef
from idp.oidc.machine_tokens import REVOKED_KIND as MACHINE_REVOKED
from idp.oidc.machine_tokens import MachineRevocations
from idp.oidc.models import Grant, IssuedToken
from idp.oidc.user_tokens import REVOKED_KIND as USER_REVOKED

__all__ = ["TokenRevocation", "revoke_grant_rows"]


def revoke_grant_rows(s: Session, grant_id: int, reason: str, now: datetime) -> None:
    """Revoke a grant and its tokens inside the caller's transaction."""
    s.execute(
        update(Grant)
        .where(Grant.id == grant_id, Grant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    s.execute(
        update(IssuedToken)
        .where(IssuedToken.grant_id == grant_id, IssuedToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


class TokenRevocation:
    def __init__(self, database: Database, *, clock: Callable[[], datetime], machine: MachineRevocations) -> None:
        self._db = database
        self._clock = clock
        self._machine = machine

    def revoke_token(self, ref: IssuedTokenRef) -> None:
        """Revoke an access token alone, or a refresh token with its whole grant (RFC 7009 allows both)."""
        if ref.token_id is None:  # an access token without a row: its jti is recorded
            if ref.jti is not None:
                kind = MACHINE_REVOKED if ref.grant_id is None else USER_REVOKED
                self._machine.revoke(ref.jti, ref.expires_at, kind)
            return
        with self._db.session() as s:
            if ref.kind == "refresh" and ref.grant_id is not None:
                revoke_grant_rows(s, ref.grant_id, "revoked by the client", self._clock())
            else:
                s.execute(update(IssuedToken).where(IssuedToken.id == ref.token_id).values(revoked_at=self._clock()))

    def revoke_grant(self, grant_id: int, reason: str) -> None:
        with self._db.session() as s:
            revoke_grant_rows(s, grant_id, reason, self._clock())

    def revoke_for_session(self, sid: str, reason: str) -> int:
        with self._db.session() as s:
            ids = s.scalars(select(Grant.id).where(Grant.sid == sid, Grant.revoked_at.is_(None))).all()
            for gid in ids:
                revoke_grant_rows(s, gid, reason, self._clock())
            return len(ids)

    def revoke_for_subject(self, subject: str, reason: str, client_id: str | None = None) -> int:
        with self._db.session() as s:
            query = select(Grant.id).where(Grant.subject == subject, Grant.revoked_at.is_(None))
            if client_id is not None:
                query = query.where(Grant.client_id == client_id)
            ids = s.scalars(query).all()
            for gid in ids:
                revoke_grant_rows(s, gid, reason, self._clock())
            return len(ids)
