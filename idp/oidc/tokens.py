"""Minting tokens: RFC 9068 access tokens, ID tokens and rotating refresh tokens, for every grant alike.

:class:`TokenService` is what the provider's grants and views call (``provider.tokens``): it mints here and hands
codes to :mod:`idp.oidc.codes`, look-ups to :mod:`idp.oidc.token_lookup` and revocation to
:mod:`idp.oidc.revocation`. A replayed code or a reused rotated refresh token revokes the whole grant.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from antin.kernel.audit.service import AuditLog
from antin.kernel.database import Database, utcnow
from idp.oidc.clients import ClientRecord
from idp.oidc.codes import AuthorizationCodes, CodeRequest, CodeView
from idp.oidc.grants import ACCESS_TOKEN_ALG, AccessTokenInfo, GrantContext, IssuedTokenRef, RefreshView, epoch
from idp.oidc.keys import SigningKeys
from idp.oidc.machine_tokens import MachineRevocations, machine_jti
from idp.oidc.random_secrets import digest, new_secret
from idp.oidc.refresh_tokens import RefreshContexts
from idp.oidc.revocation import TokenRevocation
from idp.oidc.sessions import StartingSession
from idp.oidc.token_driver import GrantIds
from idp.oidc.token_lookup import TokenLookup
from idp.oidc.token_store import Audited, TokenEvent, record_machine_token, rotate_carried, store_tokens
from idp.oidc.user_tokens import user_jti

__all__ = [
    "ACCESS_TOKEN_ALG",
    "AccessTokenInfo",
    "CodeRequest",
    "CodeView",
    "GrantContext",
    "IssuedTokenRef",
    "RefreshView",
    "TokenEvent",
    "TokenService",
    "half_hash",
]


def half_hash(value: str) -> str:
    """at_hash / c_hash for RS256 and ES256 (both SHA-256): left half, base64url."""
    h = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(h[: len(h) // 2]).rstrip(b"=").decode()


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
        secret_key: str,
        clock: Callable[[], datetime] = utcnow,
        audit_log: AuditLog | None = None,
    ) -> None:
        self._db = database
        self._audit_log = audit_log
        self._grant_ids = GrantIds()
        self._keys = keys
        self._clock = clock
        self.issuer = issuer
        self.access_ttl = timedelta(seconds=access_token_ttl)
        self.id_ttl = timedelta(seconds=id_token_ttl)
        self.refresh_ttl = timedelta(seconds=refresh_token_ttl)
        self.codes = AuthorizationCodes(database, ttl_seconds=code_ttl, clock=clock)
        self.machine = MachineRevocations(database, clock=clock)
        self.refresh_contexts = RefreshContexts(secret_key)
        self.lookup = TokenLookup(
            database, keys, issuer=issuer, clock=clock, machine=self.machine, contexts=self.refresh_contexts
        )
        self.revocation = TokenRevocation(database, clock=clock, machine=self.machine)
        self.code_ttl = self.codes.ttl

    @property
    def refreshes_in_one_statement(self) -> bool:
        """Whether a refresh token carrying its context is rotated by one statement (PostgreSQL's driver)."""
        return self._db.driver is not None and self._audit_log is not None

    # -- authorization codes (idp.oidc.codes) ---------------------------------------------------------------

    def create_code(self, req: CodeRequest) -> str:
        return self.codes.create(req)

    def create_code_taking_interaction(
        self, req: CodeRequest, iid: str, browser_token: str, *, starting: StartingSession | None = None
    ) -> str | None:
        return self.codes.create_taking_interaction(req, iid, browser_token, starting=starting)

    def redeem_code(self, code: str, client_id: str) -> tuple[CodeView | None, str]:
        """Claim a code for its one use. Returns (code, "") or (None, why); a replay revokes its grant."""
        return self.codes.redeem(code, client_id)

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
        rotating: str | None = None,
        grant_resources: tuple[str, ...] | None = None,
        session_client: bool = False,
        audit_as: TokenEvent | None = None,
    ) -> tuple[dict[str, Any], int]:
        """Mint an access token (and a refresh token, and an ID token when ``id_token_claims`` is given).

        ``id_token_claims`` are the user claims to put in the ID token besides the protocol ones. ``audit_as`` is
        the operation's audit entry, written with the tokens (:func:`idp.oidc.token_store.store_tokens`).
        ``rotating``: the digest of a refresh token of ``grant_id`` that carried ``ctx``
        (:mod:`idp.oidc.refresh_tokens`), rotated by the same statement only if it is still live (PostgreSQL's
        driver, audited; :class:`~idp.oidc.token_store.RefreshNotLiveError` otherwise, nothing written).
        ``grant_resources``: what the grant allows a refresh to ask for, when ``ctx.resources`` (the access token's
        audience) was narrowed by a ``resource`` parameter: the refresh token carries the grant's, as its row does.
        A refresh token minted for a known grant carries its context, and so does a new grant's when its id is drawn
        before its statement (PostgreSQL's driver, audited): its first refresh is one statement too. Returns the
        token response and the grant id.
        """
        # load the keys before the transaction: a first load may have to create them (another transaction)
        self._keys.signing_key(ACCESS_TOKEN_ALG)
        self._keys.signing_key(ctx.client.id_token_signed_response_alg)
        now = self._clock()
        audience = list(ctx.resources) or [self.issuer]
        expires = now + self.access_ttl
        at_claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": ctx.subject or ctx.client.client_id,
            "aud": audience[0] if len(audience) == 1 else audience,
            "exp": epoch(expires),
            "iat": epoch(now),
            "jti": "",  # names the grant (idp.oidc.user_tokens): set once its id is known
            "client_id": ctx.client.client_id,
            "scope": ctx.scope,
        }
        if ctx.auth_time is not None:
            at_claims["auth_time"] = epoch(ctx.auth_time)
        if ctx.acr:
            at_claims["acr"] = ctx.acr
        if ctx.amr:
            at_claims["amr"] = list(ctx.amr)
        if ctx.sid:
            at_claims["sid"] = ctx.sid
        if dpop_jkt:
            at_claims["cnf"] = {"jkt": dpop_jkt}
        # the access token has no row (idp.oidc.user_tokens): only the refresh token, if any, is stored
        tokens: list[dict[str, Any]] = []
        response: dict[str, Any] = {
            "access_token": "",
            "token_type": "DPoP" if dpop_jkt else "Bearer",
            "expires_in": int(self.access_ttl.total_seconds()),
            "scope": ctx.scope,
        }
        driver = self._db.driver
        new_grant_id: int | None = None
        if grant_id is None and rotating is None and driver is not None and audit_as is not None:
            # the id the audit entry, the access token's jti and the refresh token name, drawn before the statement
            new_grant_id = self._grant_ids.next(driver)
        known = grant_id if grant_id is not None else new_grant_id
        if refresh:
            kept = ctx if grant_resources is None else dataclasses.replace(ctx, resources=grant_resources)
            refresh_token = new_secret() if known is None else self.refresh_contexts.mint(known, kept)
            tokens.append(
                {
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
        if known is not None:
            # signed before anything is written: the statement holds no lock while the key signs
            at_claims["jti"] = user_jti(self.refresh_contexts.seal_grant_id(known))
            response["access_token"] = self._keys.sign(at_claims, alg=ACCESS_TOKEN_ALG, typ="at+jwt")
        if rotating is not None:
            audited = self._audited(audit_as)
            if grant_id is None or driver is None or audited is None:
                raise ValueError("a carried refresh is rotated on PostgreSQL's driver, audited, in its grant")
            carried = {"grant_id": grant_id, "client_id": ctx.client.client_id, "subject": ctx.subject}
            rotate_carried(driver, rotating, carried, tokens, now, audited)
        else:
            grant_id = self._store(
                ctx, tokens, now, grant_id, code_id, rotated_from, session_client, audit_as, new_grant_id
            )
        if known is None:
            # a new grant whose id only its statement told (SQLite, or without an audit entry): signed now, after
            # its writes and its audit entry are committed, before it is handed back
            at_claims["jti"] = user_jti(self.refresh_contexts.seal_grant_id(grant_id))
            response["access_token"] = self._keys.sign(at_claims, alg=ACCESS_TOKEN_ALG, typ="at+jwt")
        access_token: str = response["access_token"]
        if id_token_claims is not None and ctx.subject:
            response["id_token"] = self._id_token(ctx, now, nonce, access_token, id_token_claims)
        return response, grant_id

    def _store(
        self,
        ctx: GrantContext,
        tokens: list[dict[str, Any]],
        now: datetime,
        grant_id: int | None,
        code_id: int | None,
        rotated_from: int | None,
        session_client: bool,
        audit_as: TokenEvent | None,
        new_grant_id: int | None,
    ) -> int:
        return store_tokens(
            self._db,
            tokens,
            grant={
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
            now=now,
            grant_id=grant_id,
            new_grant_id=new_grant_id,
            code_id=code_id,
            rotated_from=rotated_from,
            session=(ctx.sid, ctx.client.client_id) if session_client and ctx.sid else None,
            audited=self._audited(audit_as),
        )

    def issue_machine_token(
        self, client: ClientRecord, scope: str, resources: tuple[str, ...], dpop_jkt: str | None, audit_as: TokenEvent
    ) -> dict[str, Any]:
        """A client_credentials grant's token response: an access token stored nowhere, only its audit entry
        (:mod:`idp.oidc.machine_tokens`), committed before the token is handed back."""
        now = self._clock()
        audience = list(resources) or [self.issuer]
        jti = machine_jti(client.client_id)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": client.client_id,
            "aud": audience[0] if len(audience) == 1 else audience,
            "exp": epoch(now + self.access_ttl),
            "iat": epoch(now),
            "jti": jti,
            "client_id": client.client_id,
            "scope": scope,
        }
        if dpop_jkt:
            claims["cnf"] = {"jkt": dpop_jkt}
        access_token = self._keys.sign(claims, alg=ACCESS_TOKEN_ALG, typ="at+jwt")
        if self._audit_log is None:
            raise RuntimeError("this token service was built without an audit log")
        record_machine_token(self._audit_log, audit_as, jti)
        return {
            "access_token": access_token,
            "token_type": "DPoP" if dpop_jkt else "Bearer",
            "expires_in": int(self.access_ttl.total_seconds()),
            "scope": scope,
        }

    def _audited(self, event: TokenEvent | None) -> Audited | None:
        if event is None:
            return None
        if self._audit_log is None:
            raise RuntimeError("this token service was built without an audit log")
        return Audited(self._audit_log, event, self._grant_ids)

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
                "exp": epoch(now + self.id_ttl),
                "iat": epoch(now),
                "at_hash": half_hash(access_token),
            }
        )
        if ctx.auth_time is not None:
            claims["auth_time"] = epoch(ctx.auth_time)
        if nonce:
            claims["nonce"] = nonce
        if ctx.acr:
            claims["acr"] = ctx.acr
        if ctx.amr:
            claims["amr"] = list(ctx.amr)
        if ctx.sid:
            claims["sid"] = ctx.sid
        return self._keys.sign(claims, alg=ctx.client.id_token_signed_response_alg)

    # -- reading (idp.oidc.token_lookup) -------------------------------------------------------------------

    def find_refresh(self, refresh_token: str, client: ClientRecord) -> tuple[RefreshView | None, str]:
        """A usable refresh token, or (None, why). A reused rotated token revokes its whole family."""
        return self.lookup.find_refresh(refresh_token, client)

    def verify_access_token(self, token: str) -> AccessTokenInfo | None:
        """A live access token of ours (signature, expiry, not revoked), or None."""
        return self.lookup.verify_access_token(token)

    def find_for_client_action(self, token: str, hint: str | None) -> IssuedTokenRef | None:
        """The token a client wants to revoke or introspect (either kind), or None."""
        return self.lookup.find_for_client_action(token, hint)

    def find_introspected(self, token: str, hint: str | None) -> IssuedTokenRef | None:
        """The token a client introspects, or None (its revocation read on every call)."""
        return self.lookup.find_introspected(token, hint)

    def live_client_ids(self, subject: str) -> list[str]:
        """Clients holding a live grant of this official (for the account page)."""
        return self.lookup.live_client_ids(subject)

    # -- revoking (idp.oidc.revocation) --------------------------------------------------------------------

    def revoke_token(self, ref: IssuedTokenRef) -> None:
        """Revoke an access token alone, or a refresh token with its whole grant (RFC 7009 allows both)."""
        self.revocation.revoke_token(ref)

    def revoke_grant(self, grant_id: int, reason: str) -> None:
        self.revocation.revoke_grant(grant_id, reason)

    def revoke_for_session(self, sid: str, reason: str) -> int:
        return self.revocation.revoke_for_session(sid, reason)

    def revoke_for_subject(self, subject: str, reason: str, client_id: str | None = None) -> int:
        return self.revocation.revoke_for_subject(subject, reason, client_id)
