"""The driver's HTTP layer: aiohttp with one shared connection pool, as a TLS-terminating proxy would talk.

A provider may be served behind a reverse proxy, its public issuer (``https://…``) differing from where it
listens (``http://127.0.0.1:PORT``). :class:`Target` maps public URLs to the local origin and adds the
``X-Forwarded-*`` headers that proxy would add, so the provider runs with its production settings.

:class:`Browser` is one user agent's cookie jar for one login flow: cookies are kept by name (both providers
scope theirs to their own origin), so every flow starts a fresh session, as a new official signing in would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

__all__ = ["Browser", "HttpClient", "Reply", "Target"]


@dataclass(frozen=True)
class Target:
    """Where a provider listens and how its clients see it."""

    issuer: str
    """The public issuer, exactly as the provider's discovery document says."""
    local_origin: str
    """``http://127.0.0.1:PORT``: where the driver really connects."""

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def behind_proxy(self) -> bool:
        return self.public_origin != self.local_origin

    def local(self, url: str) -> str:
        """The URL to connect to for a public URL of the provider (others are left alone)."""
        if self.behind_proxy and url.startswith(self.public_origin):
            return self.local_origin + url[len(self.public_origin) :]
        return url

    def proxy_headers(self) -> dict[str, str]:
        if not self.behind_proxy:
            return {}
        parts = urlsplit(self.issuer)
        return {"Host": parts.netloc, "X-Forwarded-Proto": parts.scheme, "X-Forwarded-For": "127.0.0.1"}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    set_cookies: tuple[tuple[str, str, bool], ...] = ()
    """(name, value, deleted) for each Set-Cookie header."""

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str | None:
        value = self.headers.get("Location")
        return urljoin(self.url, value) if value else None


class HttpClient:
    """One aiohttp session (no cookie jar of its own, keep-alive connections) for every simulated client."""

    def __init__(self, target: Target, *, connections: int = 64, timeout: float = 30.0) -> None:
        self.target = target
        self._connections = connections
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxy_headers = target.proxy_headers()

    async def __aenter__(self) -> HttpClient:
        connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=None, force_close=False)
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        """One request, never following redirects (the flows follow them themselves, as a browser would)."""
        if self._session is None:
            raise RuntimeError("use HttpClient in 'async with'")
        sent = dict(self._proxy_headers)
        if headers:
            sent.update(headers)
        basic = aiohttp.BasicAuth(auth[0], auth[1]) if auth else None
        async with self._session.request(
            method, self.target.local(url), headers=sent, data=data, auth=basic, allow_redirects=False
        ) as response:
            body = await response.read()
            cookies = tuple(_parse_set_cookies(response.headers.getall("Set-Cookie", [])))
            return Reply(response.status, response.headers, body, url, cookies)

    async def get(self, url: str, **kwargs: Any) -> Reply:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Reply:
        return await self.request("POST", url, **kwargs)


def _parse_set_cookies(headers: list[str]) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    for header in headers:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except Exception:  # a cookie a browser would drop too
            continue
        for name, morsel in jar.items():
            deleted = morsel["max-age"] in ("0", "-1") or "1970" in morsel["expires"]
            out.append((name, morsel.value, deleted))
    return out


class Browser:
    """The cookies of one user agent, sent back on every request of one flow."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if extra:
            headers.update(extra)
        return headers

    def _keep(self, reply: Reply) -> Reply:
        for name, value, deleted in reply.set_cookies:
            if deleted:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return reply

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> Reply:
        return self._keep(await self.client.get(url, headers=self._headers(headers)))

    async def post(self, url: str, data: Mapping[str, str], headers: Mapping[str, str] | None = None) -> Reply:
        return self._keep(await self.client.post(url, data=data, headers=self._headers(headers)))
