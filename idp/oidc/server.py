"""authlib's authorization server, grants and endpoints, wired to our storage and token minting.

authlib checks the requests (client authentication, grant types, redirect URI, PKCE, token endpoint
parameters); the hooks below are where it reaches our models. Token responses are minted by
:class:`idp.oidc.tokens.TokenService` so that every grant issues the same RFC 9068 access tokens and ID tokens;
clients are seen and authenticated through :mod:`idp.oidc.client_auth`.

This is the Flask side of the protocol: the server reads the HTTP request (the caller's address, the DPoP key
the token view checked) and hands it to the provider's services as plain values. It is reached with
:func:`get_authorization_server`; the provider itself does not know it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import g
from flask import request as flask_request

from antin.kernel.instance import Instance
from idp.oidc.client_auth import ALL_AUTH_METHODS, CONFIDENTIAL_AUTH_METHODS, OAuthClient, PrivateKeyJwt
from idp.oidc.codes import CodeView
from idp.oidc.grants import IssuedTokenRef, RefreshView
from idp.oidc.service import OidcProvider, get_provider
from idp.oidc.token_grants import (
    check_code_verifier,
    client_credentials_token,
    code_token,
    find_introspected_token,
    find_refresh_token,
    introspection_body,
    may_introspect,
    redeem_code,
    refreshed_token,
)

__all__ = ["ALL_AUTH_METHODS", "CONFIDENTIAL_AUTH_METHODS", "build_authorization_server", "get_authorization_server"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "antin.oidc.server"


class AntinAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, provider: OidcProvider) -> None:
        super().__init__()
        self.provider = provider

    def query_client(self, client_id: str) -> OAuthClient | None:
        if not isinstance(client_id, str):
            return None
        clients = self.provider.clients
        record = clients.active(client_id)
        return OAuthClient(record, clients.check_secret) if record is not None else None

    def create_oauth2_request(self, request: Any) -> Any:
        """authlib's request, with what the view knows of the HTTP request: the caller's address (for the audit
        trail) and the key of the DPoP proof the token view checked (``g.antin_dpop_jkt``)."""
        oauth_request = super().create_oauth2_request(request)
        oauth_request.antin_client_ip = flask_request.remote_addr
        jkt = g.get("antin_dpop_jkt")
        oauth_request.antin_dpop_jkt = str(jkt) if jkt is not None else None
        return oauth_request

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        raise RuntimeError("tokens are saved by TokenService.issue")

    def authenticate_client(self, request: Any, methods: list[str], endpoint: str = "token") -> OAuthClient:
        if _authorization_unreadable(request.headers.get("Authorization")):
            raise InvalidClientError(description="The Authorization header cannot be read.")
        client: OAuthClient = super().authenticate_client(request, methods, endpoint)
        return client


def _authorization_unreadable(authorization: str | None) -> bool:
    """Whether the Authorization header would make authlib (1.x) let an error out (a 500) instead of refusing it:
    a space with only whitespace after the scheme, characters outside ASCII in Basic credentials' base64
    (ValueError), or credentials whose bytes are not UTF-8 (UnicodeDecodeError)."""
    if not authorization or " " not in authorization:
        return False
    parts = authorization.split(None, 1)
    if len(parts) != 2:
        return True
    if parts[0].lower() != "basic":
        return False
    try:
        base64.b64decode(parts[1]).decode("utf-8")
    except binascii.Error:
        return False  # authlib refuses bad base64 itself
    except ValueError:
        return True
    return False


class PkceS256(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only; ``plain`` is refused (and never accepted at the authorization endpoint either)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        # the rule the fast path in front of Flask applies too (idp.oidc.token_grants)
        request = grant.request
        public = self.required and request.auth_method == "none"
        check_code_verifier(request.form.get("code_verifier"), request.authorization_code, public=public)


def _provider(grant: Any) -> OidcProvider:
    provider: OidcProvider = grant.server.provider
    return provider


def _client_ip(request: Any) -> str | None:
    """The caller's address, as :meth:`AntinAuthorizationServer.create_oauth2_request` recorded it."""
    ip: str | None = getattr(request, "antin_client_ip", None)
    return ip


def _dpop_jkt(request: Any) -> str | None:
    jkt: str | None = getattr(request, "antin_dpop_jkt", None)
    return jkt


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS

    def query_authorization_code(self, code: str, client: OAuthClient) -> CodeView | None:
        return redeem_code(_provider(self), client.record, code, _client_ip(self.request))

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: OAuthClient = self.request.client
        token = code_token(
            _provider(self),
            client.record,
            self.request.authorization_code,
            resources=tuple(self.request.payload.datalist.get("resource", [])),
            dpop_jkt=_dpop_jkt(self.request),
            refresh=client.check_grant_type("refresh_token"),
            ip=_client_ip(self.request),
        )
        return 200, token, self.TOKEN_RESPONSE_HEADER


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshView | None:
        client: OAuthClient = self.request.client
        return find_refresh_token(_provider(self), client.record, refresh_token, _client_ip(self.request))

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: OAuthClient = self.request.client
        token = refreshed_token(
            _provider(self),
            client.record,
            self.request.refresh_token,
            scope=self.request.payload.scope,
            resources=tuple(self.request.payload.datalist.get("resource", [])),
            dpop_jkt=_dpop_jkt(self.request),
            ip=_client_ip(self.request),
        )
        return 200, token, self.TOKEN_RESPONSE_HEADER


class ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: OAuthClient = self.request.client
        token = client_credentials_token(
            _provider(self),
            client.record,
            scope=self.request.payload.scope,
            resources=tuple(self.request.payload.datalist.get("resource", [])),
            dpop_jkt=_dpop_jkt(self.request),
            ip=_client_ip(self.request),
        )
        return 200, token, self.TOKEN_RESPONSE_HEADER


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedTokenRef | None:
        return find_introspected_token(self.server.provider, token_string, token_type_hint)

    def check_permission(self, token: IssuedTokenRef, client: OAuthClient, request: Any) -> bool:
        return may_introspect(token, client.record)

    def introspect_token(self, token: IssuedTokenRef) -> dict[str, Any]:
        return introspection_body(self.server.provider, token)


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ALL_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedTokenRef | None:
        provider: OidcProvider = self.server.provider
        return provider.tokens.find_for_client_action(token_string, token_type_hint)

    def revoke_token(self, token: IssuedTokenRef, request: Any) -> None:
        provider: OidcProvider = self.server.provider
        provider.tokens.revoke_token(token)
        provider.audit.record(
            "oauth:token:revoke",
            subject=token.subject,
            client_id=token.client_id,
            ip=_client_ip(request),
            details={"kind": token.kind, "grant_id": token.grant_id}
            if token.jti is None
            else {"kind": token.kind, "jti": token.jti},
        )


def get_authorization_server(instance: Instance) -> AntinAuthorizationServer:
    """The instance's authorization server, over its provider (built once, like the provider)."""
    return instance.service(EXTENSION_KEY, lambda inst: build_authorization_server(get_provider(inst)))


def build_authorization_server(provider: OidcProvider) -> AntinAuthorizationServer:
    server = AntinAuthorizationServer(provider)
    server.register_grant(CodeGrant, [PkceS256(required=True)])
    server.register_grant(RefreshGrant)
    server.register_grant(ClientCredentials)
    server.register_client_auth_method("private_key_jwt", PrivateKeyJwt(provider))
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    return server
