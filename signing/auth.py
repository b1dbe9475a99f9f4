"""Bearer access tokens for ``/api/signing``, checked like any relying party would (RFC 9068, RFC 6750).

The signing API trusts the IdP only through its published metadata: ``<issuer>/.well-known/openid-configuration``
names the ``jwks_uri``; the key set is cached and fetched again (at most once a minute) when a token names a key it
does not hold, so rotations need no restart. A token must be a JWT with ``typ`` ``at+jwt``, signed with an
asymmetric algorithm by a key of that set, issued by exactly our issuer for our audience, unexpired, with a subject
and the scope the endpoint needs. Nothing here imports the IdP's code.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

__all__ = ["ALGORITHMS", "AccessToken", "AccessTokenVerifier", "TokenError", "http_json"]

log = logging.getLogger(__name__)

# Asymmetric only: "none" and HMAC (which a public JWKS would turn into a forgery) are never accepted.
ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")
REFETCH_INTERVAL = 60.0

JsonFetcher = Callable[[str], dict[str, Any]]


def http_json(url: str) -> dict[str, Any]:
    response = requests.get(url, timeout=5, headers={"Accept": "application/json"})
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return data


class TokenError(Exception):
    """A refused token; ``error`` is the RFC 6750 code and ``status`` the HTTP status to answer with."""

    def __init__(self, error: str, description: str, *, status: int = 401, scope: str | None = None) -> None:
        self.error = error
        self.description = description
        self.status = status
        self.scope = scope
        super().__init__(description)

    @property
    def www_authenticate(self) -> str:
        parts = [f'error="{self.error}"', f'error_description="{self.description}"']
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return "Bearer " + ", ".join(parts)


@dataclass(frozen=True)
class AccessToken:
    subject: str
    client_id: str | None
    scopes: frozenset[str]
    claims: dict[str, Any] = field(repr=False)


class AccessTokenVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str | tuple[str, ...],
        *,
        fetch: JsonFetcher = http_json,
        cache_seconds: float = 300.0,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audiences = (audience,) if isinstance(audience, str) else audience
        self.fetch = fetch
        self.cache_seconds = cache_seconds
        self.leeway = leeway
        self.clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        with self._lock:
            now = self.clock()
            stale = now - self._fetched_at > self.cache_seconds
            may_refetch = now - self._fetched_at > REFETCH_INTERVAL
            if self._keys is None or stale or (refresh and may_refetch):
                try:
                    metadata = self.fetch(f"{self.issuer}/.well-known/openid-configuration")
                    if metadata.get("issuer") != self.issuer:
                        raise ValueError("the discovery document names another issuer")
                    self._keys = KeySet.import_key_set(self.fetch(str(metadata["jwks_uri"])))  # type: ignore[arg-type]
                    self._fetched_at = now
                except (requests.RequestException, ValueError, KeyError, TypeError, JoseError) as err:
                    log.warning("cannot fetch the IdP's keys: %s", err)
                    if self._keys is None:
                        raise TokenError("invalid_token", "the token cannot be checked now", status=503) from None
            return self._keys

    def verify(self, authorization: str | None, scope: str) -> AccessToken:
        """Check an ``Authorization`` header value and return the token's subject and scopes."""
        if not authorization or not authorization.startswith("Bearer "):
            raise TokenError("invalid_request", "a bearer access token is required", scope=scope)
        value = authorization[len("Bearer ") :].strip()
        try:
            header = json.loads(_b64decode(value.split(".")[0]))
        except (ValueError, IndexError):
            raise TokenError("invalid_token", "the token is not a JWT") from None
        if not isinstance(header, dict) or str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise TokenError("invalid_token", "not an access token (typ must be at+jwt)")
        if header.get("alg") not in ALGORITHMS:
            raise TokenError("invalid_token", "the token's algorithm is not accepted")
        token = self._decode(value, refresh=False)
        registry = jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            now=lambda: int(self.clock()),
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "values": list(self.audiences)},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(token.claims)
        except ExpiredTokenError:
            raise TokenError("invalid_token", "the token has expired") from None
        except ClaimError as err:
            raise TokenError("invalid_token", f"claim {err.claim!r} is missing or wrong") from None
        claims = token.claims
        scopes = _scopes(claims)
        if scope not in scopes:
            raise TokenError("insufficient_scope", f"the token lacks the scope {scope}", status=403, scope=scope)
        client = claims.get("client_id")
        return AccessToken(str(claims["sub"]), str(client) if client else None, scopes, dict(claims))

    def _decode(self, value: str, *, refresh: bool) -> jwt.Token:
        keys = self._key_set(refresh=refresh)
        try:
            return jwt.decode(value, keys, algorithms=list(ALGORITHMS))
        except JoseError as err:
            if not refresh and type(err).__name__ in ("MissingKeyError", "InvalidKeyIdError"):
                return self._decode(value, refresh=True)  # the IdP may have rotated its keys
            raise TokenError("invalid_token", "the token's signature does not verify") from None
        except (ValueError, TypeError):
            raise TokenError("invalid_token", "the token is malformed") from None


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(str(s) for s in scp)
    return frozenset()


def _b64decode(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
