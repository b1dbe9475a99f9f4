"""Access tokens for ``/api/signing``, checked like any relying party would (RFC 9068, RFC 6750, RFC 9449).

The signing API trusts the IdP only through its published metadata: ``<issuer>/.well-known/openid-configuration``
names the ``jwks_uri``; the key set is cached, and fetched again at once when a token names a key it does not hold
(at most once a second per process, whatever the key), so a token signed with a freshly rotated key is accepted by
every worker at once and rotations need no restart. A token must be a JWT with ``typ`` ``at+jwt``, signed with an
asymmetric algorithm by a key of that set, issued by exactly our issuer for our audience, unexpired, with a subject
and the scope the endpoint needs.

Two facts are not in the token, and the provider answers them through its public resource-server API
(:class:`ProviderChecks`, which ``idp.oidc`` exports): whether the grant behind the token has been revoked since
it was issued (logout, consent withdrawn, refresh-token reuse, a disabled client), and whether a DPoP proof was
already used. A token bound to a key (``cnf.jkt``) is accepted only as ``Authorization: DPoP <token>`` with one
``DPoP`` proof of that key for this very request (RFC 9449 §7.1); when the provider hands out DPoP nonces, the
proof must carry the current one, and a refusal says which (``use_dpop_nonce`` with a ``DPoP-Nonce`` header, RFC 9449
§9). Nothing here imports the IdP's code.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from antin.kernel.caches import CacheSize, register_instance_cache
from signing.errors import TokenError

__all__ = [
    "ALGORITHMS",
    "AccessToken",
    "AccessTokenVerifier",
    "AcrRequirement",
    "ProviderChecks",
    "RevocationCache",
    "TokenError",
    "http_json",
]

log = logging.getLogger(__name__)
# a token that cannot be checked now (the provider's keys or database away): a 503 with Retry-After, and not
# "invalid_token", which tells a client to throw the token away (OAuth 2's word, as the provider's userinfo says)
UNAVAILABLE = "temporarily_unavailable"

# Asymmetric only: "none" and HMAC (which a public JWKS would turn into a forgery) are never accepted.
ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")
UNKNOWN_KID_REFETCH_SECONDS = 1.0
"""A token naming a key the cached set lacks makes the set be fetched again, unless it was fetched within this time:
a rotation is honoured at once, while a flood of made-up ``kid`` values costs the IdP one fetch a second at most."""

JsonFetcher = Callable[[str], dict[str, Any]]


def http_json(url: str) -> dict[str, Any]:
    import requests  # loaded with the first key fetch, not with every worker (an OpenID-only one never needs it)

    response = requests.get(url, timeout=5, headers={"Accept": "application/json"})
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return data


class ProviderChecks(Protocol):
    """The provider's public resource-server API (``idp.oidc.ResourceServerChecks``)."""

    def access_token_revoked(self, jti: str) -> bool:
        """Whether the access token with this ``jti`` may no longer be used (revoked, unknown, disabled client);
        ``OSError`` when the provider cannot tell now."""
        ...

    def check_dpop_proof(self, proof: str, *, method: str, url: str, access_token: str) -> str:
        """Check a DPoP proof for this request, once only; return its key's thumbprint, raise ``ValueError`` for a
        bad proof and ``OSError`` when the provider cannot tell now. A ``ValueError`` with a ``dpop_nonce``
        attribute means the proof lacks the server's current nonce, which the client must use (RFC 9449 §9)."""
        ...

    def current_dpop_nonce(self) -> str | None:
        """The nonce DPoP proofs must carry now, or None when the provider hands out no nonces."""
        ...


@dataclass(frozen=True)
class AcrRequirement:
    """RFC 9470: the level a token's ``acr`` must reach; ``accepted`` holds it and every stronger level (the
    provider's ladder is wired in by ``signing.init_app``: this module knows no level names)."""

    required: str
    accepted: frozenset[str]


@dataclass(frozen=True)
class AccessToken:
    subject: str
    client_id: str | None
    scopes: frozenset[str]
    claims: dict[str, Any] = field(repr=False)
    scheme: str = "Bearer"
    dpop_nonce: str | None = None  # the provider's current DPoP nonce, for a DPoP-Nonce header (RFC 9449 §8.2)


class RevocationCache:
    """The provider's revocation answers, kept in this process so that most requests cost no database read.

    A "live" answer is kept ``live_seconds``: a revocation reaches this process within that window. A "revoked"
    answer is kept until the token expires, since a revoked token never comes back. Answers past their time are
    dropped at most every :data:`SWEEP_SECONDS` (an entry per access token seen, so a process kept each one until
    :data:`LIMIT` tokens: the soak's workers held 1,851 after an hour, growing by the minute).
    """

    LIMIT = 10_000  # tokens remembered per process; beyond it the cache starts afresh
    SWEEP_SECONDS = 10.0

    def __init__(
        self, lookup: Callable[[str], bool], *, live_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lookup = lookup
        self.live_seconds = live_seconds
        self.clock = clock
        self._answers: dict[str, tuple[float, bool]] = {}
        self._next_sweep = clock() + self.SWEEP_SECONDS
        self._lock = threading.Lock()
        register_instance_cache("signing-api-revocations", self, lambda cache: CacheSize(len(cache._answers)))

    def revoked(self, jti: str, *, expires_in: float) -> bool:
        now = self.clock()
        with self._lock:
            cached = self._answers.get(jti)
        if cached is not None and cached[0] > now:
            return cached[1]
        revoked = self.lookup(jti)
        keep = max(expires_in, 0.0) if revoked else self.live_seconds
        if keep > 0:
            with self._lock:
                if now >= self._next_sweep:
                    self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
                    self._next_sweep = now + self.SWEEP_SECONDS
                if len(self._answers) >= self.LIMIT:
                    self._answers.clear()
                self._answers[jti] = (now + keep, revoked)
        return revoked


class AccessTokenVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str | tuple[str, ...],
        *,
        checks: ProviderChecks,
        dpop_algs: tuple[str, ...],
        revocation_cache_seconds: float = 5.0,
        fetch: JsonFetcher = http_json,
        cache_seconds: float = 300.0,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
        acr: AcrRequirement | None = None,
    ) -> None:
        self.issuer = issuer
        self.acr = acr
        self.audiences = (audience,) if isinstance(audience, str) else audience
        self.checks = checks
        self.dpop_algs = dpop_algs
        self.revocations = RevocationCache(
            checks.access_token_revoked, live_seconds=revocation_cache_seconds, clock=clock
        )
        self.fetch = fetch
        self.cache_seconds = cache_seconds
        self.leeway = leeway
        self.clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._tried_at = float("-inf")
        self._lock = threading.Lock()

    def resource_url(self, path: str) -> str:
        """The URL a DPoP proof's ``htu`` must name for a request to ``path`` (the issuer is what clients see)."""
        return self.issuer + path

    def _key_set(self, *, refresh: bool = False, kid: object = None) -> KeySet:
        """The IdP's keys; ``refresh``: a token named ``kid``, which the cached set lacks."""
        with self._lock:
            if refresh and self._keys is not None and kid in _kids(self._keys):
                return self._keys  # another request fetched the set that holds it while this one waited
            now = self.clock()
            # an IdP that does not answer is not asked again by every request either
            due = now - self._tried_at >= UNKNOWN_KID_REFETCH_SECONDS
            stale = now - self._fetched_at > self.cache_seconds
            if self._keys is None or (due and (stale or refresh)):
                self._tried_at = now
                try:
                    metadata = self.fetch(f"{self.issuer}/.well-known/openid-configuration")
                    if metadata.get("issuer") != self.issuer:
                        raise ValueError("the discovery document names another issuer")
                    self._keys = KeySet.import_key_set(self.fetch(str(metadata["jwks_uri"])))  # type: ignore[arg-type]
                    self._fetched_at = now
                except (OSError, ValueError, KeyError, TypeError, JoseError) as err:  # requests' errors are OSErrors
                    log.warning("cannot fetch the IdP's keys: %s", err)
                    if self._keys is None:
                        raise TokenError(UNAVAILABLE, "the token cannot be checked now", status=503) from None
            return self._keys

    def verify(
        self,
        authorization: str | None,
        scope: str,
        *,
        method: str = "GET",
        url: str = "",
        dpop_proofs: Sequence[str] = (),
        require_acr: bool = False,
    ) -> AccessToken:
        """Check a request's ``Authorization`` header (and its ``DPoP`` headers); return the token's subject and
        scopes. ``method`` and ``url`` are the request's, which a DPoP proof must name. ``require_acr``: the token
        must also reach the verifier's level (``acr``; the signing endpoints, not the verification API)."""
        try:
            token = self._verify(authorization, scope, method=method, url=url, dpop_proofs=dpop_proofs)
            if require_acr:
                self._check_level(token)
            return token
        except TokenError as err:
            err.dpop_algs = self.dpop_algs
            raise

    def _verify(
        self, authorization: str | None, scope: str, *, method: str, url: str, dpop_proofs: Sequence[str]
    ) -> AccessToken:
        scheme, value = _credentials(authorization, scope)
        try:
            header = json.loads(_b64decode(value.split(".")[0]))
        except (ValueError, IndexError):
            raise TokenError("invalid_token", "the token is not a JWT", scheme=scheme) from None
        if not isinstance(header, dict) or str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise TokenError("invalid_token", "not an access token (typ must be at+jwt)", scheme=scheme)
        if header.get("alg") not in ALGORITHMS:
            raise TokenError("invalid_token", "the token's algorithm is not accepted", scheme=scheme)
        token = self._decode(value, refresh=False, scheme=scheme, kid=header.get("kid"))
        registry = jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            now=lambda: int(self.clock()),
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "values": list(self.audiences)},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(token.claims)
        except ExpiredTokenError:
            raise TokenError("invalid_token", "the token has expired", scheme=scheme) from None
        except ClaimError as err:
            raise TokenError("invalid_token", f"claim {err.claim!r} is missing or wrong", scheme=scheme) from None
        claims = token.claims
        scheme = self._check_binding(scheme, value, claims, method=method, url=url, proofs=dpop_proofs)
        self._check_not_revoked(claims, scheme)
        scopes = _scopes(claims)
        if scope not in scopes:
            raise TokenError(
                "insufficient_scope", f"the token lacks the scope {scope}", status=403, scope=scope, scheme=scheme
            )
        client = claims.get("client_id")
        nonce = self.checks.current_dpop_nonce() if scheme == "DPoP" else None
        return AccessToken(str(claims["sub"]), str(client) if client else None, scopes, dict(claims), scheme, nonce)

    def _check_level(self, token: AccessToken) -> None:
        """RFC 9470 §3: a token whose sign-in was too weak. Checked last, so that a client is told to sign the
        official in again only for a token that is otherwise good."""
        if self.acr is not None and token.claims.get("acr") not in self.acr.accepted:
            raise TokenError(
                "insufficient_user_authentication",
                "the official must sign in again at a stronger authentication level",
                scheme=token.scheme,
                acr_values=self.acr.required,
            )

    def _check_binding(
        self, scheme: str, value: str, claims: dict[str, Any], *, method: str, url: str, proofs: Sequence[str]
    ) -> str:
        """RFC 9449 §7.1: a token bound to a key is used only with a fresh proof of that key; return the scheme."""
        cnf = claims.get("cnf")
        if cnf is None:
            if scheme == "DPoP":
                raise TokenError("invalid_token", "the token is not DPoP-bound: send it as a Bearer token")
            return scheme
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        if not isinstance(jkt, str) or not jkt:
            raise TokenError("invalid_token", "the token is bound to a key in a way this API does not support")
        if scheme != "DPoP":
            # a stolen DPoP-bound token must not work as a plain bearer token
            raise TokenError(
                "invalid_token", "the token is DPoP-bound: send it as Authorization: DPoP with a proof", scheme="DPoP"
            )
        if len(proofs) != 1:
            raise TokenError("invalid_dpop_proof", "exactly one DPoP proof header is required", scheme="DPoP")
        try:
            proof_jkt = self.checks.check_dpop_proof(proofs[0], method=method, url=url, access_token=value)
        except ValueError as err:
            nonce = getattr(err, "dpop_nonce", None)
            refusal = TokenError("use_dpop_nonce" if nonce else "invalid_dpop_proof", str(err), scheme="DPoP")
            refusal.dpop_nonce = str(nonce) if nonce else None
            raise refusal from None
        except OSError as err:
            log.warning("cannot check a DPoP proof now: %s", err)
            raise TokenError(UNAVAILABLE, "the token cannot be checked now", status=503, scheme="DPoP") from None
        if not hmac.compare_digest(proof_jkt, jkt):
            raise TokenError("invalid_dpop_proof", "the DPoP proof is signed by another key", scheme="DPoP")
        return scheme

    def _check_not_revoked(self, claims: dict[str, Any], scheme: str) -> None:
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise TokenError("invalid_token", "the token has no jti", scheme=scheme)
        expires_in = float(claims["exp"]) + self.leeway - self.clock()
        try:
            revoked = self.revocations.revoked(jti, expires_in=expires_in)
        except OSError as err:
            log.warning("cannot ask the provider whether a token was revoked: %s", err)
            raise TokenError(UNAVAILABLE, "the token cannot be checked now", status=503, scheme=scheme) from None
        if revoked:
            raise TokenError("invalid_token", "the token has been revoked", scheme=scheme)

    def _decode(self, value: str, *, refresh: bool, scheme: str, kid: object) -> jwt.Token:
        keys = self._key_set(refresh=refresh, kid=kid)
        try:
            return jwt.decode(value, keys, algorithms=list(ALGORITHMS))
        except JoseError as err:
            if not refresh and type(err).__name__ in ("MissingKeyError", "InvalidKeyIdError"):
                return self._decode(value, refresh=True, scheme=scheme, kid=kid)  # the IdP may have rotated its keys
            raise TokenError("invalid_token", "the token's signature does not verify", scheme=scheme) from None
        except (ValueError, TypeError):
            raise TokenError("invalid_token", "the token is malformed", scheme=scheme) from None


def _credentials(authorization: str | None, scope: str) -> tuple[str, str]:
    """The scheme (``Bearer`` or ``DPoP``, matched case-insensitively as RFC 9110 says) and the token."""
    scheme, _sep, value = (authorization or "").partition(" ")
    value = value.strip()
    if not value or scheme.lower() not in ("bearer", "dpop"):
        raise TokenError("invalid_request", "an access token is required (Bearer or DPoP)", scope=scope)
    return ("DPoP" if scheme.lower() == "dpop" else "Bearer"), value


def _kids(keys: KeySet) -> set[str | None]:
    return {key.kid for key in keys.keys}


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
