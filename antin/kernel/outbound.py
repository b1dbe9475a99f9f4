"""Outbound HTTP to URLs that clients and applications register: the one way the server makes such a request.

A back-channel logout URI, a webhook's ``callback_url`` and a client's ``jwks_uri`` are chosen by someone other
than the operator, and the server calls them from inside its own network. Without care, registering
``http://169.254.169.254/…`` or a name that resolves to ``10.0.0.5`` would aim the platform's requests at its cloud
metadata or its internal services (SSRF). Every such request therefore goes through :func:`send`, which:

- resolves the host once and checks every address it resolves to: loopback, private, link-local, CGNAT,
  multicast, reserved and unspecified addresses, and the IPv4-mapped, IPv4-compatible and 6to4 forms of those,
  are refused unless the :class:`OutboundPolicy` allows them (``[server] outbound_allow``);
- connects to an address it checked, never by resolving the name again (no DNS rebinding between check and
  connect); the name is still the Host header and, over https, the name the certificate must match;
- uses no proxy from the environment, follows no redirect, and bounds the whole exchange in time (connecting and
  reading included: a server that trickles bytes is cut at the deadline) and the response body in size.

:func:`registration_problem` runs the same address check when a URL is registered, so a bad one gets a clear
error at once rather than failing at every delivery.
"""

from __future__ import annotations

import contextlib
import email.message
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

__all__ = [
    "DEVELOPMENT_LOOPBACK",
    "OutboundError",
    "OutboundFailedError",
    "OutboundPolicy",
    "OutboundRefusedError",
    "OutboundResponse",
    "is_public_address",
    "outbound_allow_problem",
    "outbound_policy",
    "registration_problem",
    "send",
]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 64 * 1024
# what a developer's machine may call outside production: an application running beside the server
DEVELOPMENT_LOOPBACK = ("localhost", "127.0.0.0/8", "::1/128")
_CHUNK = 8192
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


class OutboundError(Exception):
    """An outbound request that was not made or got no usable answer; ``reason`` says why in a few words."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class OutboundRefusedError(OutboundError):
    """Not an http(s) URL, or its host resolves to an address the policy does not allow: nothing was sent."""


class OutboundFailedError(OutboundError):
    """The request was tried and failed: no address, no connection, no answer in time, or too large an answer."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped ``::ffff:a.b.c.d``, compatible ``::a.b.c.d``, 6to4)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if int(address) >> 32 == 0 and int(address) > 1:  # IPv4-compatible (deprecated), still routed by some stacks
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IpAddress) -> bool:
    """True for an address on the public Internet; False for loopback, private, link-local, CGNAT, multicast,
    reserved and unspecified addresses, and for an IPv6 address that embeds one of those."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
        if address.teredo is not None:
            return False  # a tunnel endpoint: where it leads is not the address's to say
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def _plain(address: IpAddress) -> IpAddress:
    """An IPv4-mapped address as its IPv4 self, so that an allowed IPv4 network covers it too."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def outbound_allow_problem(entry: str) -> str | None:
    """Why one ``outbound_allow`` entry is neither a network (CIDR), an address nor a host name; None if it is."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_network(entry, strict=False)
        return None
    if _HOST_NAME.match(entry.strip().rstrip(".").lower()):
        return None
    return f"{entry!r} is not a network (CIDR), an address or a host name"


@dataclass(frozen=True)
class OutboundPolicy:
    """Which non-public destinations outbound requests may reach; public addresses are always allowed."""

    allowed_networks: tuple[IpNetwork, ...] = ()
    """Networks allowed whatever name leads there (``10.20.0.0/16`` for an internal application network)."""
    allowed_hosts: frozenset[str] = frozenset()
    """Host names allowed whatever they resolve to (lower case, no trailing dot)."""
    allow_every_address: bool = False
    """No address check at all (the older ``client_jwks_allow_private_addresses`` switch)."""
    hint: str = "list it in ANTIN_SERVER_OUTBOUND_ALLOW to allow it"
    """What a refusal tells the operator to do."""
    resolver: Resolver | None = field(default=None, compare=False, repr=False)
    """How names are resolved: ``socket.getaddrinfo`` when None; unit tests give a fake one."""

    @classmethod
    def from_entries(cls, entries: Iterable[str], **options: Any) -> OutboundPolicy:
        """A policy from ``outbound_allow`` entries: each a network (CIDR), an address or a host name."""
        networks: list[IpNetwork] = []
        hosts: set[str] = set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                hosts.add(entry.strip().rstrip(".").lower())
        return cls(allowed_networks=tuple(networks), allowed_hosts=frozenset(hosts), **options)

    def allows(self, host: str, address: IpAddress) -> bool:
        if self.allow_every_address or is_public_address(address):
            return True
        if host.rstrip(".").lower() in self.allowed_hosts:
            return True
        plain = _plain(address)
        return any(plain.version == network.version and plain in network for network in self.allowed_networks)

    def resolve(self, url: str, host: str, port: int) -> list[IpAddress]:
        """Every address ``host`` resolves to, once; refused unless the policy allows each of them."""
        try:
            infos = (self.resolver or socket.getaddrinfo)(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as err:
            raise OutboundFailedError(url, f"cannot resolve {host}: {err}") from err
        addresses: list[IpAddress] = []
        for *_rest, sockaddr in infos:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        # every address is checked: a name that resolves to one public and one private address is refused
        refused = [str(a) for a in addresses if not self.allows(host, a)]
        if refused:
            listed = ", ".join(refused)
            raise OutboundRefusedError(url, f"{host} resolves to a non-public address ({listed}); {self.hint}")
        if not addresses:
            raise OutboundFailedError(url, f"{host} has no address")
        return addresses


def outbound_policy(
    allow: Iterable[str], *, production: bool, development_loopback: bool = True, **options: Any
) -> OutboundPolicy:
    """The policy of ``[server] outbound_allow`` (``allow``), with loopback too outside production unless
    ``development_loopback`` is off (the JWK Set fetcher's rule since before this module)."""
    entries = list(allow)
    if development_loopback and not production:
        entries += DEVELOPMENT_LOOPBACK
    return OutboundPolicy.from_entries(entries, **options)


def _target(url: str) -> tuple[SplitResult, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefusedError(url, "not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as err:
        raise OutboundRefusedError(url, "bad port") from err
    return parts, parts.hostname, port


def registration_problem(url: str, policy: OutboundPolicy) -> str | None:
    """Why the server would refuse to call ``url`` (checked when it is registered), or None.

    A name that does not resolve now is accepted: it may be published later, and every request checks it again.
    """
    try:
        _parts, host, port = _target(url)
        policy.resolve(url, host, port)
    except OutboundRefusedError as err:
        return err.reason
    except OutboundFailedError:
        return None
    return None


# -- one request --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: email.message.Message
    body: bytes


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


def _read_limited(url: str, response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise OutboundFailedError(url, f"larger than {max_bytes} bytes (Content-Length {length})")
    body = bytearray()
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("deadline")
        chunk = response.read1(_CHUNK)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise OutboundFailedError(url, f"larger than {max_bytes} bytes")


def _abort(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """Wake a read blocked on the connection's socket (closing alone would not, on Linux)."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def send(
    method: str,
    url: str,
    *,
    policy: OutboundPolicy,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> OutboundResponse:
    """Make one request with every rule of this module; any status is returned (a 3xx is not followed).

    Raises :class:`OutboundRefusedError` before sending anything to a destination the policy refuses, and
    :class:`OutboundFailedError` when no answer came within ``timeout`` seconds or it was over ``max_bytes``.
    """
    parts, host, port = _target(url)
    addresses = policy.resolve(url, host, port)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    last_error: Exception | None = None
    for address in addresses:
        connection = connection_class(host, port, address, max(0.01, deadline - time.monotonic()))
        # the hard deadline: a server that trickles bytes cannot hold the request past it
        expired = threading.Event()
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _abort, (connection, expired))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            data = _read_limited(url, response, max_bytes, deadline)
            if expired.is_set():  # the watchdog cut the body short: what was read is not the whole answer
                raise TimeoutError("deadline")
            return OutboundResponse(response.status, response.msg, data)
        except (OSError, http.client.HTTPException, ValueError) as err:
            if expired.is_set() or time.monotonic() >= deadline:
                raise OutboundFailedError(url, f"no answer within {timeout:g} s") from err
            last_error = err
        finally:
            watchdog.cancel()
            connection.close()
    raise OutboundFailedError(url, f"cannot connect: {last_error}") from last_error
