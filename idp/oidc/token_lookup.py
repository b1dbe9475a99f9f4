"""Finding the tokens we issued: a refresh token to rotate, an access token at userinfo, a token a client wants to
introspect or revoke. A reused rotated refresh token revokes its whole family."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from antin.kernel.database import Database
from idp.oidc.clients import ClientRecord
from idp.oidc.errors import InvalidJwtError
from idp.oidc.grants import ACCESS_TOKEN_ALG, AccessTokenInfo, GrantContext, IssuedTokenRef, RefreshView, epoch
from idp.oidc.keys import SigningKeys
from idp.oidc.models import Grant, IssuedToken
from idp.oidc.random_secrets import digest
from idp.oidc.revocation import revoke_grant_rows
from idp.oidc.token_types import TokenType

__all__ = ["TokenLookup"]

# built once: every token checked runs it
_TOKEN_WITH_GRANT = (
    select(IssuedToken, Grant)
    .join(Grant, IssuedToken.grant_id == Grant.id)
    .where(IssuedToken.lookup == bindparam("lookup"))
)


def _token_and_grant(s: Session, lookup: str) -> tuple[IssuedToken, Grant] | None:
    """An issued token and its grant, read together (one query)."""
    row = s.execute(_TOKEN_WITH_GRANT, {"lookup": lookup}).first()
    return (row[0], row[1]) if row is not None else None


class TokenLookup:
    def __init__(self, database: Database, keys: SigningKeys, *, issuer: str, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._keys = keys
        self.issuer = issuer
        self._clock = clock

    def find_refresh(self, refresh_token: str, client: ClientRecord) -> tuple[RefreshView | None, str]:
        """A usable refresh token, or (None, why). A reused rotated token revokes its whole family."""
        now = self._clock()
        with self._db.session() as s:
            found = _token_and_grant(s, digest(refresh_token))
            if found is None or found[0].kind != "refresh":
                return None, "unknown refresh token"
            row, grant = found
            if grant.client_id != client.client_id:
                return None, "refresh token of another client"
            if row.rotated_at is not None:
                revoke_grant_rows(s, grant.id, "refresh token reused", self._clock())
                return None, "refresh token reused: family revoked"
            if grant.revoked_at is not None or row.revoked_at is not None:
                return None, "refresh token revoked"
            if row.expires_at <= now:
                return None, "refresh token expired"
            ctx = GrantContext(
                client=client,
                subject=grant.subject,
                scope=grant.scope,
                sid=grant.sid,
                auth_time=grant.auth_time,
                acr=grant.acr,
                amr=tuple(grant.amr),
                claims=grant.claims,
                resources=tuple(grant.resources),
            )
            return RefreshView(row.id, grant.id, grant.client_id, row.scope, row.dpop_jkt, ctx), ""

    def verify_access_token(self, token: str) -> AccessTokenInfo | None:
        """A live access token of ours (signature, expiry, not revoked), or None."""
        try:
            _header, claims = self._keys.verify_as(token, TokenType.ACCESS_TOKEN, algs=(ACCESS_TOKEN_ALG,))
        except InvalidJwtError:
            return None
        if claims.get("iss") != self.issuer:
            return None
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= epoch(self._clock()):
            return None
        with self._db.reading() as s:
            found = _token_and_grant(s, str(claims.get("jti")))
            if found is None:
                return None
            row, grant = found
            if row.kind != "access" or row.revoked_at is not None or grant.revoked_at is not None:
                return None
            return AccessTokenInfo(
                claims=claims,
                grant_id=row.grant_id,
                token_id=row.id,
                client_id=grant.client_id,
                subject=grant.subject,
                scope=row.scope,
                dpop_jkt=row.dpop_jkt,
                claims_request=grant.claims,
            )

    def find_for_client_action(self, token: str, hint: str | None) -> IssuedTokenRef | None:
        """The token a client wants to revoke or introspect (either kind), or None."""
        with self._db.reading() as s:
            # refresh tokens are random strings, access tokens JWTs: the shape says where to look, not the hint
            found = None
            jwt_shaped = token.count(".") == 2
            if not jwt_shaped:
                found = _token_and_grant(s, digest(token))
            else:
                try:
                    _header, claims = self._keys.verify_as(token, TokenType.ACCESS_TOKEN, algs=(ACCESS_TOKEN_ALG,))
                except InvalidJwtError:
                    claims = {}
                if claims.get("jti"):
                    found = _token_and_grant(s, str(claims["jti"]))
            if found is None:
                return None
            row, grant = found
            return IssuedTokenRef(
                token_id=row.id,
                grant_id=row.grant_id,
                kind=row.kind,
                client_id=grant.client_id,
                subject=grant.subject,
                scope=row.scope,
                audience=tuple(row.audience),
                issued_at=row.created_at,
                expires_at=row.expires_at,
                revoked=row.revoked_at is not None or grant.revoked_at is not None or row.rotated_at is not None,
                dpop_jkt=row.dpop_jkt,
                sid=grant.sid,
                acr=grant.acr,
                auth_time=grant.auth_time,
                clock=self._clock,
            )

    def live_client_ids(self, subject: str) -> list[str]:
        """Clients holding a live grant of this official (for the account page)."""
        with self._db.session() as s:
            return list(
                s.scalars(
                    select(Grant.client_id)
                    .where(Grant.subject == subject, Grant.revoked_at.is_(None))
                    .distinct()
                    .order_by(Grant.client_id)
                )
            )
