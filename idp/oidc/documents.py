"""The discovery document and the JWKS as prepared bytes, answered in front of Flask.

Every relying party and resource server fetches them, some on every token they check; they change only when
the keys do. :class:`PublishedDocuments` answers GET and HEAD on their paths from bytes built once (the JWKS
once per change of the published keys) with an ``ETag``, so that a conditional request gets 304, and with
the headers the rest of the platform's responses carry. Every other request goes on to the app.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from idp.health import HTTP_DURATION, HTTP_REQUESTS
from idp.oidc.discovery import provider_metadata

if TYPE_CHECKING:
    from idp.oidc.provider import OidcProvider

__all__ = ["DISCOVERY_PATHS", "JWKS_PATH", "PublishedDocuments"]

DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
JWKS_PATH = "/jwks.json"
MAX_AGE = 300
_COMMON_HEADERS = [
    ("Cache-Control", f"public, max-age={MAX_AGE}"),
    ("Access-Control-Allow-Origin", "*"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
]
_PATHS = frozenset({*DISCOVERY_PATHS, JWKS_PATH})
_NOT_ALLOWED = json.dumps(
    {"type": "about:blank", "title": "Method Not Allowed", "status": 405, "detail": "use GET or HEAD"}
).encode()

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class PublishedDocuments:
    """WSGI middleware: the provider's public documents without the cost of a Flask request."""

    def __init__(self, app: WsgiApp, provider: OidcProvider) -> None:
        self.app = app
        self.provider = provider
        metadata = json.dumps(provider_metadata(provider.issuer), ensure_ascii=False, separators=(",", ":"))
        self._discovery = (metadata.encode(), _etag(metadata.encode()))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if path not in _PATHS:
            return self.app(environ, start_response)
        if method not in ("GET", "HEAD"):
            start_response(
                "405 Method Not Allowed",
                [
                    ("Content-Type", "application/problem+json"),
                    ("Allow", "GET, HEAD"),
                    ("Content-Length", str(len(_NOT_ALLOWED))),
                ],
            )
            return [_NOT_ALLOWED]
        started = time.perf_counter()
        if path == JWKS_PATH:
            body, etag = self.provider.keys.jwks_document()
            content_type = "application/jwk-set+json"
        else:
            body, etag = self._discovery
            content_type = "application/json"
        headers = [("Content-Type", content_type), ("ETag", etag), *_COMMON_HEADERS]
        headers.append(("X-Request-ID", uuid.uuid4().hex[:16]))
        if environ.get("wsgi.url_scheme") == "https":
            headers.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
        if etag in environ.get("HTTP_IF_NONE_MATCH", ""):
            status, body = "304 Not Modified", b""
        else:
            status = "200 OK"
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        HTTP_REQUESTS.labels(method, path, status[:3]).inc()  # as the app counts: by route
        HTTP_DURATION.labels(path).observe(time.perf_counter() - started)
        return [b"" if method == "HEAD" else body]
