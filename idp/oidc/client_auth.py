"""How authlib sees our clients and authenticates them: the ``ClientMixin`` adapter over a
:class:`~idp.oidc.clients.ClientRecord`, and ``private_key_jwt`` (RFC 7523) with the algorithm pinned.

Client secrets are checked against their stored digest (:mod:`idp.oidc.client_secrets`); a client's assertion is
checked for its token type, then its client's method, and only then are its keys read (a client of another method
never makes us fetch a ``jwks_uri``).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.oidc.clients import SECRET_METHODS, ClientRecord
from idp.oidc.errors import ClientKeysUnavailableError, WrongTokenTypeError
from idp.oidc.service import OidcProvider
from idp.oidc.token_types import TokenType, check_token_type

__all__ = ["ALL_AUTH_METHODS", "ASSERTION_ALGS", "CONFIDENTIAL_AUTH_METHODS", "OAuthClient", "PrivateKeyJwt"]

log = logging.getLogger(__name__)

CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
ALL_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]
ASSERTION_ALGS = ("RS256", "ES256", "PS256")


class OAuthClient:
    """The ``ClientMixin`` interface authlib's grants and endpoints call, over a :class:`ClientRecord`."""

    def __init__(self, record: ClientRecord, check_secret: Callable[[ClientRecord, str], ClientRecord | None]) -> None:
        self.record = record
        self.client_id = record.client_id
        self._check_secret = check_secret

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # redirect_uri is always required: no guessing

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.record.scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.record.redirect_uris  # exact match, nothing else

    def check_client_secret(self, client_secret: str) -> bool:
        # ClientRegistry.check_secret: constant-time, reads a cached record again once, upgrades old digests
        checked = self._check_secret(self.record, client_secret)
        if checked is None:
            return False
        self.record = checked
        return True

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        registered = self.record.token_endpoint_auth_method
        if registered in SECRET_METHODS:
            # either secret method; the secret is the same
            return method in SECRET_METHODS
        if registered == "private_key_jwt":
            return method == "private_key_jwt"
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.record.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.record.grant_types


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """private_key_jwt client authentication with the algorithm pinned to asymmetric ones."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(validate_jti=True, leeway=60)
        self.provider = provider

    def get_audiences(self) -> list[str]:
        return self.provider.assertion_audiences()

    def validate_jti(self, claims: Any, jti: str) -> bool:
        return self.provider.jti.remember("client_assertion", f"{claims['sub']}:{jti}", 600)

    def __call__(self, query_client: Any, request: Any) -> OAuthClient | None:
        """authlib's flow with our checks first: the token type, then the client's method, then its keys."""
        data = request.form
        assertion = data.get("client_assertion")
        if data.get("client_assertion_type") != self.CLIENT_ASSERTION_TYPE or not assertion:
            return None
        header, claims = self.extract_assertion(assertion)
        try:
            # before any key is fetched: an ID, access, logout token or DPoP proof is not an assertion
            check_token_type(TokenType.CLIENT_ASSERTION, header, claims)
        except WrongTokenTypeError as err:
            log.info("client assertion refused: %s", err)
            raise InvalidClientError(description="The client assertion is not a client authentication JWT.") from None
        client_id = claims.get("sub")
        if not isinstance(client_id, str):
            raise InvalidClientError(description="Invalid claim: 'sub'")
        client: OAuthClient | None = query_client(client_id)
        if client is None:
            raise InvalidClientError(description="The client does not exist on this server.")
        self.authenticate_client(client)  # a client of another method never makes us fetch its jwks_uri
        kid = header.get("kid")
        keys = self.client_public_keys(client, kid if isinstance(kid, str) else None)
        request.client = client
        self.process_assertion_claims(assertion, keys)
        return client

    def client_public_keys(self, client: OAuthClient, kid: str | None) -> KeySet:
        record = client.record
        try:
            if record.jwks:
                return KeySet.import_key_set(record.jwks)  # type: ignore[arg-type]
            if record.jwks_uri:
                return KeySet.import_key_set(self.provider.client_jwks.get(record.jwks_uri, kid=kid))  # type: ignore[arg-type]
        except ClientKeysUnavailableError as err:
            log.warning("cannot fetch the keys of client %s: %s", record.client_id, err)
            raise InvalidClientError(description="The client's keys cannot be fetched from its jwks_uri.") from None
        except (ValueError, TypeError, KeyError, JoseError) as err:
            log.warning("cannot read the keys of client %s: %s", record.client_id, err)
        raise InvalidClientError(description="The client's keys cannot be read.")

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        alg = _header_alg(assertion)
        if alg not in ASSERTION_ALGS:
            raise InvalidClientError(description="Client assertion algorithm refused.")
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=[alg])
        except (JoseError, ValueError) as err:
            raise InvalidClientError(description="Invalid client assertion.") from err
        self.verify_claims(token.claims)
        return token.claims


def _header_alg(token: str) -> str | None:
    try:
        part = token.split(".", maxsplit=1)[0]
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, IndexError):
        return None
    alg = header.get("alg") if isinstance(header, dict) else None
    return alg if isinstance(alg, str) else None
