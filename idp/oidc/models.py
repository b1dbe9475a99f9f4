"""The OpenID Provider's SQL state: clients, signing keys, codes, grants and tokens, SSO sessions, consents.

Only digests of opaque secrets are stored (client secrets, codes, refresh tokens, SSO session cookies, PAR
request URIs); access tokens are JWTs whose ``jti`` is kept so that they can be revoked and introspected.
Every short-lived thing lives here (or in Redis) rather than in a process, so that gunicorn workers share it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from antin.kernel.database import Base, UtcDateTime, utcnow

__all__ = [
    "AuthorizationCode",
    "BackchannelDelivery",
    "Client",
    "Consent",
    "Grant",
    "Interaction",
    "IssuedToken",
    "PushedRequest",
    "SessionClient",
    "SigningKey",
    "SsoSession",
    "UsedJti",
]

Json = JSON()


class Client(Base):
    """A relying party registered with ``antin clients add``."""

    __tablename__ = "oidc_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    redirect_uris: Mapped[list[str]] = mapped_column(Json, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(Json, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(2000), default=None)
    grant_types: Mapped[list[str]] = mapped_column(Json, default=list)
    scopes: Mapped[list[str]] = mapped_column(Json, default=list)
    required_acr: Mapped[str | None] = mapped_column(String(200), default=None)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(40))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(10), default="RS256")
    jwks_uri: Mapped[str | None] = mapped_column(String(2000), default=None)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(Json, default=None)
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # where the officials' portal links the application (its start page); none: not listed there
    home_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    # the directory unit whose client managers manage it (admin's delegation); "*": the whole platform's
    unit_code: Mapped[str] = mapped_column(String(64), default="*", server_default="*", index=True)
    # that unit's entryUUID when given: a later unit with the same code inherits nothing (None: not bound yet)
    unit_uuid: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class SigningKey(Base):
    """A signing key: the private half encrypted with a key derived from the instance secret."""

    __tablename__ = "oidc_signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10))
    private_pem: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # set when a newer key takes over signing; the key stays in the JWKS until ``unpublish_at``
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    unpublish_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class SsoSession(Base):
    """A signed-in browser. The cookie holds a random value; only its digest is here."""

    __tablename__ = "oidc_sso_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    cookie_digest: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    login: Mapped[str] = mapped_column(String(200))
    auth_time: Mapped[datetime] = mapped_column(UtcDateTime)
    acr: Mapped[str] = mapped_column(String(200))
    amr: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")

    clients: Mapped[list[SessionClient]] = relationship(back_populates="session", cascade="all, delete-orphan")


class SessionClient(Base):
    """A client that received tokens in an SSO session: it gets a logout token when the session ends."""

    __tablename__ = "oidc_session_client"
    __table_args__ = (UniqueConstraint("session_id", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("oidc_sso_session.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    first_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    session: Mapped[SsoSession] = relationship(back_populates="clients")


class Interaction(Base):
    """A validated authorization request waiting for the login interaction (login, MFA, consent)."""

    __tablename__ = "oidc_interaction"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_digest: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # what the interaction returned
    subject: Mapped[str | None] = mapped_column(String(64), default=None)
    auth_time: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    acr: Mapped[str | None] = mapped_column(String(200), default=None)
    amr: Mapped[list[str] | None] = mapped_column(Json, default=None)
    consented_scopes: Mapped[list[str] | None] = mapped_column(Json, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class PushedRequest(Base):
    """A pushed authorization request (RFC 9126); the request_uri's random part is stored as a digest."""

    __tablename__ = "oidc_pushed_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(Json)
    # the key the code must be redeemed with (RFC 9449 §10): the PAR request's DPoP proof or its dpop_jkt
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), default=None)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class AuthorizationCode(Base):
    __tablename__ = "oidc_authorization_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(Text, default=None)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10), default="S256")
    auth_time: Mapped[datetime] = mapped_column(UtcDateTime)
    acr: Mapped[str] = mapped_column(String(200))
    amr: Mapped[list[str]] = mapped_column(Json, default=list)
    sid: Mapped[str | None] = mapped_column(String(64), default=None)
    claims: Mapped[dict[str, Any] | None] = mapped_column(Json, default=None)
    resources: Mapped[list[str]] = mapped_column(Json, default=list)
    # RFC 9449 §10: only a DPoP proof of this key may redeem the code
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # the grant its first use created: revoked when the code is replayed
    # indexed: each grant the purge deletes sets its code's grant_id to NULL (migration p14cgix00014)
    grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("oidc_grant.id", ondelete="SET NULL"), default=None, index=True
    )


class Grant(Base):
    """What one code or one client_credentials request granted; its tokens (a refresh family) die with it."""

    __tablename__ = "oidc_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    scope: Mapped[str] = mapped_column(Text, default="")
    sid: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    auth_time: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    acr: Mapped[str | None] = mapped_column(String(200), default=None)
    amr: Mapped[list[str]] = mapped_column(Json, default=list)
    claims: Mapped[dict[str, Any] | None] = mapped_column(Json, default=None)
    resources: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(100), default=None)

    tokens: Mapped[list[IssuedToken]] = relationship(
        back_populates="grant",
        cascade="all, delete-orphan",
        primaryjoin="Grant.id == foreign(IssuedToken.grant_id)",
    )


class IssuedToken(Base):
    """An access token (by ``jti``) or a refresh token (by digest) of a grant."""

    __tablename__ = "oidc_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # no foreign key (migration r14nofk00013): a token's grant is the one its statement inserted or read, a grant is
    # deleted only with its tokens (idp/oidc/grant_purge.py), and every read of a token joins its grant, so a token
    # without one is unknown; the key's check cost each refresh a row lock on the grant (docs/benchmarks.md, "The
    # refresh grant's PostgreSQL cost")
    grant_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "access" or "refresh"
    lookup: Mapped[str] = mapped_column(String(64), unique=True)  # jti of an access token, digest of a refresh
    scope: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[list[str]] = mapped_column(Json, default=list)
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    grant: Mapped[Grant] = relationship(
        back_populates="tokens", primaryjoin="Grant.id == foreign(IssuedToken.grant_id)"
    )


class Consent(Base):
    """Scopes an official allowed a third-party client; the official can revoke it on their account page."""

    __tablename__ = "oidc_consent"
    __table_args__ = (UniqueConstraint("subject", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(Json, default=list)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BackchannelDelivery(Base):
    """A logout token waiting to be POSTed to a client's back-channel logout URI (retried with backoff)."""

    __tablename__ = "oidc_backchannel_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    uri: Mapped[str] = mapped_column(String(2000))
    logout_token: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    abandoned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)


class UsedJti(Base):
    """A ``jti`` already seen (client assertions, DPoP proofs), kept until it would have expired anyway."""

    __tablename__ = "oidc_used_jti"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
