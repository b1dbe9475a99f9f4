"""Finding the tokens we issued: a refresh token to rotate, an access token at userinfo, a token a client wants to
introspect or revoke. A reused rotated refresh token revokes its whole family. A machine token (client_credentials:
:mod:`idp.oidc.machine_tokens`) has no row: it is read from its verified claims, its revocation from one indexed
read. A user's access token of a code or refresh grant (:mod:`idp.oidc.user_tokens`) has no row either: its
verified claims say what it is, one indexed read of its grant, SSO session and revoked ``jti`` whether it lives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, select

from antin.kernel.database import Database, table_of
from idp.oidc import token_driver
from idp.oidc.clients import ClientRecord
from idp.oidc.errors import InvalidJwtError
from idp.oidc.grants import ACCESS_TOKEN_ALG, AccessTokenInfo, GrantContext, IssuedTokenRef, RefreshView, epoch
from idp.oidc.keys import SigningKeys
from idp.oidc.machine_tokens import MachineRevocations, machine_client_of
from idp.oidc.models import Grant, IssuedToken, SsoSession
from idp.oidc.random_secrets import digest
from idp.oidc.refresh_tokens import RefreshContexts
from idp.oidc.revocation import revoke_grant_rows
from idp.oidc.token_types import TokenType
from idp.oidc.user_tokens import (
    GRANT_STATE,
    GRANT_STATE_SQL,
    GRANT_STATE_WITH_CLAIMS,
    GRANT_STATE_WITH_CLAIMS_SQL,
    is_live,
    sealed_grant_of,
)
from idp.oidc.verified_tokens import VerifiedAccessTokens

__all__ = ["TokenLookup"]

# Core statements built once (every token checked runs one): a token and its grant in one indexed read by
# `lookup` (unique), plain rows rather than ORM entities, on a connection without a transaction of its own.
_TOKENS = table_of(IssuedToken)
_GRANTS = table_of(Grant)
_SESSIONS = table_of(SsoSession)
_TOKEN_COLUMNS = (
    _TOKENS.c.id,
    _TOKENS.c.grant_id,
    _TOKENS.c.kind,
    _TOKENS.c.scope,
    _TOKENS.c.audience,
    _TOKENS.c.dpop_jkt,
    _TOKENS.c.created_at,
    _TOKENS.c.expires_at,
    _TOKENS.c.revoked_at,
    _TOKENS.c.rotated_at,
    _GRANTS.c.client_id,
    _GRANTS.c.subject,
    _GRANTS.c.sid,
    _GRANTS.c.acr,
    _GRANTS.c.auth_time,
    _GRANTS.c.claims,
    _GRANTS.c.revoked_at.label("grant_revoked_at"),
)
_TOKEN_WITH_GRANT = (
    select(*_TOKEN_COLUMNS)
    .select_from(_TOKENS.join(_GRANTS, _TOKENS.c.grant_id == _GRANTS.c.id))
    .where(_TOKENS.c.lookup == bindparam("lookup"))
)
# a refresh token also needs what its grant's context is made of, and whether its SSO session still lives
_REFRESH_WITH_GRANT = (
    select(
        *_TOKEN_COLUMNS,
        _GRANTS.c.scope.label("grant_scope"),
        _GRANTS.c.amr,
        _GRANTS.c.resources,
        _SESSIONS.c.ended_at.label("session_ended_at"),
        _SESSIONS.c.expires_at.label("session_expires_at"),
    )
    .select_from(
        _TOKENS.join(_GRANTS, _TOKENS.c.grant_id == _GRANTS.c.id).outerjoin(_SESSIONS, _SESSIONS.c.sid == _GRANTS.c.sid)
    )
    .where(_TOKENS.c.lookup == bindparam("lookup"))
)
# introspection of a stored access token: its answer is its verified claims (written with the row, never changed),
# so the read says only whether the token and its grant still live, and when the row says it expires
_LIVE = and_(_TOKENS.c.revoked_at.is_(None), _TOKENS.c.rotated_at.is_(None), _GRANTS.c.revoked_at.is_(None))
_ACCESS_TOKEN_STATE = (
    select(_TOKENS.c.id, _TOKENS.c.grant_id, _TOKENS.c.expires_at, _LIVE.label("live"))
    .select_from(_TOKENS.join(_GRANTS, _TOKENS.c.grant_id == _GRANTS.c.id))
    .where(_TOKENS.c.lookup == bindparam("lookup"), _TOKENS.c.kind == "access")
)
_ACCESS_TOKEN_STATE_SQL = (
    "SELECT t.id, t.grant_id, t.expires_at,"
    " t.revoked_at IS NULL AND t.rotated_at IS NULL AND g.revoked_at IS NULL AS live"
    " FROM oidc_token t JOIN oidc_grant g ON t.grant_id = g.id WHERE t.lookup = %(lookup)s AND t.kind = 'access'"
)


def _claimed_time(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


_Stated = tuple[str, str, str, tuple[str, ...], datetime, str | None, str | None, datetime | None, str | None]


def _stated_access_token(claims: Mapping[str, Any]) -> _Stated | None:
    """What a stored access token's claims say of it, as its row and grant say it (:meth:`TokenService.issue`
    writes both from the same values): client, subject (``sub``: the client's id when there is no user),
    scope, audience, issue time, SSO session, acr, auth_time, DPoP key. None when they are not shaped so."""
    client_id, sub, scope, aud = claims.get("client_id"), claims.get("sub"), claims.get("scope"), claims.get("aud")
    sid, acr, cnf = claims.get("sid"), claims.get("acr"), claims.get("cnf")
    issued_at, auth_time = _claimed_time(claims, "iat"), _claimed_time(claims, "auth_time")
    audience = (aud,) if isinstance(aud, str) else tuple(aud) if isinstance(aud, list) else None
    dpop_jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if (
        not isinstance(client_id, str)
        or not isinstance(sub, str)
        or not isinstance(scope, str)
        or audience is None
        or not all(isinstance(a, str) for a in audience)
        or issued_at is None
        or (auth_time is None and "auth_time" in claims)
        or not isinstance(sid, str | None)
        or not isinstance(acr, str | None)
        or (cnf is not None and not isinstance(dpop_jkt, str))
    ):
        return None
    return client_id, sub, scope, audience, issued_at, sid, acr, auth_time, dpop_jkt


class TokenLookup:
    def __init__(
        self,
        database: Database,
        keys: SigningKeys,
        *,
        issuer: str,
        clock: Callable[[], datetime],
        machine: MachineRevocations,
        contexts: RefreshContexts,
    ) -> None:
        self._db = database
        self._contexts = contexts
        self._keys = keys
        self.issuer = issuer
        self._clock = clock
        self._machine = machine
        self.verified = VerifiedAccessTokens(keys, now=lambda: epoch(clock()))

    def _machine_token(self, claims: Mapping[str, Any]) -> IssuedTokenRef | None:
        """A machine token from its verified claims (None when they are not a machine token's of our issuer), with
        its revocation read; None for a stored token's claims too (its ``jti`` names no client)."""
        jti, client_id = claims.get("jti"), claims.get("client_id")
        if not isinstance(jti, str) or machine_client_of(jti) is None:
            return None
        issued_at, expires_at = _claimed_time(claims, "iat"), _claimed_time(claims, "exp")
        if (
            machine_client_of(jti) != client_id
            or claims.get("sub") != client_id
            or claims.get("iss") != self.issuer
            or issued_at is None
            or expires_at is None
        ):
            return None
        aud = claims.get("aud")
        cnf = claims.get("cnf")
        return IssuedTokenRef(
            token_id=None,
            grant_id=None,
            kind="access",
            client_id=str(client_id),
            subject=None,
            scope=str(claims.get("scope", "")),
            audience=tuple(aud) if isinstance(aud, list) else ((aud,) if isinstance(aud, str) else ()),
            issued_at=issued_at,
            expires_at=expires_at,
            revoked=self._machine.is_revoked(jti),
            dpop_jkt=cnf.get("jkt") if isinstance(cnf, dict) else None,
            sid=None,
            acr=None,
            auth_time=None,
            clock=self._clock,
            jti=jti,
        )

    def _user_token_state(self, jti: str, *, with_claims: bool = False) -> Any:
        """The state of a user access token's grant, session and ``jti`` (:mod:`idp.oidc.user_tokens`), in one
        indexed read, as (grant id, row); None when its ``jti`` names no grant of this instance or the grant is
        gone. ``with_claims``: the grant's claims request too (userinfo)."""
        sealed = sealed_grant_of(jti)
        grant_id = self._contexts.open_grant_id(sealed) if sealed is not None else None
        if grant_id is None:
            return None
        params = {"grant_id": grant_id, "jti": jti, "now": self._clock()}
        driver = self._db.driver
        if driver is not None:
            row = driver.first(GRANT_STATE_WITH_CLAIMS_SQL if with_claims else GRANT_STATE_SQL, params)
        else:
            with self._db.autocommit() as conn:
                row = conn.execute(GRANT_STATE_WITH_CLAIMS if with_claims else GRANT_STATE, params).first()
        return (grant_id, row) if row is not None else None

    def _user_token(self, claims: Mapping[str, Any], jti: str) -> IssuedTokenRef | None:
        """A user access token from its verified claims and its grant's state (None when the claims are not shaped
        as we write them, or its grant is unknown)."""
        stated = _stated_access_token(claims)
        expires_at = _claimed_time(claims, "exp")
        if stated is None or expires_at is None:  # (its iss is not checked: as for a token with a row)
            return None
        state = self._user_token_state(jti)
        if state is None:
            return None
        grant_id, row = state
        return self._access_ref(
            stated, token_id=None, grant_id=grant_id, expires_at=expires_at, revoked=not is_live(row, claims), jti=jti
        )

    def _access_ref(
        self,
        stated: _Stated,
        *,
        token_id: int | None,
        grant_id: int,
        expires_at: datetime,
        revoked: bool,
        jti: str | None = None,
    ) -> IssuedTokenRef:
        """An access token read from its verified claims (``stated``) and what its grant's state says of it."""
        client_id, subject, scope, audience, issued_at, sid, acr, auth_time, dpop_jkt = stated
        return IssuedTokenRef(
            token_id=token_id,
            grant_id=grant_id,
            kind="access",
            client_id=client_id,
            subject=subject,
            scope=scope,
            audience=audience,
            issued_at=issued_at,
            expires_at=expires_at,
            revoked=revoked,
            dpop_jkt=dpop_jkt,
            sid=sid,
            acr=acr,
            auth_time=auth_time,
            clock=self._clock,
            jti=jti,
        )

    def _read(self, statement: Any, lookup: str) -> Row[Any] | None:
        with self._db.autocommit() as conn:
            return conn.execute(statement, {"lookup": lookup}).first()

    def _token_with_grant(self, lookup: str) -> Any:
        """The token (by ``jti`` or digest) and its grant's columns, or None: one indexed read."""
        driver = self._db.driver  # on PostgreSQL without SQLAlchemy (idp.oidc.token_driver)
        if driver is not None:
            return token_driver.token_with_grant(driver, lookup)
        return self._read(_TOKEN_WITH_GRANT, lookup)

    def find_refresh(self, refresh_token: str, client: ClientRecord) -> tuple[RefreshView | None, str]:
        """A usable refresh token, or (None, why). A reused rotated token revokes its whole family.

        One read: the token, its grant and its SSO session's liveness. Only a reuse opens a transaction (to
        revoke the family); the rotation itself is one transaction in :meth:`TokenService.issue`, whose
        conditional update lets one request only rotate a token.
        """
        now = self._clock()
        lookup = digest(refresh_token)
        driver = self._db.driver
        if driver is not None:
            row = token_driver.refresh_with_grant(driver, lookup)
        else:
            row = self._read(_REFRESH_WITH_GRANT, lookup)
        if row is None or row.kind != "refresh":
            return None, "unknown refresh token"
        if row.client_id != client.client_id:
            return None, "refresh token of another client"
        if row.rotated_at is not None:
            with self._db.session() as s:
                revoke_grant_rows(s, row.grant_id, "refresh token reused", self._clock())
            return None, "refresh token reused: family revoked"
        if row.grant_revoked_at is not None or row.revoked_at is not None:
            return None, "refresh token revoked"
        if row.expires_at <= now:
            return None, "refresh token expired"
        ctx = GrantContext(
            client=client,
            subject=row.subject,
            scope=row.grant_scope,
            sid=row.sid,
            auth_time=row.auth_time,
            acr=row.acr,
            amr=tuple(row.amr),
            claims=row.claims,
            resources=tuple(row.resources),
        )
        session_live = row.sid is None or (
            row.session_expires_at is not None and row.session_ended_at is None and row.session_expires_at > now
        )
        view = RefreshView(row.id, row.grant_id, row.client_id, row.scope, row.dpop_jkt, ctx, session_live)
        return view, ""

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
        jti = str(claims.get("jti"))
        if machine_client_of(jti) is not None:
            machine = self._machine_token(claims)
            if machine is None or machine.revoked:
                return None
            return AccessTokenInfo(
                claims=claims,
                grant_id=None,
                token_id=None,
                client_id=machine.client_id,
                subject=None,
                scope=machine.scope,
                dpop_jkt=machine.dpop_jkt,
            )
        if sealed_grant_of(jti) is not None:  # a user token stored nowhere: its grant's state says if it lives
            state = self._user_token_state(jti, with_claims=True)
            if state is None or not is_live(state[1], claims):
                return None
            grant_id, grant = state
            cnf = claims.get("cnf")
            return AccessTokenInfo(
                claims=claims,
                grant_id=grant_id,
                token_id=None,
                client_id=grant.client_id,
                subject=grant.subject,
                scope=str(claims.get("scope", "")),
                dpop_jkt=cnf.get("jkt") if isinstance(cnf, dict) else None,
                claims_request=grant.claims,
            )
        row = self._token_with_grant(jti)
        if row is None or row.kind != "access" or row.revoked_at is not None or row.grant_revoked_at is not None:
            return None
        return AccessTokenInfo(
            claims=claims,
            grant_id=row.grant_id,
            token_id=row.id,
            client_id=row.client_id,
            subject=row.subject,
            scope=row.scope,
            dpop_jkt=row.dpop_jkt,
            claims_request=row.claims,
        )

    def find_for_client_action(self, token: str, hint: str | None) -> IssuedTokenRef | None:
        """The token a client wants to revoke or introspect (either kind), or None.

        An access token (a JWT) is verified locally first — signature, type, algorithm — so a forged or foreign
        one costs no database read; then one indexed read by its ``jti`` says whether it was revoked (a machine
        token's in the revoked records, a stored token's in its row).
        """
        # refresh tokens are random strings, access tokens JWTs: the shape says where to look, not the hint
        if token.count(".") != 2:
            row = self._token_with_grant(digest(token))
        else:
            try:
                _header, claims = self._keys.verify_as(token, TokenType.ACCESS_TOKEN, algs=(ACCESS_TOKEN_ALG,))
            except InvalidJwtError:
                return None
            jti = claims.get("jti")
            if isinstance(jti, str) and machine_client_of(jti) is not None:
                return self._machine_token(claims)
            if isinstance(jti, str) and sealed_grant_of(jti) is not None:
                return self._user_token(claims, jti)
            row = self._token_with_grant(str(jti)) if jti else None
        if row is None:
            return None
        return IssuedTokenRef(
            token_id=row.id,
            grant_id=row.grant_id,
            kind=row.kind,
            client_id=row.client_id,
            subject=row.subject,
            scope=row.scope,
            audience=tuple(row.audience),
            issued_at=row.created_at,
            expires_at=row.expires_at,
            revoked=row.revoked_at is not None or row.grant_revoked_at is not None or row.rotated_at is not None,
            dpop_jkt=row.dpop_jkt,
            sid=row.sid,
            acr=row.acr,
            auth_time=row.auth_time,
            clock=self._clock,
        )

    def find_introspected(self, token: str, hint: str | None) -> IssuedTokenRef | None:
        """The token a client introspects, or None: what :meth:`find_for_client_action` finds, for less.

        An access token's signature, algorithm and type are checked once per worker while its bytes and the
        published keys stay the same (:class:`~idp.oidc.verified_tokens.VerifiedAccessTokens`); whether it was
        revoked is read on every call, as before — for a user's token by one indexed read of its grant, SSO session
        and revoked ``jti`` (:mod:`idp.oidc.user_tokens`), for a token with a row (issued before) of its row and its
        grant's, for a machine token from the revoked records; the answer's fields are the token's own claims.
        """
        if token.count(".") != 2:  # a refresh token: its row says everything
            return self.find_for_client_action(token, hint)
        try:
            claims = self.verified.claims(token)
        except InvalidJwtError:
            return None
        jti = claims.get("jti")
        if isinstance(jti, str) and machine_client_of(jti) is not None:
            return self._machine_token(claims)
        if isinstance(jti, str) and sealed_grant_of(jti) is not None:
            return self._user_token(claims, jti)
        stated = _stated_access_token(claims)
        if stated is None or not jti:  # not the claims we write (never seen): read as a client action reads
            return self.find_for_client_action(token, hint)
        driver = self._db.driver
        if driver is not None:
            row = driver.first(_ACCESS_TOKEN_STATE_SQL, {"lookup": jti})
        else:
            row = self._read(_ACCESS_TOKEN_STATE, jti)
        if row is None:
            return None
        return self._access_ref(
            stated, token_id=row.id, grant_id=row.grant_id, expires_at=row.expires_at, revoked=not row.live
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
