"""The rules of the token endpoint's grants and of introspection, as plain functions over a client's record.

authlib's grants and endpoints (:mod:`idp.oidc.server`) and the fast path in front of Flask
(:mod:`idp.oidc.fastpath`) call the same functions, so that a token, a refusal, an audit entry or an
introspection answer never depends on which of them read the HTTP request. Refusals are authlib's
``OAuth2Error`` classes (each turns into the standard JSON error body).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN, compare_s256_code_challenge

from directory.errors import DirectoryUnavailableError
from idp.oidc.clients import ClientRecord
from idp.oidc.codes import CodeView
from idp.oidc.errors import InvalidTargetError, RefreshReusedError, TemporarilyUnavailableError
from idp.oidc.grants import GrantContext, IssuedTokenRef, RefreshView
from idp.oidc.random_secrets import digest
from idp.oidc.service import OidcProvider
from idp.oidc.token_store import RefreshNotLiveError, TokenEvent

__all__ = [
    "check_code_redirect_uri",
    "check_code_verifier",
    "check_refresh_scope",
    "client_credentials_token",
    "code_token",
    "find_introspected_token",
    "find_refresh_token",
    "id_token_claims",
    "introspection_answer",
    "introspection_body",
    "may_introspect",
    "redeem_code",
    "refresh_in_one_statement",
    "refreshed_token",
    "requested_resources",
]

log = logging.getLogger(__name__)


def requested_resources(values: Sequence[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    """RFC 8707 at the token endpoint: a subset of what the authorization allowed (or anything, if nothing was)."""
    for uri in values:
        try:
            parts = urlsplit(uri)
        except ValueError:  # "http://[x": urlsplit refuses a malformed IPv6 host
            raise InvalidTargetError("resource must be an absolute URI without a fragment") from None
        if not parts.scheme or not parts.netloc or parts.fragment:
            raise InvalidTargetError("resource must be an absolute URI without a fragment")
    if not values:
        return allowed
    if allowed and not set(values) <= set(allowed):
        raise InvalidTargetError("resource was not part of the authorization")
    return tuple(values)


def id_token_claims(provider: OidcProvider, ctx: GrantContext) -> dict[str, Any] | None:
    """None when no ID token is due (no openid scope); the directory being down is a 503, not a 500."""
    if "openid" not in ctx.scope.split():
        return None
    try:
        return provider.id_token_user_claims(ctx)
    except DirectoryUnavailableError as err:
        raise TemporarilyUnavailableError("the directory is not reachable") from err


def client_credentials_token(
    provider: OidcProvider,
    client: ClientRecord,
    *,
    scope: str | None,
    resources: Sequence[str],
    dpop_jkt: str | None,
    ip: str | None,
) -> dict[str, Any]:
    """The token response of a client_credentials grant to an authenticated client allowed that grant: a machine
    token (:mod:`idp.oidc.machine_tokens`)."""
    requested = (scope or "").split()
    allowed = [s for s in client.scopes if s != "openid"]
    if requested and not set(requested) <= set(allowed):
        raise InvalidScopeError()
    granted = " ".join(requested)
    audience = requested_resources(resources, ())
    dpop = provider.dpop_for_token_request(client, dpop_jkt)
    event = TokenEvent(
        "oauth:token:issue",
        actor=client.client_id,
        client_id=client.client_id,
        ip=ip,
        details={"grant_type": "client_credentials", "scope": granted},
    )
    # stored nowhere but in the audit log (idp.oidc.machine_tokens)
    return provider.tokens.issue_machine_token(client, granted, audience, dpop, event)


def redeem_code(provider: OidcProvider, client: ClientRecord, code: str, ip: str | None) -> CodeView | None:
    """The code, claimed for its one use by this client, or None (unknown, another client's, expired, or used:
    a replayed code has revoked what it was redeemed for, and is audited as a replay)."""
    view, why = provider.tokens.redeem_code(code, client.client_id)
    if view is None:
        log.info("code refused: %s", why)
        if why == "code replayed":
            provider.audit.record("oauth:code:replay", client_id=client.client_id, ip=ip)
    return view


def check_code_redirect_uri(redirect_uri: str | None, code: CodeView) -> None:
    """RFC 6749 §4.1.3: the redirect URI of the authorization request, sent again (authlib's words)."""
    original = code.get_redirect_uri()
    if original and redirect_uri != original:
        raise InvalidGrantError("Invalid 'redirect_uri' in request.")


def check_code_verifier(verifier: str | None, code: CodeView, *, public: bool) -> None:
    """PKCE at the token endpoint (RFC 7636 §4.6), in authlib's order and words (``CodeChallenge``); every code has
    an S256 challenge (``plain`` is refused at /authorize)."""
    if public and not verifier:
        raise InvalidRequestError("Missing 'code_verifier'")
    challenge = code.code_challenge
    if not challenge and not verifier:
        return
    if not challenge:
        raise InvalidRequestError(
            "The authorization request had no 'code_challenge', but a 'code_verifier' was provided."
        )
    if not verifier:
        raise InvalidRequestError("Missing 'code_verifier'")
    if not CODE_VERIFIER_PATTERN.match(verifier):
        raise InvalidRequestError("Invalid 'code_verifier'")
    if code.code_challenge_method != "S256" or not compare_s256_code_challenge(verifier, challenge):
        raise InvalidGrantError(description="Code challenge failed.")


def code_token(
    provider: OidcProvider,
    client: ClientRecord,
    code: CodeView,
    *,
    resources: Sequence[str],
    dpop_jkt: str | None,
    refresh: bool,
    ip: str | None,
) -> dict[str, Any]:
    """The token response of a redeemed code whose redirect URI and verifier were checked: access token, ID token
    (with the sign-in's acr, amr and auth_time) and, if the client may refresh, a refresh token."""
    req = code.request
    dpop = provider.dpop_for_token_request(client, dpop_jkt)
    if req.dpop_jkt and dpop != req.dpop_jkt:
        # RFC 9449 §10: a code bound at /par or with dpop_jkt is redeemed only with a proof of that key
        log.info("code refused: bound to another DPoP key, or sent without a proof")
        raise InvalidGrantError("the code is bound to another DPoP key")
    ctx = GrantContext(
        client=client,
        subject=req.subject,
        scope=req.scope,
        sid=req.sid,
        auth_time=req.auth_time,
        acr=req.acr,
        amr=req.amr,
        claims=req.claims,
        resources=requested_resources(resources, req.resources),
    )
    id_claims = id_token_claims(provider, ctx)
    token, _ = provider.tokens.issue(
        ctx,
        code_id=code.id,
        nonce=req.nonce,
        dpop_jkt=dpop,
        refresh=refresh,
        id_token_claims=id_claims,
        session_client=True,
        audit_as=TokenEvent(
            "oauth:token:issue",
            actor=req.subject,
            subject=req.subject,
            client_id=client.client_id,
            ip=ip,
            details={"grant_type": "authorization_code", "scope": req.scope, "dpop": bool(dpop)},
        ),
    )
    return token


def find_refresh_token(
    provider: OidcProvider, client: ClientRecord, refresh_token: str, ip: str | None
) -> RefreshView | None:
    """The live refresh token, or None; a reused rotated token revokes its family and is audited as a reuse."""
    view, why = provider.tokens.find_refresh(refresh_token, client)
    if view is None:
        log.info("refresh token refused: %s", why)
        if "reused" in why:
            provider.audit.record("oauth:token:reuse", client_id=client.client_id, ip=ip)
    return view


def check_refresh_scope(requested: str | None, view: RefreshView) -> None:
    """A refresh may narrow the scope, never widen it (RFC 6749 §6; authlib's ``_validate_token_scope``)."""
    if not requested:
        return
    if not view.scope or not set(view.scope.split()) >= set(requested.split()):
        raise InvalidScopeError()


def refreshed_token(
    provider: OidcProvider,
    client: ClientRecord,
    view: RefreshView,
    *,
    scope: str | None,
    resources: Sequence[str],
    dpop_jkt: str | None,
    ip: str | None,
) -> dict[str, Any]:
    """The token response of a refresh: the token rotated, the grant's session and account still live."""
    dpop = provider.dpop_for_token_request(client, dpop_jkt)
    if view.dpop_jkt and dpop != view.dpop_jkt:
        raise InvalidGrantError("refresh token is bound to another DPoP key")
    ctx = view.context
    if ctx.sid and not view.session_live:  # read with the token (TokenLookup.find_refresh)
        # refresh tokens live no longer than the sign-in they came from (there is no offline_access)
        provider.tokens.revoke_grant(view.grant_id, "session ended")
        raise InvalidGrantError("the session this token belongs to has ended")
    if ctx.subject:
        try:
            active = provider.directory.is_active(ctx.subject)
        except DirectoryUnavailableError as err:
            raise TemporarilyUnavailableError("the directory is not reachable") from err
        if not active:
            provider.tokens.revoke_grant(view.grant_id, "account no longer active")
            raise InvalidGrantError("the account is no longer active")
    ctx = GrantContext(
        client=client,
        subject=ctx.subject,
        scope=scope or view.scope,
        sid=ctx.sid,
        auth_time=ctx.auth_time,
        acr=ctx.acr,
        amr=ctx.amr,
        claims=ctx.claims,
        resources=requested_resources(resources, ctx.resources),
    )
    claims = id_token_claims(provider, ctx)
    try:
        token, _ = provider.tokens.issue(
            ctx,
            grant_id=view.grant_id,
            dpop_jkt=dpop,
            refresh=True,
            id_token_claims=claims,
            rotated_from=view.token_id,
            grant_resources=view.context.resources,
            audit_as=TokenEvent("oauth:token:refresh", subject=ctx.subject, client_id=client.client_id, ip=ip),
        )
    except RefreshReusedError as err:
        if not err.audited:  # written with the statement that found it, on PostgreSQL
            provider.audit.record("oauth:token:reuse", client_id=client.client_id, ip=ip)
        raise InvalidGrantError("refresh token already used") from None
    return token


def refresh_in_one_statement(
    provider: OidcProvider, client: ClientRecord, refresh_token: str, *, scope: str | None, ip: str | None
) -> dict[str, Any] | None:
    """The token response of a refresh whose token carries its grant's context (:mod:`idp.oidc.refresh_tokens`),
    written by one statement that rotates the token only if it is still live; None when this cannot answer — no
    context, no PostgreSQL driver, a client that is public or bound to DPoP, a scope the token does not cover, an
    account not active or a directory not reachable, a token not live — and nothing was written: the caller then
    refreshes the usual way (:func:`find_refresh_token`, :func:`refreshed_token`), which finds the reason and
    answers it. The checks are :func:`refreshed_token`'s: the account's status read before anything is written,
    the token's liveness, client, DPoP binding and SSO session by the statement."""
    if not provider.tokens.refreshes_in_one_statement or client.public or client.dpop_bound_access_tokens:
        return None
    carried = provider.tokens.refresh_contexts.read(refresh_token)
    if carried is None:
        return None
    if scope and not set(carried.scope.split()) >= set(scope.split()):
        return None
    if carried.subject:
        try:
            if not provider.directory.is_active(carried.subject):
                return None
        except DirectoryUnavailableError:
            return None
    ctx = GrantContext(
        client=client,
        subject=carried.subject,
        scope=scope or carried.scope,
        sid=carried.sid,
        auth_time=carried.auth_time,
        acr=carried.acr,
        amr=carried.amr,
        claims=carried.claims,
        resources=carried.resources,
    )
    try:
        claims = id_token_claims(provider, ctx)
    except TemporarilyUnavailableError:
        return None
    try:
        token, _ = provider.tokens.issue(
            ctx,
            grant_id=carried.grant_id,
            refresh=True,
            id_token_claims=claims,
            rotating=digest(refresh_token),
            audit_as=TokenEvent("oauth:token:refresh", subject=ctx.subject, client_id=client.client_id, ip=ip),
        )
    except RefreshNotLiveError:
        return None
    return token


def find_introspected_token(provider: OidcProvider, token_string: str, hint: str | None) -> IssuedTokenRef | None:
    """The token a client introspects, or None; revoked when its client is disabled or gone (as a resource server
    is told: :meth:`idp.oidc.resource.ResourceServerChecks.access_token_revoked`)."""
    token = provider.tokens.find_introspected(token_string, hint)
    if token is not None and not token.revoked and provider.clients.active(token.client_id) is None:
        return dataclasses.replace(token, revoked=True)
    return token


def may_introspect(token: IssuedTokenRef, client: ClientRecord) -> bool:
    """The client the token was issued to, a resource server it is meant for, or a first-party service."""
    return token.client_id == client.client_id or client.client_id in token.audience or client.trusted


def introspection_answer(provider: OidcProvider, token: IssuedTokenRef | None, client: ClientRecord) -> dict[str, Any]:
    """RFC 7662's answer: ``{"active": false}`` for a token unknown, expired, revoked or not the client's to see
    (in authlib's order: its ``IntrospectionEndpoint.create_introspection_payload``)."""
    if token is None or not may_introspect(token, client) or token.is_expired() or token.is_revoked():
        return {"active": False}
    return introspection_body(provider, token)


def introspection_body(provider: OidcProvider, token: IssuedTokenRef) -> dict[str, Any]:
    """What introspection says of a live token the client may see."""
    body: dict[str, Any] = {
        "active": True,
        "iss": provider.issuer,
        "client_id": token.client_id,
        "scope": token.scope,
        "token_type": "refresh_token" if token.kind == "refresh" else ("DPoP" if token.dpop_jkt else "Bearer"),
        "exp": int(token.expires_at.timestamp()),
        "iat": int(token.issued_at.timestamp()),
        "sub": token.subject or token.client_id,
    }
    if token.audience:
        body["aud"] = list(token.audience)
    if token.sid:
        body["sid"] = token.sid
    if token.acr:
        body["acr"] = token.acr
    if token.auth_time:
        body["auth_time"] = int(token.auth_time.timestamp())
    if token.dpop_jkt and token.kind == "access":
        body["cnf"] = {"jkt": token.dpop_jkt}
    return body
