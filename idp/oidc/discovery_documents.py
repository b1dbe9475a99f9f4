"""The discovery document and the JWKS as prepared bytes, answered in front of Flask.

Every relying party and resource server fetches them, some on every token they check; they change only when
the keys do. :class:`PublishedDocuments` answers GET and HEAD on their paths from bytes built once (the JWKS
once per change of the published keys) with an ``ETag``, so that a conditional request gets 304, and with
the headers the rest of the platform's responses carry. Every other request goes on to the app.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from antin.kernel.database import database_outage, outage_reason
from antin.kernel.health import count_request
from antin.kernel.web import request_id_for
from idp.oidc.discovery import provider_metadata

if TYPE_CHECKING:
    from idp.oidc.service import OidcProvider

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
log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _problem(start_response: StartResponse, status: str, detail: str, *extra: tuple[str, str]) -> list[bytes]:
    """An RFC 9457 problem, as the rest of the platform answers errors."""
    code, title = status.split(" ", 1)
    body = json.dumps({"type": "about:blank", "title": title, "status": int(code), "detail": detail}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/problem+json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *extra,
        ],
    )
    return [body]


class PublishedDocuments:
    """WSGI middleware: the provider's public documents without the cost of a Flask request."""

    def __init__(self, app: WsgiApp, provider: OidcProvider, *, trusted_proxies: bool = False) -> None:
        self.app = app
        self.provider = provider
        self.trusted_proxies = trusted_proxies
        metadata = json.dumps(provider_metadata(provider.issuer), ensure_ascii=False, separators=(",", ":")).encode()
        self._discovery = (metadata, _etag(metadata))
        self._jwks = (b"", _etag(b""))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if path not in _PATHS:
            return self.app(environ, start_response)
        if method not in ("GET", "HEAD"):
            return _problem(start_response, "405 Method Not Allowed", "use GET or HEAD", ("Allow", "GET, HEAD"))
        started = time.perf_counter()
        if path == JWKS_PATH:
            try:
                body = self.provider.keys.jwks_json()
            except Exception as err:  # the database is down, or the keys cannot be read: say so, briefly
                if database_outage(err):  # its message would be the driver's story and the SQL, on many lines
                    log.warning("the JWKS could not be built: the database is unavailable (%s)", outage_reason(err))
                else:
                    log.error("the JWKS could not be built: %s", err)
                return _problem(start_response, "503 Service Unavailable", "the signing keys are not available")
            if body is not self._jwks[0]:  # the keys changed: one new ETag, not one per request
                self._jwks = (body, _etag(body))
            etag = self._jwks[1]
            content_type = "application/jwk-set+json"
        else:
            body, etag = self._discovery
            content_type = "application/json"
        headers = [("Content-Type", content_type), ("ETag", etag), *_COMMON_HEADERS]
        headers.append(("X-Request-ID", request_id_for(environ.get("HTTP_X_REQUEST_ID", ""), self.trusted_proxies)))
        if environ.get("wsgi.url_scheme") == "https":
            headers.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
        if_none_match = environ.get("HTTP_IF_NONE_MATCH", "")
        if if_none_match.strip() == "*" or etag in if_none_match:
            status, body = "304 Not Modified", b""
        else:
            status = "200 OK"
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        count_request(method, path, status[:3], time.perf_counter() - started)  # as the app counts: by route
        return [b"" if method == "HEAD" else body]
