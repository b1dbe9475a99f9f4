"""private_key_jwt with a jwks_uri: the client's keys are fetched from a real HTTP server, cached, and fetched
with limits (no redirects, a size and a time limit, no private addresses unless the operator allows them)."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import idp.oidc.client_keys as client_keys
from directory.memory import InMemoryDirectory
from idp.oidc.client_keys import (
    COOLDOWN,
    MAX_BYTES,
    MAX_TTL,
    TIMEOUT,
    ClientKeysUnavailableError,
    fetch_jwks,
    is_public_address,
)
from idp.oidc.clients import ClientSpec
from tests.idp.jose_check import EcKey
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.servers import JwksServer, jwks_server

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Clock:
    """Moves the key cache's clock forward (the cache reads ``client_keys._now``); real time still passes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.monotonic
        monkeypatch.setattr(client_keys, "_now", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def fetching_op(tmp_path: Path, directory: InMemoryDirectory) -> Iterator[LiveProvider]:
    """A provider that may fetch from loopback: the test servers are there."""
    with live_provider(tmp_path, directory, oidc__client_jwks_allow_private_addresses=True) as live:
        yield live


@pytest.fixture
def server() -> Iterator[JwksServer]:
    with jwks_server() as s:
        yield s


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


class Service:
    """A client_credentials service client that authenticates with private_key_jwt and a jwks_uri."""

    def __init__(self, op: LiveProvider, jwks_uri: str) -> None:
        self.op = op
        self.token_url = op.issuer + "/token"
        record, _ = op.provider.clients.add(
            ClientSpec(
                name="Dịch vụ ký số",
                grant_types=("client_credentials",),
                scopes=("profile",),
                auth_method="private_key_jwt",
                jwks_uri=jwks_uri,
            )
        )
        self.client_id = record.client_id

    def token(self, key: EcKey) -> requests.Response:
        data = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": key.client_assertion(self.client_id, self.token_url),
        }
        return requests.post(self.token_url, data=data, timeout=30)


def _ok(response: requests.Response) -> bool:
    return response.status_code == 200 and "access_token" in response.json()


def _refused(response: requests.Response) -> bool:
    return response.status_code in (400, 401) and response.json()["error"] == "invalid_client"


def test_keys_are_fetched_once_then_cached(fetching_op: LiveProvider, server: JwksServer) -> None:
    key = EcKey()
    server.jwks = key.jwks()
    service = Service(fetching_op, server.url)
    for _ in range(5):
        assert _ok(service.token(key))
    assert server.requests == 1


@pytest.mark.parametrize(
    ("cache_control", "fresh_for"),
    [
        ("public, max-age=120", 120.0),
        (None, client_keys.DEFAULT_TTL),
        ("no-store", client_keys.MIN_TTL),  # still cached a minute: an assertion never costs a fetch
        ("max-age=5", client_keys.MIN_TTL),
        ("max-age=31536000", MAX_TTL),  # a year is cut to a day
    ],
)
def test_cache_control_max_age_is_honoured_within_bounds(
    fetching_op: LiveProvider, server: JwksServer, clock: Clock, cache_control: str | None, fresh_for: float
) -> None:
    key = EcKey()
    server.jwks = key.jwks()
    if cache_control:
        server.headers["Cache-Control"] = cache_control
    service = Service(fetching_op, server.url)
    assert _ok(service.token(key)) and server.requests == 1
    clock.advance(fresh_for - 2)
    assert _ok(service.token(key)) and server.requests == 1
    clock.advance(4)
    assert _ok(service.token(key)) and server.requests == 2


def test_unknown_kid_refreshes_at_most_once_per_cooldown(
    fetching_op: LiveProvider, server: JwksServer, clock: Clock
) -> None:
    old = EcKey()
    server.jwks = old.jwks()
    service = Service(fetching_op, server.url)
    assert _ok(service.token(old)) and server.requests == 1
    # the client rotates its key: the first assertion with the new kid fetches the set again
    new = EcKey()
    server.jwks = new.jwks()
    clock.advance(COOLDOWN + 1)
    assert _ok(service.token(new)) and server.requests == 2
    # assertions with kids the client never published make no fetch until the cool-down has passed
    for _ in range(10):
        assert _refused(service.token(EcKey()))
    assert server.requests == 2
    clock.advance(COOLDOWN + 1)
    for _ in range(10):
        assert _refused(service.token(EcKey()))
    assert server.requests == 3


def test_redirect_is_not_followed(fetching_op: LiveProvider, server: JwksServer) -> None:
    key = EcKey()
    with jwks_server() as elsewhere:
        elsewhere.jwks = key.jwks()
        server.redirect_to = elsewhere.url
        service = Service(fetching_op, server.url)
        response = service.token(key)
        assert _refused(response), response.text
        assert server.requests == 1 and elsewhere.requests == 0


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "no-content-length"])
def test_oversize_jwks_is_refused(fetching_op: LiveProvider, server: JwksServer, announced: bool) -> None:
    key = EcKey()
    document = key.jwks()
    document["padding"] = "x" * (MAX_BYTES + 1)  # a valid JWK Set, just too big
    server.body = json.dumps(document).encode()
    server.send_length = announced  # without a length, the limit is applied while reading
    service = Service(fetching_op, server.url)
    response = service.token(key)
    assert _refused(response), response.text
    assert "jwks_uri" in response.json()["error_description"]


def test_slow_server_times_out(fetching_op: LiveProvider, server: JwksServer) -> None:
    """One byte every 0.2 s: no single read waits long, yet the whole fetch is cut at the time limit."""
    key = EcKey()
    server.jwks = key.jwks()
    server.trickle_seconds = 0.2
    service = Service(fetching_op, server.url)
    started = time.monotonic()
    assert _refused(service.token(key))
    elapsed = time.monotonic() - started
    print(f"slow jwks_uri refused after {elapsed:.2f} s (limit {TIMEOUT} s)")
    # a failed fetch is not retried at once: the next assertions are refused without a request
    assert _refused(service.token(key)) and server.requests == 1


def test_loopback_jwks_uri_is_refused_without_the_setting(
    op: LiveProvider, server: JwksServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = EcKey()
    server.jwks = key.jwks()
    service = Service(op, server.url)
    response = service.token(key)
    assert _refused(response), response.text
    assert response.json()["error_description"] == "The client's keys cannot be fetched from its jwks_uri."
    assert server.requests == 0
    assert any("ANTIN_OIDC_CLIENT_JWKS_ALLOW_PRIVATE_ADDRESSES" in r.getMessage() for r in caplog.records)


# -- the fetch itself ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def _resolver(answers: list[str], calls: list[str]) -> Any:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        calls.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers
        ]

    return getaddrinfo


def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch, server: JwksServer) -> None:
    calls: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(["8.8.8.8", "127.0.0.1"], calls))
    port = server.url.split(":")[2].split("/")[0]
    with pytest.raises(ClientKeysUnavailableError, match="non-public address"):
        fetch_jwks(f"http://keys.example:{port}/jwks.json", allow_private=False)
    assert server.requests == 0


def test_connects_to_the_checked_address_without_resolving_again(
    monkeypatch: pytest.MonkeyPatch, server: JwksServer
) -> None:
    """DNS rebinding: the name is resolved once; the connection goes to that address, with the name as Host."""
    key = EcKey()
    server.jwks = key.jwks()
    calls: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(["127.0.0.1"], calls))
    port = server.url.split(":")[2].split("/")[0]
    jwks, _max_age = fetch_jwks(f"http://keys.example:{port}/jwks.json", allow_private=True)
    assert jwks == key.jwks() and calls == ["keys.example"] and server.requests == 1
    assert server.last_host == f"keys.example:{port}"


# -- the cache's rules, with a stand-in fetcher ---------------------------------------------------------------


class Fetcher:
    def __init__(self) -> None:
        self.calls = 0
        self.answer: dict[str, Any] | None = {"keys": [{"kid": "a"}]}

    def __call__(self, uri: str) -> tuple[dict[str, Any], float | None]:
        self.calls += 1
        if self.answer is None:
            raise ClientKeysUnavailableError(uri, "HTTP 503")
        return self.answer, None


def test_a_failed_refresh_keeps_the_keys_still_valid(clock: Clock) -> None:
    fetcher = Fetcher()
    cache = client_keys.RemoteJwks(allow_private_addresses=False, fetch=fetcher)
    uri = "https://rp.example/jwks"
    assert cache.get(uri, kid="a") == fetcher.answer
    fetcher.answer = None
    clock.advance(COOLDOWN + 1)
    with pytest.raises(ClientKeysUnavailableError):
        cache.get(uri, kid="b")  # an unknown kid: a refresh, which fails
    assert cache.get(uri, kid="a") == {"keys": [{"kid": "a"}]}  # the known key goes on working
    assert fetcher.calls == 2


def test_a_failed_fetch_is_not_retried_before_the_cooldown(clock: Clock) -> None:
    fetcher = Fetcher()
    fetcher.answer = None
    cache = client_keys.RemoteJwks(allow_private_addresses=False, fetch=fetcher)
    uri = "https://rp.example/jwks"
    for _ in range(5):
        with pytest.raises(ClientKeysUnavailableError, match="HTTP 503"):
            cache.get(uri, kid="a")
    assert fetcher.calls == 1
    clock.advance(COOLDOWN + 1)
    fetcher.answer = {"keys": [{"kid": "a"}]}
    assert cache.get(uri, kid="a") == fetcher.answer and fetcher.calls == 2


def _self_signed(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, str]:
    """A server TLS context whose certificate names ``name``, and that certificate (PEM) for a client to trust."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (tmp_path / "cert.pem").write_text(pem)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context, pem


def test_https_checks_the_certificate_against_the_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Connected to the checked address, TLS still verifies the certificate for the name in the URI."""
    server_tls, pem = _self_signed(tmp_path, "keys.example")
    key = EcKey()
    calls: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(["127.0.0.1"], calls))
    with jwks_server(server_tls) as server:
        server.jwks = key.jwks()
        # not trusted by the system: refused
        with pytest.raises(ClientKeysUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch_jwks(f"https://keys.example:{server.port}/jwks.json", allow_private=True)
        trusting = ssl.create_default_context(cadata=pem)
        monkeypatch.setattr(ssl, "create_default_context", lambda: trusting)
        jwks, _ = fetch_jwks(f"https://keys.example:{server.port}/jwks.json", allow_private=True)
        assert jwks == key.jwks()
        # the same server under another name: the certificate does not match
        with pytest.raises(ClientKeysUnavailableError, match="Hostname mismatch"):
            fetch_jwks(f"https://other.example:{server.port}/jwks.json", allow_private=True)
