"""Codes, grants and tokens: minting ID tokens and RFC 9068 access tokens, rotating refresh tokens, revoking.

A *grant* is what one authorization code (or one client_credentials request) produced; its refresh tokens form
one family. A replayed code or a reused rotated refresh token revokes the whole grant.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from antin.kernel.database import Database, table_of, utcnow
from idp.oidc.clients import ClientRecord
from idp.oidc.errors import InvalidJwtError, RefreshReusedError
from idp.oidc.keys import SigningKeys
from idp.oidc.models import AuthorizationCode, Grant, IssuedToken, SessionClient, SsoSession
from idp.oidc.random_secrets import digest, new_secret
from idp.oidc.token_types import TokenType

__all__ = [
    "AccessTokenInfo",
    "CodeRequest",
    "CodeView",
    "GrantContext",
    "RefreshView",
    "TokenService",
    "half_hash",
]

ACCESS_TOKEN_ALG = "ES256"

# Core statements built once rather than the ORM's unit of work: these run for every token issued.
_GRANTS = table_of(Grant)
_TOKENS = table_of(IssuedToken)
_CODES = table_of(AuthorizationCode)
_INSERT_GRANT = insert(_GRANTS).returning(_GRANTS.c.id)
_INSERT_TOKENS = insert(_TOKENS)
_TOKEN_WITH_GRANT = (
    select(IssuedToken, Grant)
    .join(Grant, IssuedToken.grant_id == Grant.id)
    .where(IssuedToken.lookup == bindparam("lookup"))
)
_SESSIONS = table_of(SsoSession)
_SESSION_CLIENTS = table_of(SessionClient)
_JOIN_SESSION = insert(_SESSION_CLIENTS).from_select(
    ["session_id", "client_id", "first_at"],
    select(
        _SESSIONS.c.id,
        bindparam("client_id", type_=_SESSION_CLIENTS.c.client_id.type),
        bindparam("now", type_=_SESSION_CLIENTS.c.first_at.type),
    )
    .where(_SESSIONS.c.sid == bindparam("sid"))
    .where(
        ~exists().where(
            _SESSION_CLIENTS.c.session_id == _SESSIONS.c.id, _SESSION_CLIENTS.c.client_id == bindparam("client_id")
        )
    ),
)
_CLAIM_CODE = (
    update(_CODES)
    .where(
        _CODES.c.digest == bindparam("code_digest"),
        _CODES.c.client_id == bindparam("code_client"),
        _CODES.c.used_at.is_(None),
    )
    .values(used_at=bindparam("used_at_now", type_=_CODES.c.used_at.type))
    .returning(*_CODES.c)
)
_LINK_CODE = update(_CODES).where(_CODES.c.id == bindparam("code_id")).values(grant_id=bindparam("linked_grant"))


def _token_and_grant(s: Session, lookup: str) -> tuple[IssuedToken, Grant] | None:
    """An issued token and its grant, read together (one query)."""
    row = s.execute(_TOKEN_WITH_GRANT, {"lookup": lookup}).first()
    return (row[0], row[1]) if row is not None else None


def half_hash(value: str) -> str:
    """at_hash / c_hash for RS256 and ES256 (both SHA-256): left half, base64url."""
    h = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(h[: len(h) // 2]).rstrip(b"=").decode()


def _epoch(dt: datetime) -> int:
    return int(dt.timestamp())


@dataclass(frozen=True)
class CodeRequest:
    """Everything an authorization code carries to the token endpoint."""

    client_id: str
    subject: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    auth_time: datetime
    acr: str
    amr: tuple[str, ...]
    sid: str | None
    claims: dict[str, Any] | None
    resources: tuple[str, ...]
    dpop_jkt: str | None = None  # RFC 9449 §10: the code is redeemed only with a DPoP proof of this key


@dataclass(frozen=True)
class CodeView:
    """An authorization code as authlib's grant and PKCE extension read it."""

    id: int
    request: CodeRequest
    code_challenge: str
    code_challenge_method: str

    def get_redirect_uri(self) -> str:
        return self.request.redirect_uri

    def get_scope(self) -> str:
        return self.request.scope

    def get_nonce(self) -> str | None:
        return self.request.nonce

    def get_auth_time(self) -> int:
        return _epoch(self.request.auth_time)


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

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class AccessTokenInfo:
    claims: dict[str, Any]
    grant_id: int
    token_id: int
    client_id: str
    subject: str | None
    scope: str
    dpop_jkt: str | None
    claims_request: dict[str, Any] | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


class TokenService:
    def __init__(
        self,
        database: Database,
        keys: SigningKeys,
        *,
        issuer: str,
        code_ttl: int,
        access_token_ttl: int,
        id_token_ttl: int,
        refresh_token_ttl: int,
    ) -> None:
        self._db = database
        self._keys = keys
        self.issuer = issuer
        self.code_ttl = timedelta(seconds=code_ttl)
        self.access_ttl = timedelta(seconds=access_token_ttl)
        self.id_ttl = timedelta(seconds=id_token_ttl)
        self.refresh_ttl = timedelta(seconds=refresh_token_ttl)

    # -- authorization codes -------------------------------------------------------------------------------

    def create_code(self, req: CodeRequest) -> str:
        code = new_secret()
        now = utcnow()
        with self._db.session() as s:
            s.add(
                AuthorizationCode(
                    digest=digest(code),
                    client_id=req.client_id,
                    subject=req.subject,
                    redirect_uri=req.redirect_uri,
                    scope=req.scope,
                    nonce=req.nonce,
                    code_challenge=req.code_challenge,
                    code_challenge_method="S256",
                    auth_time=req.auth_time,
                    acr=req.acr,
                    amr=list(req.amr),
                    sid=req.sid,
                    claims=req.claims,
                    resources=list(req.resources),
                    dpop_jkt=req.dpop_jkt,
                    created_at=now,
                    expires_at=now + self.code_ttl,
                )
            )
        return code

    def redeem_code(self, code: str, client_id: str) -> tuple[CodeView | None, str]:
        """Claim a code for its one use. Returns (code, "") or (None, why); a replay revokes its grant."""
        now = utcnow()
        with self._db.session() as s:
            # the usual case in one statement: claim an unused code of this client
            row = s.execute(
                _CLAIM_CODE, {"code_digest": digest(code), "code_client": client_id, "used_at_now": now}
            ).first()
            if row is None:  # why not: read it
                known = s.scalar(select(AuthorizationCode).where(AuthorizationCode.digest == digest(code)))
                if known is None:
                    return None, "unknown code"
                if known.client_id != client_id:
                    return None, "code issued to another client"
                if known.grant_id is not None:
                    self._revoke_grant(s, known.grant_id, "code replayed")
                return None, "code replayed"
            if row.expires_at <= now:
                return None, "code expired"
            req = CodeRequest(
                client_id=row.client_id,
                subject=row.subject,
                redirect_uri=row.redirect_uri,
                scope=row.scope,
                nonce=row.nonce,
                code_challenge=row.code_challenge,
                auth_time=row.auth_time,
                acr=row.acr,
                amr=tuple(row.amr),
                sid=row.sid,
                claims=row.claims,
                resources=tuple(row.resources),
                dpop_jkt=row.dpop_jkt,
            )
            return CodeView(row.id, req, row.code_challenge, row.code_challenge_method), ""

    # -- minting -----------------------------------------------------------------------------------------

    def issue(
        self,
        ctx: GrantContext,
        *,
        code_id: int | None = None,
        grant_id: int | None = None,
        nonce: str | None = None,
        dpop_jkt: str | None = None,
        refresh: bool = False,
        id_token_claims: dict[str, Any] | None = None,
        rotated_from: int | None = None,
        session_client: bool = False,
    ) -> tuple[dict[str, Any], int]:
        """Mint an access token (and a refresh token, and an ID token when ``id_token_claims`` is given).

        ``id_token_claims`` are the user claims to put in the ID token besides the protocol ones.
        Returns the token response and the grant id.
        """
        # load the keys before the transaction: a first load may have to create them (another transaction)
        self._keys.signing_key(ACCESS_TOKEN_ALG)
        self._keys.signing_key(ctx.client.id_token_signed_response_alg)
        now = utcnow()
        with self._db.session() as s:
            if grant_id is None:
                grant_id = s.execute(
                    _INSERT_GRANT,
                    {
                        "client_id": ctx.client.client_id,
                        "subject": ctx.subject,
                        "scope": ctx.scope,
                        "sid": ctx.sid,
                        "auth_time": ctx.auth_time,
                        "acr": ctx.acr,
                        "amr": list(ctx.amr),
                        "claims": ctx.claims,
                        "resources": list(ctx.resources),
                        "created_at": now,
                    },
                ).scalar_one()
                if code_id is not None:
                    s.execute(_LINK_CODE, {"code_id": code_id, "linked_grant": grant_id})
            if session_client and ctx.sid:
                # the client takes part in the SSO session: it gets a logout token when the session ends
                s.execute(_JOIN_SESSION, {"sid": ctx.sid, "client_id": ctx.client.client_id, "now": now})
            if rotated_from is not None:
                # only one request may rotate a refresh token; a second one is a reuse
                done = s.execute(
                    update(IssuedToken)
                    .where(IssuedToken.id == rotated_from, IssuedToken.rotated_at.is_(None))
                    .values(rotated_at=now)
                )
                if done.rowcount != 1:  # type: ignore[attr-defined]
                    self._revoke_grant(s, grant_id, "refresh token reused")
                    raise RefreshReusedError()
            audience = list(ctx.resources) or [self.issuer]
            jti = secrets.token_urlsafe(18)
            expires = now + self.access_ttl
            at_claims: dict[str, Any] = {
                "iss": self.issuer,
                "sub": ctx.subject or ctx.client.client_id,
                "aud": audience[0] if len(audience) == 1 else audience,
                "exp": _epoch(expires),
                "iat": _epoch(now),
                "jti": jti,
                "client_id": ctx.client.client_id,
                "scope": ctx.scope,
            }
            if ctx.auth_time is not None:
                at_claims["auth_time"] = _epoch(ctx.auth_time)
            if ctx.acr:
                at_claims["acr"] = ctx.acr
            if ctx.amr:
                at_claims["amr"] = list(ctx.amr)
            if ctx.sid:
                at_claims["sid"] = ctx.sid
            if dpop_jkt:
                at_claims["cnf"] = {"jkt": dpop_jkt}
            access_token = self._keys.sign(at_claims, alg=ACCESS_TOKEN_ALG, typ="at+jwt")
            tokens: list[dict[str, Any]] = [
                {
                    "grant_id": grant_id,
                    "kind": "access",
                    "lookup": jti,
                    "scope": ctx.scope,
                    "audience": audience,
                    "dpop_jkt": dpop_jkt,
                    "created_at": now,
                    "expires_at": expires,
                }
            ]
            response: dict[str, Any] = {
                "access_token": access_token,
                "token_type": "DPoP" if dpop_jkt else "Bearer",
                "expires_in": int(self.access_ttl.total_seconds()),
                "scope": ctx.scope,
            }
            if refresh:
                refresh_token = new_secret()
                tokens.append(
                    {
                        "grant_id": grant_id,
                        "kind": "refresh",
                        "lookup": digest(refresh_token),
                        "scope": ctx.scope,
                        "audience": [],
                        # a public client's refresh token is bound to its DPoP key, if it used one
                        "dpop_jkt": dpop_jkt if ctx.client.public else None,
                        "created_at": now,
                        "expires_at": now + self.refresh_ttl,
                    }
                )
                response["refresh_token"] = refresh_token
            s.execute(_INSERT_TOKENS, tokens)
            if id_token_claims is not None and ctx.subject:
                response["id_token"] = self._id_token(ctx, now, nonce, access_token, id_token_claims)
            return response, grant_id

    def _id_token(
        self, ctx: GrantContext, now: datetime, nonce: str | None, access_token: str, user_claims: dict[str, Any]
    ) -> str:
        claims: dict[str, Any] = dict(user_claims)
        claims.update(
            {
                "iss": self.issuer,
                "sub": ctx.subject,
                "aud": ctx.client.client_id,
                "azp": ctx.client.client_id,
                "exp": _epoch(now + self.id_ttl),
                "iat": _epoch(now),
                "at_hash": half_hash(access_token),
            }
        )
        if ctx.auth_time is not None:
            claims["auth_time"] = _epoch(ctx.auth_time)
        if nonce:
            claims["nonce"] = nonce
        if ctx.acr:
            claims["acr"] = ctx.acr
        if ctx.amr:
            claims["amr"] = list(ctx.amr)
        if ctx.sid:
            claims["sid"] = ctx.sid
        return self._keys.sign(claims, alg=ctx.client.id_token_signed_response_alg)

    # -- reading -------------------------------------------------------------------------------------------

    def find_refresh(self, refresh_token: str, client: ClientRecord) -> tuple[RefreshView | None, str]:
        """A usable refresh token, or (None, why). A reused rotated token revokes its whole family."""
        now = utcnow()
        with self._db.session() as s:
            found = _token_and_grant(s, digest(refresh_token))
            if found is None or found[0].kind != "refresh":
                return None, "unknown refresh token"
            row, grant = found
            if grant.client_id != client.client_id:
                return None, "refresh token of another client"
            if row.rotated_at is not None:
                self._revoke_grant(s, grant.id, "refresh token reused")
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
        if not isinstance(exp, int) or exp <= _epoch(utcnow()):
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
            )

    # -- revoking ------------------------------------------------------------------------------------------

    def revoke_token(self, ref: IssuedTokenRef) -> None:
        """Revoke an access token alone, or a refresh token with its whole grant (RFC 7009 allows both)."""
        with self._db.session() as s:
            if ref.kind == "refresh":
                self._revoke_grant(s, ref.grant_id, "revoked by the client")
            else:
                s.execute(update(IssuedToken).where(IssuedToken.id == ref.token_id).values(revoked_at=utcnow()))

    def revoke_grant(self, grant_id: int, reason: str) -> None:
        with self._db.session() as s:
            self._revoke_grant(s, grant_id, reason)

    def revoke_for_session(self, sid: str, reason: str) -> int:
        with self._db.session() as s:
            ids = s.scalars(select(Grant.id).where(Grant.sid == sid, Grant.revoked_at.is_(None))).all()
            for gid in ids:
                self._revoke_grant(s, gid, reason)
            return len(ids)

    def revoke_for_subject(self, subject: str, reason: str, client_id: str | None = None) -> int:
        with self._db.session() as s:
            query = select(Grant.id).where(Grant.subject == subject, Grant.revoked_at.is_(None))
            if client_id is not None:
                query = query.where(Grant.client_id == client_id)
            ids = s.scalars(query).all()
            for gid in ids:
                self._revoke_grant(s, gid, reason)
            return len(ids)

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

    @staticmethod
    def _revoke_grant(s: Any, grant_id: int, reason: str) -> None:
        now = utcnow()
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


@dataclass(frozen=True)
class IssuedTokenRef:
    token_id: int
    grant_id: int
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

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked
