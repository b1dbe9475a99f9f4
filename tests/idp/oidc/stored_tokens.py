"""Tokens as tests need them: an SSO session that lives (a user's access token is live only while its session
is), and an access token of the form the provider issued before user access tokens lost their row (a random
``jti`` and a row in ``oidc_token``): such tokens are read from their row until they expire."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.oidc.clients import ClientRecord
from idp.oidc.grants import ACCESS_TOKEN_ALG, GrantContext, epoch
from idp.oidc.interaction import AuthenticationResult
from idp.oidc.models import IssuedToken
from tests.idp.oidc_harness import LiveProvider

__all__ = ["live_sid", "stored_access_token", "verified_access_token"]


def live_sid(op: LiveProvider, subject: str = "an.nguyen") -> str:
    """The sid of a new SSO session of ``subject`` (started now, live until its absolute limit)."""
    result = AuthenticationResult(subject, op.instance.clock(), "urn:antin:acr:password", ("pwd",), subject)
    _cookie, view = op.provider.sessions.start(result)
    return view.sid


def stored_access_token(
    op: LiveProvider,
    client: ClientRecord,
    *,
    subject: str | None = "an.nguyen",
    scope: str = "openid profile",
    sid: str | None = None,
) -> tuple[str, str, int]:
    """An access token as the provider issued it until now: its grant, a row with its random ``jti``, the token
    signed with the same claims. Returns (token, jti, grant id)."""
    _response, grant_id = op.provider.tokens.issue(GrantContext(client=client, subject=subject, scope=scope, sid=sid))
    now = op.instance.clock()
    expires = now + timedelta(seconds=op.provider.tokens.access_ttl.total_seconds())
    jti = secrets.token_urlsafe(18)
    claims: dict[str, Any] = {
        "iss": op.issuer,
        "sub": subject or client.client_id,
        "aud": op.issuer,
        "exp": epoch(expires),
        "iat": epoch(now),
        "jti": jti,
        "client_id": client.client_id,
        "scope": scope,
    }
    if sid:
        claims["sid"] = sid
    with op.instance.database.session() as s:
        s.add(
            IssuedToken(
                grant_id=grant_id,
                kind="access",
                lookup=jti,
                scope=scope,
                audience=[op.issuer],
                created_at=now,
                expires_at=expires,
            )
        )
    return op.provider.keys.sign(claims, alg=ACCESS_TOKEN_ALG, typ="at+jwt"), jti, grant_id


def verified_access_token(op: LiveProvider, access_token: str) -> dict[str, Any]:
    """An access token's claims, checked by joserfc against the published JWKS as a resource server would."""
    keys = KeySet.import_key_set(requests.get(op.issuer + "/jwks.json", timeout=10).json())
    token = jwt.decode(access_token, keys, algorithms=["ES256"])
    assert token.header["typ"] == "at+jwt"
    return dict(token.claims)
