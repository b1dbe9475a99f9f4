"""A minimal browser and relying party over real HTTP, for the protocol tests."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from idp.oidc.clients import ClientRecord, ClientSpec
from tests.idp.jose_check import half_hash, verify_jws
from tests.idp.oidc_harness import LiveProvider

REDIRECT_URI = "http://localhost:9/cb"


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {"action": a.get("action", ""), "method": a.get("method", "get"), "inputs": {}}
            self.forms[a.get("id") or f"form{len(self.forms)}"] = self._current
        elif tag == "input" and self._current is not None and a.get("name"):
            self._current["inputs"][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(html: str) -> dict[str, dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


@dataclass
class Outcome:
    page: requests.Response | None = None
    location: str | None = None

    @property
    def params(self) -> dict[str, str]:
        assert self.location is not None, f"no redirect to the client; page: {self.page and self.page.status_code}"
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}


class Browser:
    def __init__(self, issuer: str, **headers: str) -> None:
        self.issuer = issuer
        self.session = requests.Session()
        self.session.headers.update(headers)

    def go(self, url: str, *, method: str = "GET", data: dict[str, Any] | None = None) -> Outcome:
        for _hop in range(10):
            r = self.session.request(method, url, data=data, allow_redirects=False, timeout=10)
            if r.status_code in (301, 302, 303, 307, 308):
                target = urljoin(url, r.headers["Location"])
                if not target.startswith(self.issuer + "/"):
                    return Outcome(location=target)
                url, method, data = target, "GET", None
                continue
            return Outcome(page=r)
        raise AssertionError("redirect loop")

    def submit(self, page: requests.Response, form_id: str, fields: dict[str, str] | None = None) -> Outcome:
        form = forms_of(page.text)[form_id]
        data = dict(form["inputs"])
        data.update(fields or {})
        return self.go(urljoin(page.url, form["action"]), method="POST", data=data)

    def login(self, page: requests.Response, username: str, password: str) -> Outcome:
        assert "login-form" in page.text, page.text[:500]
        return self.submit(page, "login-form", {"username": username, "password": password})


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class RelyingParty:
    op: LiveProvider
    client: ClientRecord
    secret: str | None
    redirect_uri: str = REDIRECT_URI
    last: dict[str, str] = field(default_factory=dict)

    @classmethod
    def register(cls, op: LiveProvider, **spec: Any) -> RelyingParty:
        spec.setdefault("name", "Test RP")
        spec.setdefault("redirect_uris", (REDIRECT_URI,))
        spec.setdefault("trusted", True)
        record, secret = op.provider.clients.add(ClientSpec(**spec))
        return cls(op, record, secret, spec["redirect_uris"][0])

    @property
    def jwks(self) -> dict[str, Any]:
        return requests.get(self.op.issuer + "/jwks.json", timeout=10).json()

    def auth_params(self, **overrides: Any) -> dict[str, Any]:
        verifier, challenge = pkce()
        params: dict[str, Any] = {
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        params = {k: v for k, v in params.items() if v is not None}
        self.last = {"verifier": verifier, "state": params.get("state", ""), "nonce": params.get("nonce", "")}
        return params

    def authorize(self, browser: Browser, *, method: str = "GET", **overrides: Any) -> Outcome:
        params = self.auth_params(**overrides)
        url = self.op.issuer + "/authorize"
        if method == "POST":
            return browser.go(url, method="POST", data=params)
        return browser.go(requests.Request("GET", url, params=params).prepare().url or url)

    def sign_in(
        self, browser: Browser, username: str = "an.nguyen", password: str = "correct horse", **overrides: Any
    ) -> dict[str, str]:
        outcome = self.authorize(browser, **overrides)
        if outcome.page is not None:
            outcome = browser.login(outcome.page, username, password)
        params = outcome.params
        assert params.get("iss") == self.op.issuer
        assert params.get("state") == self.last["state"] or "state" not in self.last
        return params

    def token_request(self, data: dict[str, Any], *, auth: str = "basic", **kwargs: Any) -> requests.Response:
        body = dict(data)
        basic = None
        if auth == "basic":
            basic = (self.client.client_id, self.secret or "")
        elif auth == "post":
            body.update(client_id=self.client.client_id, client_secret=self.secret)
        elif auth == "none":
            body["client_id"] = self.client.client_id
        response = requests.post(self.op.issuer + "/token", data=body, auth=basic, timeout=10, **kwargs)
        if response.status_code == 200:
            self.check_tokens(response.json())
        return response

    def check_tokens(self, tokens: dict[str, Any]) -> None:
        """Every token the provider hands out is checked with the independent verifier."""
        header, claims = verify_jws(tokens["access_token"], self.jwks, allowed_algs=("ES256",))
        assert header["typ"] == "at+jwt" and claims["iss"] == self.op.issuer
        assert claims["client_id"] == self.client.client_id and claims["exp"] > claims["iat"]
        if "id_token" in tokens:
            self.verify_id_token(
                tokens["id_token"], access_token=tokens["access_token"], alg=self.client.id_token_signed_response_alg
            )

    def exchange(
        self, code: str, *, auth: str | None = None, verifier: str | None = None, **kwargs: Any
    ) -> requests.Response:
        if auth is None:
            auth = "none" if self.client.public else "basic"
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier or self.last["verifier"],
        }
        return self.token_request(data, auth=auth, **kwargs)

    def verify_id_token(
        self, id_token: str, *, nonce: str | None = None, access_token: str | None = None, alg: str = "RS256"
    ) -> dict[str, Any]:
        """Every check an RP makes (OpenID Connect Core 3.1.3.7), with an independent verifier."""
        header, claims = verify_jws(id_token, self.jwks, allowed_algs=(alg,))
        assert header["alg"] == alg
        assert claims["iss"] == self.op.issuer
        aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        assert self.client.client_id in aud
        import time

        now = time.time()
        assert claims["exp"] > now and claims["iat"] <= now + 5
        if nonce is not None:
            assert claims.get("nonce") == nonce
        if access_token is not None:
            assert claims["at_hash"] == half_hash(access_token)
        return claims

    def code_flow(self, browser: Browser, **overrides: Any) -> dict[str, Any]:
        """Sign in and exchange the code; the token response with ``id_claims`` verified."""
        params = self.sign_in(browser, **overrides)
        response = self.exchange(params["code"])
        assert response.status_code == 200, response.text
        tokens = response.json()
        if "id_token" in tokens:
            tokens["id_claims"] = self.verify_id_token(
                tokens["id_token"],
                nonce=self.last.get("nonce") or None,
                access_token=tokens["access_token"],
                alg=self.client.id_token_signed_response_alg,
            )
        return tokens

    def userinfo(self, access_token: str, *, method: str = "GET", where: str = "header") -> requests.Response:
        url = self.op.issuer + "/userinfo"
        if where == "header":
            return requests.request(method, url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
        if where == "body":
            return requests.post(url, data={"access_token": access_token}, timeout=10)
        return requests.get(url, params={"access_token": access_token}, timeout=10)
