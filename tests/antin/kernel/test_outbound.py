"""The kernel's outbound requests against a real local HTTP server: inward destinations refused before anything
is sent, the allow-list, the checked address connected to (DNS rebinding, with a fake resolver), no redirects,
the size and time limits."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import antin.kernel.outbound as outbound
from antin.kernel.outbound import (
    OutboundFailedError,
    OutboundPolicy,
    OutboundRefusedError,
    is_public_address,
    outbound_policy,
    registration_problem,
    send,
)
from antin.kernel.settings import SettingsError
from antin.settings import load_settings

PUBLIC = "93.184.216.34"  # a public address that no test ever reaches: connections are redirected to the server


class Receiver:
    """A local application: records each request; ``/redirect`` answers 302, ``/big`` 1 MB, ``/slow`` trickles."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str, bytes]] = []  # method, path, Host, body
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.requests.append((self.command, self.path, self.headers["Host"], self.rfile.read(length)))
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/landed")
                    self.end_headers()
                elif self.path == "/big":
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"x" * 1024 * 1024)
                elif self.path == "/slow":
                    self.send_response(200)
                    self.end_headers()
                    for _ in range(50):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.1)
                else:
                    self.send_response(204)
                    self.end_headers()

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def resolver(*answers: list[str]) -> tuple[Any, list[str]]:
    """A fake ``getaddrinfo``: its n-th call answers ``answers[n]`` (the last one again after that)."""
    calls: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        calls.append(host)
        addresses = answers[min(len(calls), len(answers)) - 1]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    return getaddrinfo, calls


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
        ("224.0.0.1", False),  # multicast, though "global"
        ("240.0.0.1", False),  # reserved
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("ff0e::1", False),  # global-scope multicast
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:169.254.169.254", False),
        ("::7f00:1", False),  # IPv4-compatible loopback
        ("2002:7f00:1::", False),  # 6to4 of loopback
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("8.8.8.8", True),
        ("::ffff:8.8.8.8", True),
        ("2002:808:808::1", True),  # 6to4 of a public address
        ("2001:4860:4860::8888", True),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",
        "http://10.1.2.3:{port}/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://0x7f000001:{port}/hook",  # a number that some resolvers read as 127.0.0.1
        "http://localhost:{port}/hook",
    ],
)
def test_inward_destinations_are_refused_before_anything_is_sent(receiver: Receiver, url: str) -> None:
    with pytest.raises((OutboundRefusedError, OutboundFailedError)) as refused:
        send("POST", url.format(port=receiver.port), policy=OutboundPolicy(), body=b"x", timeout=2)
    if "0x7f" not in url:  # getaddrinfo either refuses the odd spelling or reads 127.0.0.1, which is refused
        assert isinstance(refused.value, OutboundRefusedError)
        assert "non-public address" in refused.value.reason and "OUTBOUND_ALLOW" in refused.value.reason
    assert receiver.requests == []


def test_a_name_resolving_to_loopback_is_refused(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, calls = resolver(["127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(OutboundRefusedError, match=r"hooks\.example resolves to a non-public address \(127\.0\.0\.1\)"):
        send("POST", f"http://hooks.example:{receiver.port}/hook", policy=OutboundPolicy(), body=b"x")
    assert receiver.requests == [] and calls == ["hooks.example"]


def test_one_inward_address_among_public_ones_is_refused(receiver: Receiver) -> None:
    fake, _calls = resolver([PUBLIC, "127.0.0.1"])
    policy = OutboundPolicy(resolver=fake)
    with pytest.raises(OutboundRefusedError, match=r"\(127\.0\.0\.1\)"):
        send("GET", f"http://hooks.example:{receiver.port}/", policy=policy)
    assert receiver.requests == []


def test_an_allowed_host_or_network_is_called(receiver: Receiver) -> None:
    fake, _calls = resolver(["127.0.0.1"])
    by_name = OutboundPolicy.from_entries(["Hooks.Example."], resolver=fake)
    answer = send("POST", f"http://hooks.example:{receiver.port}/hook?a=1", policy=by_name, body=b"event")
    assert answer.status == 204
    assert receiver.requests == [("POST", "/hook?a=1", f"hooks.example:{receiver.port}", b"event")]
    by_network = OutboundPolicy.from_entries(["127.0.0.0/8"])
    assert send("GET", f"http://127.0.0.1:{receiver.port}/", policy=by_network).status == 204
    # the IPv4-mapped form of an allowed address is the same address
    mapped = OutboundPolicy.from_entries(["127.0.0.1"], resolver=resolver(["::ffff:127.0.0.1"])[0])
    assert mapped.allows("hooks.example", ipaddress.ip_address("::ffff:127.0.0.1"))
    # another name for the same address is not allowed by the first name
    with pytest.raises(OutboundRefusedError):
        send("GET", f"http://other.example:{receiver.port}/", policy=by_name)


def test_the_checked_address_is_the_one_connected_to(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name answers a public address, then loopback; the request goes to the public one."""
    fake, calls = resolver([PUBLIC], ["127.0.0.1"])
    connected: list[str] = []
    real_connect = outbound._connect

    def connect(address: Any, port: int, timeout: float | None) -> socket.socket:
        connected.append(str(address))
        # the public address stands for the real application: this test's server plays it
        return real_connect(ipaddress.ip_address("127.0.0.1"), port, timeout)

    monkeypatch.setattr(outbound, "_connect", connect)
    answer = send("POST", f"http://rebind.example:{receiver.port}/hook", policy=OutboundPolicy(resolver=fake))
    assert answer.status == 204
    assert calls == ["rebind.example"]  # resolved once: the second (loopback) answer was never asked for
    assert connected == [PUBLIC]
    assert receiver.requests[0][2] == f"rebind.example:{receiver.port}"  # the name still goes in the Host header


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    answer = send(
        "GET", f"http://127.0.0.1:{receiver.port}/redirect", policy=OutboundPolicy.from_entries(["127.0.0.1"])
    )
    assert answer.status == 302 and answer.headers["Location"] == "/landed"
    assert [path for _m, path, _h, _b in receiver.requests] == ["/redirect"]


def test_the_answer_is_bounded_in_size_and_time(receiver: Receiver) -> None:
    allowed = OutboundPolicy.from_entries(["127.0.0.1"])
    with pytest.raises(OutboundFailedError, match="larger than 65536 bytes"):
        send("GET", f"http://127.0.0.1:{receiver.port}/big", policy=allowed)
    started = time.monotonic()
    with pytest.raises(OutboundFailedError, match=r"no answer within 0\.5 s"):
        send("GET", f"http://127.0.0.1:{receiver.port}/slow", policy=allowed, timeout=0.5)
    print(f"a trickling answer was cut after {time.monotonic() - started:.2f} s (limit 0.5 s)")


def test_not_http_is_refused() -> None:
    for url in ("ftp://example.org/x", "file:///etc/passwd", "http:///nohost", "http://example.org:99999/"):
        with pytest.raises(OutboundRefusedError):
            send("GET", url, policy=OutboundPolicy())


def test_registration_check() -> None:
    policy = OutboundPolicy(resolver=resolver(["127.0.0.1"])[0])
    assert "non-public address (127.0.0.1)" in (registration_problem("https://app.example/hook", policy) or "")
    assert "non-public address (10.0.0.7)" in (registration_problem("https://10.0.0.7/hook", OutboundPolicy()) or "")

    def unknown(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # a name not published yet is accepted: each delivery checks it again
    assert registration_problem("https://later.example/hook", OutboundPolicy(resolver=unknown)) is None
    assert registration_problem("https://app.example/hook", OutboundPolicy(resolver=resolver([PUBLIC])[0])) is None


def test_the_policy_of_the_settings() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    assert outbound_policy((), production=False).allows("localhost", loopback)
    assert not outbound_policy((), production=True).allows("localhost", loopback)
    assert not outbound_policy((), production=False, development_loopback=False).allows("localhost", loopback)
    listed = outbound_policy(("10.20.0.0/16", "apps.internal"), production=True)
    assert listed.allows("x.example", ipaddress.ip_address("10.20.3.4"))
    assert listed.allows("apps.internal", ipaddress.ip_address("10.99.0.1"))
    assert not listed.allows("x.example", ipaddress.ip_address("10.21.0.1"))


def test_the_allow_list_setting() -> None:
    s = load_settings({"ANTIN_SERVER_OUTBOUND_ALLOW": "10.20.0.0/16, apps.internal, fd00::7"})
    assert s.server.outbound_allow == ("10.20.0.0/16", "apps.internal", "fd00::7")
    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_SERVER_OUTBOUND_ALLOW": "10.0.0.0/8, not a host!"})
    assert err.value.problems["ANTIN_SERVER_OUTBOUND_ALLOW"] == (
        "'not a host!' is not a network (CIDR), an address or a host name"
    )
