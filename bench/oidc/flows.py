"""The operations the bench measures, written against the OpenID Connect and OAuth specifications only.

Each operation checks what a relying party or resource server would check (status, issuer, the ID token's
signature against the JWKS, state, RFC 9207 ``iss``, refresh rotation) and raises :class:`FlowError`
otherwise, so that a fast wrong answer never counts as a fast answer.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.oidc.forms import fill_login_form
from bench.oidc.http import Browser, HttpClient, Reply
from bench.oidc.provider import BenchClient, Deployment
from bench.oidc.tokens import Jwks, TokenError, verify_jwt

__all__ = ["FlowError", "OidcFlows", "TokenSet"]

MAX_HOPS = 10
DEVICE_COOKIE = "antin_device"  # idp.throttle.DEVICE_COOKIE (the bench talks HTTP only, like any client)


class FlowError(Exception):
    """An answer a relying party would refuse."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    id_token_claims: dict[str, Any]


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _expect(reply: Reply, status: int, what: str) -> Reply:
    if reply.status != status:
        kind = reply.headers.get("Content-Type", "").split(";")[0]
        shown = reply.text[:200] if kind.endswith("json") or kind.startswith("text/plain") else kind or "no body"
        raise FlowError(f"{what}: HTTP {reply.status} ({shown})")
    return reply


def _require(client: BenchClient | None, what: str) -> BenchClient:
    if client is None:
        raise FlowError(f"no {what} client registered")
    return client


class OidcFlows:
    """The measured operations against one deployment; :meth:`prepare` must run first."""

    def __init__(self, http: HttpClient, deployment: Deployment) -> None:
        self.http = http
        self.deployment = deployment
        self.issuer = deployment.target.issuer
        self.metadata: dict[str, Any] = {}
        self.jwks: Jwks | None = None
        self._accounts = itertools.cycle(deployment.accounts) if deployment.accounts else None
        # each official signs in from a browser they used before, as officials do: it keeps the provider's
        # device cookie (Ấn Tín's throttle gives a known browser its own budget; the peer ignores the cookie)
        self._device_cookies: dict[str, str] = {}
        self._refresh_chains: dict[int, str] = {}
        self._introspected: str | None = None

    # -- discovery and keys ---------------------------------------------------------------------------

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    async def prepare(self) -> None:
        """Read the discovery document and the JWKS once, checking both."""
        reply = _expect(await self.http.get(self.discovery_url), 200, "discovery")
        self.metadata = reply.json()
        if self.metadata.get("issuer") != self.issuer:
            raise FlowError(f"discovery names issuer {self.metadata.get('issuer')!r}, not {self.issuer!r}")
        jwks_reply = _expect(await self.http.get(self.metadata["jwks_uri"]), 200, "JWKS")
        self.jwks = Jwks(jwks_reply.json())

    def endpoint(self, name: str) -> str:
        url = self.metadata.get(name)
        if not isinstance(url, str):
            raise FlowError(f"the discovery document has no {name}")
        return url

    async def discovery(self, _task: int) -> None:
        reply = _expect(await self.http.get(self.discovery_url), 200, "discovery")
        if reply.json().get("issuer") != self.issuer:
            raise FlowError("discovery: wrong issuer")

    async def jwks_fetch(self, _task: int) -> None:
        reply = _expect(await self.http.get(self.endpoint("jwks_uri")), 200, "JWKS")
        if not reply.json().get("keys"):
            raise FlowError("JWKS: no keys")

    # -- token endpoint -----------------------------------------------------------------------------------

    async def _token(self, client: BenchClient, form: dict[str, str]) -> dict[str, Any]:
        auth = (client.client_id, client.client_secret) if client.client_secret else None
        if auth is None:
            form = {**form, "client_id": client.client_id}
        reply = await self.http.post(
            self.endpoint("token_endpoint"), data=form, auth=auth, headers={"Accept": "application/json"}
        )
        _expect(reply, 200, f"token ({form.get('grant_type')})")
        body: dict[str, Any] = reply.json()
        if not isinstance(body.get("access_token"), str) or str(body.get("token_type", "")).lower() not in (
            "bearer",
            "dpop",
        ):
            raise FlowError(f"token ({form.get('grant_type')}): no access token in {list(body)}")
        return body

    async def client_credentials(self, _task: int) -> dict[str, Any]:
        client = _require(self.deployment.service_client, "client_credentials")
        form = {"grant_type": "client_credentials"}
        if self.deployment.service_scope:
            form["scope"] = self.deployment.service_scope
        return await self._token(client, form)

    async def describe_service_token(self) -> str:
        """What kind of access token client_credentials gives (checked once, not on every request)."""
        token = (await self.client_credentials(0))["access_token"]
        if token.count(".") != 2:
            return "opaque"
        assert self.jwks is not None
        try:
            header, claims = verify_jwt(token, self.jwks, issuer=self.issuer)
        except TokenError as err:
            raise FlowError(f"client_credentials JWT: {err}") from None
        return f"JWT {header.get('alg')} typ={header.get('typ', '-')} aud={claims.get('aud')}"

    # -- the login flow ---------------------------------------------------------------------------------

    async def _follow(self, browser: Browser, reply: Reply, redirect_uri: str) -> tuple[Reply, str | None]:
        """Follow redirects until a page is shown or the client's redirect URI is reached (returned)."""
        for _ in range(MAX_HOPS):
            location = reply.location
            if reply.status not in (301, 302, 303, 307) or location is None:
                return reply, None
            if location.startswith(redirect_uri):
                return reply, location
            reply = await browser.get(location)
        raise FlowError("too many redirects")

    async def login(self, _task: int) -> TokenSet:
        """Authorize → login page → POST credentials → code → token exchange → ID token verified."""
        client = _require(self.deployment.web_client, "web")
        if self._accounts is None or client.redirect_uri is None:
            raise FlowError("no accounts or no redirect URI")
        account = next(self._accounts)
        verifier, challenge = _pkce_pair()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client.client_id,
                "redirect_uri": client.redirect_uri,
                "scope": self.deployment.login_scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        browser = Browser(self.http)
        if account.login in self._device_cookies:
            browser.cookies[DEVICE_COOKIE] = self._device_cookies[account.login]
        page, arrived = await self._follow(
            browser, await browser.get(f"{self.endpoint('authorization_endpoint')}?{query}"), client.redirect_uri
        )
        if arrived is None:
            _expect(page, 200, "login page")
            action, form = fill_login_form(
                page.text, page.url, account.login, account.password, self.deployment.login_fields
            )
            page, arrived = await self._follow(browser, await browser.post(action, form), client.redirect_uri)
        if arrived is None:
            raise FlowError(f"login did not return to the client: HTTP {page.status} at {page.url}")
        if DEVICE_COOKIE in browser.cookies:
            self._device_cookies[account.login] = browser.cookies[DEVICE_COOKIE]
        params = {k: v[0] for k, v in parse_qs(urlsplit(arrived).query).items()}
        if params.get("state") != state:
            raise FlowError(f"authorization response: bad state ({params.get('error')})")
        if self.metadata.get("authorization_response_iss_parameter_supported") and params.get("iss") != self.issuer:
            raise FlowError("authorization response: RFC 9207 iss missing or wrong")
        code = params.get("code")
        if not code:
            raise FlowError(f"authorization response: no code ({params.get('error')})")
        body = await self._token(
            client,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": client.redirect_uri,
                "code_verifier": verifier,
            },
        )
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise FlowError("token response: no ID token")
        assert self.jwks is not None
        try:
            _, claims = verify_jwt(id_token, self.jwks, issuer=self.issuer, audience=client.client_id, nonce=nonce)
        except TokenError as err:
            raise FlowError(f"ID token: {err}") from None
        return TokenSet(body["access_token"], body.get("refresh_token"), claims)

    # -- refresh with rotation, introspection -------------------------------------------------------------

    async def prepare_refresh(self, tasks: int) -> None:
        """One login per task: each task then rotates its own refresh-token chain."""
        for task in range(tasks):
            tokens = await self.login(task)
            if not tokens.refresh_token:
                raise FlowError("the login flow gave no refresh token")
            self._refresh_chains[task] = tokens.refresh_token

    async def refresh(self, task: int) -> None:
        client = _require(self.deployment.web_client, "web")
        current = self._refresh_chains[task]
        body = await self._token(client, {"grant_type": "refresh_token", "refresh_token": current})
        rotated = body.get("refresh_token")
        if not isinstance(rotated, str) or rotated == current:
            raise FlowError("refresh: the refresh token was not rotated")
        self._refresh_chains[task] = rotated

    async def prepare_introspection(self) -> None:
        """A user's access token from a real login: what a resource server receives and introspects."""
        self._introspected = (await self.login(0)).access_token

    async def introspect(self, _task: int) -> None:
        client = _require(self.deployment.service_client, "resource server")
        token = self._introspected
        if token is None or client.client_secret is None:
            raise FlowError("introspection not prepared")
        reply = await self.http.post(
            self.endpoint("introspection_endpoint"),
            data={"token": token, "token_type_hint": "access_token"},
            auth=(client.client_id, client.client_secret),
            headers={"Accept": "application/json"},
        )
        _expect(reply, 200, "introspection")
        if reply.json().get("active") is not True:
            raise FlowError("introspection: the token is not active")
