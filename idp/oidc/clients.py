"""Registered clients: the registry behind ``antin clients`` (authlib sees them through :mod:`idp.oidc.client_auth`).

A client is public (no secret, PKCE only, ``token_endpoint_auth_method=none``) or confidential
(``client_secret_basic``/``client_secret_post`` with a secret shown once and stored as a digest, or
``private_key_jwt`` with registered keys). Trusted clients are first-party: their users are not asked to consent.

A client's ``scopes`` is the operator's allow-list: a client gets no scope it was not registered for, trusted or
not. The signing scopes (:data:`SIGNING_SCOPES`) let an application sign documents in an official's name through
``/api/signing``: a client has them only when an operator names them (``antin clients add --scope signing:sign``
or ``antin clients set-scopes``), never by default and never because it is trusted; so do the ``admin`` and
``scim`` scopes (:data:`ADMIN_SCOPES`) of ``/api/admin`` and ``/scim/v2``.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from antin.kernel.caches import CacheSize, register_instance_cache
from antin.kernel.database import Database, utcnow
from antin.kernel.instance import Instance
from antin.kernel.outbound import OutboundPolicy, outbound_policy, registration_problem
from idp.oidc.acr import ACR_VALUES
from idp.oidc.client_changes import ClientChanges, NoChangeNotices, RedisChangeNotices
from idp.oidc.client_secrets import ClientSecretDigests, SecretCheck
from idp.oidc.errors import ClientAddressRefusedError, ClientChangedError, ClientError
from idp.oidc.models import Client
from idp.oidc.random_secrets import new_secret

__all__ = [
    "ADMIN_SCOPES",
    "AUTH_METHODS",
    "DEFAULT_SCOPES",
    "GRANT_TYPES",
    "IDENTITY_SCOPES",
    "PLATFORM_UNIT",
    "SECRET_METHODS",
    "SIGNING_SCOPES",
    "SUPPORTED_SCOPES",
    "ClientChangedError",
    "ClientError",
    "ClientRecord",
    "ClientRegistry",
    "ClientSpec",
    "client_registry",
]

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
IDENTITY_SCOPES = ("openid", "profile", "email", "phone", "party")
# what /api/signing asks for: signing in the official's name, verifying signed documents, and sending documents
# for officials to sign in their browser (/api/signing/requests)
SIGNING_SCOPES = ("signing:sign", "signing:verify", "signing:request")
# what /api/admin asks for; what the bearer may then do is decided by their grants (antin admin grant)
ADMIN_SCOPES = ("admin", "scim")  # /api/admin; SCIM provisioning (/scim/v2, client_credentials)
SUPPORTED_SCOPES = IDENTITY_SCOPES + SIGNING_SCOPES + ADMIN_SCOPES
# what a client gets when the operator names no scope: never the signing ones
DEFAULT_SCOPES = IDENTITY_SCOPES
ID_TOKEN_ALGS = ("RS256", "ES256")
MAX_URIS = 50  # redirect or post-logout URIs of one client
PLATFORM_UNIT = "*"  # a client of the whole platform: only client managers of the whole directory manage it
_CACHE_LIMIT = 10_000  # clients kept per process; beyond it the cache starts afresh


@dataclass(frozen=True)
class ClientSpec:
    """What ``antin clients add`` registers."""

    name: str
    redirect_uris: tuple[str, ...] = ()
    public: bool = False
    trusted: bool = False
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    required_acr: str | None = None
    auth_method: str | None = None  # default: none for public clients, client_secret_basic otherwise
    jwks_uri: str | None = None
    jwks: dict[str, Any] | None = None
    id_token_signed_response_alg: str = "RS256"
    dpop_bound_access_tokens: bool = False
    client_id: str | None = None  # default: generated
    home_url: str | None = None  # the application's start page, listed on the officials' portal
    unit_code: str = PLATFORM_UNIT  # the directory unit whose client managers manage it
    unit_uuid: str | None = None  # that unit's entryUUID (admin's delegation tells a deleted unit's clients by it)


@dataclass(frozen=True)
class ClientRecord:
    """A registered client as the rest of the code and the CLI see it (never its secret)."""

    client_id: str
    name: str
    public: bool
    trusted: bool
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    backchannel_logout_uri: str | None
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    required_acr: str | None
    token_endpoint_auth_method: str
    id_token_signed_response_alg: str
    jwks_uri: str | None
    jwks: dict[str, Any] | None
    dpop_bound_access_tokens: bool
    disabled: bool
    created_at: datetime
    secret_rotated_at: datetime | None
    secret_digest: str | None = field(default=None, repr=False)
    home_url: str | None = None
    unit_code: str = "*"
    unit_uuid: str | None = None

    @classmethod
    def from_row(cls, row: Client) -> ClientRecord:
        return cls(
            client_id=row.client_id,
            name=row.name,
            public=row.public,
            trusted=row.trusted,
            redirect_uris=tuple(row.redirect_uris),
            post_logout_redirect_uris=tuple(row.post_logout_redirect_uris),
            backchannel_logout_uri=row.backchannel_logout_uri,
            grant_types=tuple(row.grant_types),
            scopes=tuple(row.scopes),
            required_acr=row.required_acr,
            token_endpoint_auth_method=row.token_endpoint_auth_method,
            id_token_signed_response_alg=row.id_token_signed_response_alg,
            jwks_uri=row.jwks_uri,
            jwks=row.jwks,
            dpop_bound_access_tokens=row.dpop_bound_access_tokens,
            disabled=row.disabled,
            created_at=row.created_at,
            secret_rotated_at=row.secret_rotated_at,
            secret_digest=row.secret_digest,
            home_url=row.home_url,
            unit_code=row.unit_code,
            unit_uuid=row.unit_uuid,
        )

    def as_spec(self) -> ClientSpec:
        """The registration as a spec, to change a few fields of and register again (:meth:`ClientRegistry.replace`)."""
        return ClientSpec(
            name=self.name,
            redirect_uris=self.redirect_uris,
            public=self.public,
            trusted=self.trusted,
            post_logout_redirect_uris=self.post_logout_redirect_uris,
            backchannel_logout_uri=self.backchannel_logout_uri,
            grant_types=self.grant_types,
            scopes=self.scopes,
            required_acr=self.required_acr,
            auth_method=self.token_endpoint_auth_method,
            jwks_uri=self.jwks_uri,
            jwks=self.jwks,
            id_token_signed_response_alg=self.id_token_signed_response_alg,
            dpop_bound_access_tokens=self.dpop_bound_access_tokens,
            client_id=self.client_id,
            home_url=self.home_url,
            unit_code=self.unit_code,
            unit_uuid=self.unit_uuid,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_name": self.name,
            "public": self.public,
            "trusted": self.trusted,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "backchannel_logout_uri": self.backchannel_logout_uri,
            "grant_types": list(self.grant_types),
            "scope": " ".join(self.scopes),
            "required_acr": self.required_acr,
            # the same level by its name in OpenID Connect Dynamic Client Registration (here it is required)
            "default_acr_values": [self.required_acr] if self.required_acr else [],
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
            "jwks_uri": self.jwks_uri,
            "jwks": self.jwks,
            "dpop_bound_access_tokens": self.dpop_bound_access_tokens,
            "disabled": self.disabled,
            "home_url": self.home_url,
            "unit": self.unit_code,
            "created_at": self.created_at.isoformat(),
            "secret_rotated_at": self.secret_rotated_at.isoformat() if self.secret_rotated_at else None,
        }


def _check_uri(field: str, uri: str, *, production: bool = False) -> None:
    if len(uri) > 2000:
        raise ClientError(field, "must be at most 2000 characters")
    parts = urlsplit(uri)
    if parts.fragment:
        raise ClientError(field, f"{uri!r} must not contain a fragment")
    if parts.scheme == "https" and parts.netloc:
        return
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return  # loopback: a native app or a developer's machine (RFC 8252)
    if parts.scheme == "http" and parts.netloc:
        if production:
            raise ClientError(field, f"{uri!r}: plain http is refused in production (use https)")
        return
    if parts.scheme and "." in parts.scheme and not parts.netloc.startswith("/"):
        return  # private-use scheme of a native app (com.example.app:/callback)
    raise ClientError(field, f"{uri!r} is not an absolute http(s) URI")


def _check_home_url(uri: str, *, production: bool = False) -> None:
    """A page officials open from the portal: http(s) only (a link must never run script or open an app)."""
    if urlsplit(uri).scheme not in ("http", "https"):
        raise ClientError("home_url", f"{uri!r} is not an absolute http(s) URL")
    _check_uri("home_url", uri, production=production)


def validate_spec(spec: ClientSpec, *, production: bool = False) -> ClientSpec:
    if spec.home_url:
        _check_home_url(spec.home_url, production=production)
    if not spec.name.strip():
        raise ClientError("name", "must not be empty")
    for grant in spec.grant_types:
        if grant not in GRANT_TYPES:
            raise ClientError("grant_type", f"{grant!r} is not one of {', '.join(GRANT_TYPES)}")
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        raise ClientError("redirect_uri", "at least one is required for the authorization_code grant")
    for field_name, uris in (("redirect_uri", spec.redirect_uris), ("post_logout_uri", spec.post_logout_redirect_uris)):
        if len(uris) > MAX_URIS:
            raise ClientError(field_name, f"at most {MAX_URIS} URIs")
    for uri in spec.redirect_uris:
        _check_uri("redirect_uri", uri, production=production)
    for uri in spec.post_logout_redirect_uris:
        _check_uri("post_logout_uri", uri, production=production)
    if spec.backchannel_logout_uri:
        _check_uri("backchannel_logout_uri", spec.backchannel_logout_uri, production=production)
    _check_scopes(spec.scopes)
    method = spec.auth_method or ("none" if spec.public else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise ClientError("auth_method", f"{method!r} is not one of {', '.join(AUTH_METHODS)}")
    if spec.public and method != "none":
        raise ClientError("auth_method", "a public client authenticates with 'none'")
    if not spec.public and method == "none":
        raise ClientError("auth_method", "a confidential client needs a secret or private_key_jwt")
    if spec.public and "client_credentials" in spec.grant_types:
        raise ClientError("grant_type", "a public client cannot use client_credentials")
    if method == "private_key_jwt" and not (spec.jwks or spec.jwks_uri):
        raise ClientError("jwks", "private_key_jwt needs --jwks or --jwks-uri")
    if spec.jwks is not None and not isinstance(spec.jwks.get("keys"), list):
        raise ClientError("jwks", "must be a JWK Set: an object with a 'keys' array")
    if spec.jwks_uri:
        _check_uri("jwks_uri", spec.jwks_uri, production=production)
    if spec.id_token_signed_response_alg not in ID_TOKEN_ALGS:
        raise ClientError("id_token_alg", f"must be one of {', '.join(ID_TOKEN_ALGS)}")
    if spec.required_acr is not None and spec.required_acr not in ACR_VALUES:
        raise ClientError("required_acr", f"unknown level {spec.required_acr!r}")
    if not (0 < len(spec.unit_code) <= 64):
        raise ClientError("unit", "must be a unit's code or *")
    if len(spec.name.strip()) > 200:
        raise ClientError("name", "must be at most 200 characters")
    if spec.client_id is not None and not (0 < len(spec.client_id) <= 64 and spec.client_id.isprintable()):
        raise ClientError("client_id", "must be 1 to 64 printable characters")
    return spec


def _check_scopes(scopes: tuple[str, ...]) -> None:
    if not scopes:
        raise ClientError("scope", "at least one scope is required")
    for scope in scopes:
        if scope not in SUPPORTED_SCOPES:
            raise ClientError("scope", f"{scope!r} is not one of {', '.join(SUPPORTED_SCOPES)}")


def new_client_id() -> str:
    """A random client_id that is safe on a command line: it never starts with "-" (an option to a shell tool)."""
    while True:
        client_id = secrets.token_urlsafe(18)
        if client_id[0] != "-":
            return client_id


class ClientRegistry:
    """Create, read, rotate and disable clients.

    :meth:`active` answers from a per-process cache for ``cache_seconds`` (every token, introspection and
    authorization request asks for its client). A change made through a registry — ``antin clients disable``,
    ``rotate-secret``, ``set-scopes`` — drops the client from this process's cache at once and is announced to
    the others through ``changes`` (:mod:`idp.oidc.client_changes`: Redis pub/sub when configured); without a
    channel, another process sees it within ``cache_seconds``. Secrets are stored and checked as
    :mod:`idp.oidc.client_secrets` says, under a key derived from ``secret_key`` (the instance secret).
    """

    def __init__(
        self,
        database: Database,
        *,
        secret_key: str,
        production: bool = False,
        cache_seconds: float = 0.0,
        changes: ClientChanges | None = None,
        clock: Callable[[], datetime] = utcnow,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._production = production
        # where the server will itself send requests (back-channel logout, jwks_uri): refused at registration too
        self._outbound = outbound or outbound_policy((), production=production)
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ClientRecord]] = {}
        register_instance_cache("oidc-clients", self, lambda clients: CacheSize(len(clients._cache)))
        self._digests = ClientSecretDigests(secret_key)
        self._changes: ClientChanges = changes or NoChangeNotices()

    def _check_called_uris(self, spec: ClientSpec, *, before: ClientRecord | None = None) -> None:
        """Refuse a new back-channel logout URI or jwks_uri whose host resolves where the server may not call.

        One kept unchanged is not checked again: editing a client's name must not fail on its DNS of the day.
        """
        for field_name, uri, kept in (
            ("backchannel_logout_uri", spec.backchannel_logout_uri, before and before.backchannel_logout_uri),
            ("jwks_uri", spec.jwks_uri, before and before.jwks_uri),
        ):
            if uri and uri != kept and (why := registration_problem(uri, self._outbound)):
                raise ClientAddressRefusedError(field_name, f"{uri!r}: the server does not call this address: {why}")

    def add(self, spec: ClientSpec) -> tuple[ClientRecord, str | None]:
        """Register a client; return it and its secret (shown once), or None for other methods."""
        spec = validate_spec(spec, production=self._production)
        self._check_called_uris(spec)
        method = spec.auth_method or ("none" if spec.public else "client_secret_basic")
        secret = new_secret() if method in SECRET_METHODS else None
        client_id = spec.client_id or new_client_id()
        with self._db.session() as s:
            if s.scalar(select(Client.id).where(Client.client_id == client_id)) is not None:
                raise ClientError("client_id", f"{client_id!r} is already registered")
            row = Client(
                client_id=client_id,
                name=spec.name.strip(),
                secret_digest=self._digests.digest(secret) if secret else None,
                public=spec.public,
                trusted=spec.trusted,
                redirect_uris=list(spec.redirect_uris),
                post_logout_redirect_uris=list(spec.post_logout_redirect_uris),
                backchannel_logout_uri=spec.backchannel_logout_uri,
                grant_types=list(dict.fromkeys(spec.grant_types)),
                scopes=list(dict.fromkeys(spec.scopes)),
                required_acr=spec.required_acr,
                token_endpoint_auth_method=method,
                id_token_signed_response_alg=spec.id_token_signed_response_alg,
                jwks_uri=spec.jwks_uri,
                jwks=spec.jwks,
                dpop_bound_access_tokens=spec.dpop_bound_access_tokens,
                home_url=spec.home_url,
                unit_code=spec.unit_code,
                unit_uuid=spec.unit_uuid,
            )
            s.add(row)
            s.flush()
            record = ClientRecord.from_row(row)
        self.forget(client_id)
        return record, secret

    def get(self, client_id: str) -> ClientRecord | None:
        with self._db.reading() as s:
            row = s.scalar(select(Client).where(Client.client_id == client_id))
            return ClientRecord.from_row(row) if row else None

    def active(self, client_id: str) -> ClientRecord | None:
        """The client if it exists and is not disabled (cached, see the class)."""
        if self._cache_seconds > 0:
            self._changes.listen(self.forget)  # once per process: a forked worker starts its own listener
        now = time.monotonic()
        cached = self._cache.get(client_id)
        record: ClientRecord | None
        if cached is not None and cached[0] > now:
            record = cached[1]
        else:
            record = self.get(client_id)
            # an unknown client_id is not cached: a client just registered elsewhere is found at once
            if record is not None and self._cache_seconds > 0:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[client_id] = (now + self._cache_seconds, record)
        return record if record is not None and not record.disabled else None

    def active_fresh(self, client_id: str) -> ClientRecord | None:
        """Like :meth:`active`, read from the database now."""
        self.forget(client_id)
        return self.active(client_id)

    def check_secret(self, record: ClientRecord, secret: str) -> ClientRecord | None:
        """The client's record when ``secret`` is its secret, else None (compared in constant time).

        A cached record may be older than a secret rotated a moment ago: a wrong secret reads the registration
        again once. A right secret stored in the old form (plain SHA-256) is stored again in the new one.
        """
        verdict = self._digests.check(secret, record.secret_digest)
        if verdict is SecretCheck.WRONG:
            fresh = self.active_fresh(record.client_id)
            if fresh is None or fresh.secret_digest == record.secret_digest:
                return None
            record, verdict = fresh, self._digests.check(secret, fresh.secret_digest)
        if verdict is SecretCheck.WRONG:
            return None
        if verdict is SecretCheck.RIGHT_OLD_FORM:
            record = self._store_new_form(record, secret)
        return record

    def _store_new_form(self, record: ClientRecord, secret: str) -> ClientRecord:
        new = self._digests.digest(secret)
        with self._db.session() as s:
            # only if nobody rotated it meanwhile; another worker upgrading the same digest changes nothing
            s.execute(
                update(Client)
                .where(Client.client_id == record.client_id, Client.secret_digest == record.secret_digest)
                .values(secret_digest=new)
            )
        upgraded = dataclasses.replace(record, secret_digest=new)
        cached = self._cache.get(record.client_id)
        if cached is not None:
            self._cache[record.client_id] = (cached[0], upgraded)
        return upgraded

    def changed(self, client_id: str) -> None:
        """A registration changed here: drop it from this process's cache and tell the others."""
        self.forget(client_id)
        self._changes.announce(client_id)

    def close(self) -> None:
        """Stop hearing other processes' change notices (the instance is closing)."""
        self._changes.close()

    def forget(self, client_id: str | None = None) -> None:
        """Drop cached clients (one, or all) so that the next lookup reads the database."""
        if client_id is None:
            self._cache.clear()
        else:
            self._cache.pop(client_id, None)

    def list(self) -> list[ClientRecord]:
        with self._db.session() as s:
            return [ClientRecord.from_row(r) for r in s.scalars(select(Client).order_by(Client.created_at))]

    def rotate_secret(self, client_id: str) -> tuple[ClientRecord, str]:
        secret = new_secret()
        with self._db.session() as s:
            row = s.scalar(select(Client).where(Client.client_id == client_id))
            if row is None:
                raise ClientError("client_id", f"no client {client_id!r}")
            if row.token_endpoint_auth_method not in SECRET_METHODS:
                raise ClientError("client_id", f"{client_id!r} does not authenticate with a secret")
            row.secret_digest = self._digests.digest(secret)
            row.secret_rotated_at = self._clock()
            record = ClientRecord.from_row(row)
        self.changed(client_id)
        return record, secret

    def replace(self, spec: ClientSpec, *, expected: ClientRecord) -> tuple[ClientRecord, str | None]:
        """Register ``spec`` again over the client ``spec.client_id``, unless it changed since ``expected`` was read.

        The row is read locked (``FOR UPDATE`` where the database has it), so that a change landing after the
        caller's version check is refused rather than overwritten. A client that starts authenticating with a
        secret gets a new one, returned once; one that stops keeps none.
        """
        spec = validate_spec(spec, production=self._production)
        self._check_called_uris(spec, before=expected)
        method = spec.auth_method or ("none" if spec.public else "client_secret_basic")
        secret: str | None = None
        with self._db.session() as s:
            row = s.scalar(select(Client).where(Client.client_id == spec.client_id).with_for_update())
            if row is None:
                raise ClientError("client_id", f"no client {spec.client_id!r}")
            if ClientRecord.from_row(row) != expected:
                raise ClientChangedError(ClientRecord.from_row(row))
            if method not in SECRET_METHODS:
                row.secret_digest = None
            elif row.token_endpoint_auth_method not in SECRET_METHODS or row.secret_digest is None:
                secret = new_secret()
                row.secret_digest = self._digests.digest(secret)
                row.secret_rotated_at = self._clock()
            row.name = spec.name.strip()
            row.public, row.trusted = spec.public, spec.trusted
            row.redirect_uris = list(dict.fromkeys(spec.redirect_uris))
            row.post_logout_redirect_uris = list(dict.fromkeys(spec.post_logout_redirect_uris))
            row.backchannel_logout_uri = spec.backchannel_logout_uri
            row.grant_types = list(dict.fromkeys(spec.grant_types))
            row.scopes = list(dict.fromkeys(spec.scopes))
            row.required_acr = spec.required_acr
            row.token_endpoint_auth_method = method
            row.jwks_uri, row.jwks = spec.jwks_uri, spec.jwks
            row.home_url = spec.home_url
            row.unit_code, row.unit_uuid = spec.unit_code, spec.unit_uuid
            s.flush()
            record = ClientRecord.from_row(row)
        self.changed(record.client_id)
        return record, secret

    def bind_unit(self, client_id: str, unit_code: str, unit_uuid: str) -> ClientRecord | None:
        """Record the entryUUID of the unit of a client registered before units were bound by it (if still unbound
        and still in ``unit_code``); the client as it is now, or None when it is gone."""
        with self._db.session() as s:
            row = s.scalar(select(Client).where(Client.client_id == client_id))
            if row is None:
                return None
            if row.unit_uuid is None and row.unit_code == unit_code:
                row.unit_uuid = unit_uuid
            record = ClientRecord.from_row(row)
        self.forget(client_id)
        return record

    def set_scopes(self, client_id: str, scopes: tuple[str, ...]) -> ClientRecord:
        """Replace a client's allowed scopes (the operator's allow-list); tokens already issued keep theirs."""
        _check_scopes(scopes)
        with self._db.session() as s:
            row = s.scalar(select(Client).where(Client.client_id == client_id))
            if row is None:
                raise ClientError("client_id", f"no client {client_id!r}")
            row.scopes = list(dict.fromkeys(scopes))
            record = ClientRecord.from_row(row)
        self.changed(client_id)
        return record

    def set_home_url(self, client_id: str, home_url: str | None) -> ClientRecord:
        """Set (or, with None, clear) the start page the officials' portal links the application by."""
        if home_url:
            _check_home_url(home_url, production=self._production)
        with self._db.session() as s:
            row = s.scalar(select(Client).where(Client.client_id == client_id))
            if row is None:
                raise ClientError("client_id", f"no client {client_id!r}")
            row.home_url = home_url or None
            record = ClientRecord.from_row(row)
        self.changed(client_id)
        return record

    def set_required_acr(self, client_id: str, acr: str | None) -> ClientRecord:
        """The level every sign-in to this client must reach (None: a password is enough)."""
        if acr is not None and acr not in ACR_VALUES:
            raise ClientError("required_acr", f"unknown level {acr!r}")
        with self._db.session() as s:
            row = s.scalar(select(Client).where(Client.client_id == client_id))
            if row is None:
                raise ClientError("client_id", f"no client {client_id!r}")
            row.required_acr = acr
            record = ClientRecord.from_row(row)
        self.changed(client_id)
        return record

    def set_disabled(self, client_id: str, disabled: bool = True) -> ClientRecord:
        with self._db.session() as s:
            row = s.scalar(select(Client).where(Client.client_id == client_id))
            if row is None:
                raise ClientError("client_id", f"no client {client_id!r}")
            row.disabled = disabled
            record = ClientRecord.from_row(row)
        self.changed(client_id)
        return record


def client_registry(instance: Instance, *, cache_seconds: float = 0.0) -> ClientRegistry:
    """The instance's registry: its secret keys the digests, its Redis (if any) carries change notices."""
    url = instance.settings.redis.url
    return ClientRegistry(
        instance.database,
        secret_key=instance.secret_key,
        production=instance.settings.production,
        outbound=outbound_policy(instance.settings.server.outbound_allow, production=instance.settings.production),
        cache_seconds=cache_seconds,
        changes=RedisChangeNotices(url) if url else NoChangeNotices(),
        clock=instance.clock,
    )


def parse_jwks(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as err:
        raise ClientError("jwks", f"not JSON: {err}") from None
    if not isinstance(value, dict):
        raise ClientError("jwks", "must be a JSON object")
    return value
