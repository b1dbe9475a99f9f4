"""A client's public keys for ``private_key_jwt``, fetched from its registered ``jwks_uri`` with care.

The provider makes this request on behalf of whoever sends a client assertion naming the client, so it is an
outbound request an anonymous caller can trigger. It is therefore:

- cached per URI, for the ``Cache-Control: max-age`` the client's server sends, kept within
  [``MIN_TTL``, ``MAX_TTL``] (``DEFAULT_TTL`` without one; ``no-store``/``no-cache`` count as ``MIN_TTL``);
- refreshed early only for an assertion whose ``kid`` the cached set lacks (the client rotated its key), and
  never more than once per ``COOLDOWN`` seconds per URI, whatever the ``kid`` and whether the fetch failed:
  an assertion with random ``kid`` values cannot make us fetch in a loop;
- made straight to the host (no proxy from the environment), without following redirects, with a total time
  limit (``TIMEOUT``, connecting and reading included) and a size limit (``MAX_BYTES``);
- refused when the host resolves to any address that is not public (loopback, private, link-local, CGNAT,
  multicast, reserved), unless the operator allows it; every resolved address is checked, and the connection is
  made to a checked address, never by resolving the name a second time (no DNS rebinding).

The cache is per process (each worker fetches for itself, at most once per ``COOLDOWN``); its size is bounded by
the number of registered clients, since only registered ``jwks_uri`` values are ever fetched.
"""

from __future__ import annotations

import contextlib
import email.message
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from idp.oidc.errors import ClientKeysUnavailableError

__all__ = ["ClientKeysUnavailableError", "RemoteJwks", "fetch_jwks"]

TIMEOUT = 3.0
MAX_BYTES = 64 * 1024
MIN_TTL = 60.0
DEFAULT_TTL = 300.0
MAX_TTL = 24 * 3600.0
COOLDOWN = 30.0
_CHUNK = 8192

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _now() -> float:
    return time.monotonic()


# -- one fetch ------------------------------------------------------------------------------------------------


def is_public_address(address: IpAddress) -> bool:
    """True for an address on the public Internet; False for loopback, private, link-local, CGNAT, multicast…"""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _resolve(uri: str, host: str, port: int, *, allow_private: bool) -> list[IpAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        raise ClientKeysUnavailableError(uri, f"cannot resolve {host}: {err}") from err
    addresses: list[IpAddress] = []
    for *_rest, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not allow_private:
        # every address is checked: a name that resolves to one public and one private address is refused
        refused = [str(a) for a in addresses if not is_public_address(a)]
        if refused:
            raise ClientKeysUnavailableError(
                uri,
                f"{host} resolves to a non-public address ({', '.join(refused)});"
                " set ANTIN_OIDC_CLIENT_JWKS_ALLOW_PRIVATE_ADDRESSES=true to allow it",
            )
    if not addresses:
        raise ClientKeysUnavailableError(uri, f"{host} has no address")
    return addresses


def _connect(address: IpAddress, port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to this very address (``socket.create_connection`` would resolve again)."""
    sock = socket.socket(socket.AF_INET6 if address.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((str(address), port))
    except OSError:
        sock.close()
        raise
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to an address already checked: the name is used for the Host header only."""

    def __init__(self, host: str, port: int, address: IpAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address already checked; the certificate is still checked against the name."""

    def __init__(self, host: str, port: int, address: IpAddress, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = _connect(self._address, self.port, self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def _max_age(headers: email.message.Message) -> float | None:
    """The ``max-age`` of a Cache-Control header; 0 for ``no-store``/``no-cache``; None without either."""
    value = headers.get("Cache-Control")
    if not value:
        return None
    max_age: float | None = None
    for directive in value.lower().split(","):
        name, _, argument = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age":
            try:
                max_age = float(int(argument.strip().strip('"')))
            except ValueError:
                continue
    return max_age


def _read_limited(uri: str, response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise ClientKeysUnavailableError(uri, f"larger than {max_bytes} bytes (Content-Length {length})")
    body = bytearray()
    while True:
        if _now() > deadline:
            raise ClientKeysUnavailableError(uri, "too slow")
        chunk = response.read1(_CHUNK)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise ClientKeysUnavailableError(uri, f"larger than {max_bytes} bytes")


def fetch_jwks(
    uri: str, *, allow_private: bool, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES
) -> tuple[dict[str, Any], float | None]:
    """GET one JWK Set with every limit of this module; return it and its Cache-Control max-age, if any."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientKeysUnavailableError(uri, "not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as err:
        raise ClientKeysUnavailableError(uri, "bad port") from err
    addresses = _resolve(uri, parts.hostname, port, allow_private=allow_private)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = _now() + timeout
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    last_error: Exception | None = None
    for address in addresses:
        connection = connection_class(parts.hostname, port, address, max(0.01, deadline - _now()))
        # the hard deadline: a server that trickles bytes cannot hold the request past it
        expired = threading.Event()
        watchdog = threading.Timer(max(0.0, deadline - _now()), _abort, (connection, expired))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(
                "GET",
                path,
                headers={"Accept": "application/jwk-set+json, application/json", "User-Agent": "antin-idp"},
            )
            response = connection.getresponse()
            if 300 <= response.status < 400:
                raise ClientKeysUnavailableError(uri, f"HTTP {response.status}: redirects are not followed")
            if response.status != 200:
                raise ClientKeysUnavailableError(uri, f"HTTP {response.status}")
            body = _read_limited(uri, response, max_bytes, deadline)
            if expired.is_set():  # the watchdog cut the body short: what was read is not the whole set
                raise TimeoutError("deadline")
            max_age = _max_age(response.msg)
        except (OSError, http.client.HTTPException, ValueError) as err:
            if expired.is_set() or _now() >= deadline:
                raise ClientKeysUnavailableError(uri, f"no answer within {timeout:g} s") from err
            last_error = err
            continue
        finally:
            watchdog.cancel()
            connection.close()
        return _jwk_set(uri, body), max_age
    raise ClientKeysUnavailableError(uri, f"cannot connect: {last_error}") from last_error


def _abort(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """Wake a read blocked on the connection's socket (closing alone would not, on Linux)."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _jwk_set(uri: str, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as err:
        raise ClientKeysUnavailableError(uri, "not JSON") from err
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ClientKeysUnavailableError(uri, "not a JWK Set (no 'keys' array)")
    return document


# -- the cache ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    jwks: dict[str, Any] | None  # None: the last attempt failed
    kids: frozenset[str]
    attempted_at: float
    expires_at: float
    error: ClientKeysUnavailableError | None = None


Fetcher = Callable[[str], tuple[dict[str, Any], float | None]]


class RemoteJwks:
    """Clients' JWK Sets by ``jwks_uri``, cached as the module docstring says."""

    def __init__(self, *, allow_private_addresses: bool, fetch: Fetcher | None = None) -> None:
        self._fetch: Fetcher = fetch or (lambda uri: fetch_jwks(uri, allow_private=allow_private_addresses))
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, uri: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(uri, threading.Lock())

    def get(self, uri: str, *, kid: str | None) -> dict[str, Any]:
        """The JWK Set at ``uri``: from the cache when it is fresh and knows ``kid``; raises when unavailable."""
        with self._lock(uri):  # one fetch per URI at a time; the others then read what it fetched
            now = _now()
            entry = self._entries.get(uri)
            fresh = entry if entry is not None and entry.jwks is not None and now < entry.expires_at else None
            if fresh is not None and fresh.jwks is not None and (kid is None or kid in fresh.kids):
                return fresh.jwks
            if entry is not None and now - entry.attempted_at < COOLDOWN:
                if fresh is not None and fresh.jwks is not None:
                    return fresh.jwks  # an unknown kid so soon after a fetch: the signature check will refuse it
                raise entry.error or ClientKeysUnavailableError(uri, "not fetched again before the cool-down ends")
            try:
                jwks, max_age = self._fetch(uri)
            except ClientKeysUnavailableError as err:
                if fresh is not None:  # a failed early refresh keeps the keys still valid, and starts the cool-down
                    self._entries[uri] = _Entry(fresh.jwks, fresh.kids, now, fresh.expires_at, err)
                else:
                    self._entries[uri] = _Entry(None, frozenset(), now, now, err)
                raise
            ttl = min(MAX_TTL, max(MIN_TTL, DEFAULT_TTL if max_age is None else max_age))
            kids = frozenset(str(k["kid"]) for k in jwks["keys"] if isinstance(k, dict) and "kid" in k)
            self._entries[uri] = _Entry(jwks, kids, now, now + ttl)
            return jwks
