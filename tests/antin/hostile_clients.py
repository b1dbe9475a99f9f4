"""Hostile clients against the production setup (issue 14, item 9): slow-loris connections that never finish
their headers, a body that trickles in, a header flood, an oversized header and a body over the upload limit —
each gets a clear answer or is cut by the proxy's timeouts, and an official signing in meanwhile is served.

A phase of tests/antin/test_two_instances.py (it shares that test's platform: nginx from docs/production in
front of two `antin serve` instances)."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from tests.antin.two_instances import DOCS, Platform

SLOW_CONNECTIONS = 150  # more than the two instances' threads together (under gunicorn, straight to it, they'd starve)


def nginx_seconds(directive: str) -> float:
    """A timeout as docs/production/nginx.conf sets it (the file the test's nginx runs)."""
    found = re.search(rf"^\s*{directive}\s+(\d+)s;", (DOCS / "nginx.conf").read_text(), re.MULTILINE)
    assert found, f"docs/production/nginx.conf sets no {directive}"
    return float(found.group(1))


def tls_connection(platform: Platform) -> ssl.SSLSocket:
    parts = urlsplit(platform.issuer)
    context = ssl.create_default_context(cafile=platform.ca_file)
    raw = socket.create_connection((parts.hostname or "localhost", parts.port or 443), timeout=30)
    return context.wrap_socket(raw, server_hostname=parts.hostname)


def closed_by_server(conn: ssl.SSLSocket) -> bool:
    """The proxy closed the connection (with or without a 408 first)."""
    try:
        conn.settimeout(0.5)
        data = conn.recv(4096)
    except TimeoutError:
        return False
    except (ssl.SSLError, OSError):
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408")


def hostile_clients_leave_the_others_served(platform: Platform) -> None:
    slow_loris_is_cut_while_officials_sign_in(platform)
    a_trickling_body_is_cut(platform)
    header_floods_and_oversized_requests_get_clear_answers(platform)


def slow_loris_is_cut_while_officials_sign_in(platform: Platform) -> None:
    host = urlsplit(platform.issuer).netloc
    slow: list[ssl.SSLSocket] = []
    stop = threading.Event()

    def drip() -> None:  # one more header line a second, never the blank line that ends them
        while not stop.wait(1.0):
            for conn in list(slow):
                with contextlib.suppress(OSError):
                    conn.sendall(b"X-Slow: 1\r\n")

    try:
        for _ in range(SLOW_CONNECTIONS):
            conn = tls_connection(platform)
            conn.sendall(f"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: {host}\r\n".encode())
            slow.append(conn)
        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        opened = time.monotonic()
        # an official signs in meanwhile, through the same proxy, to either instance
        rp = platform.relying_party()
        started = time.monotonic()
        tokens = platform.sign_in(rp, platform.browser())
        assert "id_token" in tokens
        served_in = time.monotonic() - started
        assert all(
            platform.session().get(platform.issuer + "/healthz", timeout=10).status_code == 200 for _ in range(10)
        )
        # the proxy cuts every slow connection once its header timeout passes, dripping or not
        limit = nginx_seconds("client_header_timeout")
        time.sleep(max(0.0, opened + limit + 1.0 - time.monotonic()))
        deadline = time.monotonic() + 5
        while True:
            still_open = [conn for conn in slow if not closed_by_server(conn)]
            if not still_open or time.monotonic() > deadline:
                break
        assert not still_open, f"{len(still_open)} slow connections still open after {limit:.0f} s"
        print(f"slow-loris: {SLOW_CONNECTIONS} connections, a sign-in in {served_in:.2f} s, all cut at {limit:.0f} s")
    finally:
        stop.set()
        for conn in slow:
            with contextlib.suppress(OSError):
                conn.close()


def a_trickling_body_is_cut(platform: Platform) -> None:
    """A token request that announces 10 kB and stops after a few bytes: the proxy holds it (it buffers bodies,
    so no instance thread waits) and drops it when the body timeout passes."""
    host = urlsplit(platform.issuer).netloc
    conn = tls_connection(platform)
    try:
        conn.sendall(
            f"POST /token HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 10000\r\n\r\ngrant_type=".encode()
        )
        limit = nginx_seconds("client_body_timeout")
        conn.settimeout(limit + 10)
        started = time.monotonic()
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := conn.recv(4096):
                answer += chunk
        waited = time.monotonic() - started
        assert waited < limit + 5, f"the stalled body held the connection {waited:.1f} s"
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:200]
    finally:
        conn.close()


def header_floods_and_oversized_requests_get_clear_answers(platform: Platform) -> None:
    url = platform.issuer + "/.well-known/openid-configuration"
    # one header of 64 kB: the proxy refuses it (400 "Request Header Or Cookie Too Large")
    huge = platform.session().get(url, headers={"X-Big": "x" * 65_536}, timeout=10)
    assert huge.status_code in (400, 431, 494), huge.status_code
    # 300 small headers fit the proxy's buffers and reach the instance, whose server refuses over 100 fields with 431
    # (granian: an empty body and the connection closed; gunicorn: a short page)
    for session in (platform.session(), platform.session(platform.a)):
        many = session.get(url, headers={f"X-H{i}": "1" for i in range(300)}, timeout=10)
        assert many.status_code == 431, many.status_code
        assert "Traceback" not in many.text
    # a body over the upload limit: 413 from the proxy before the body is read, and from an instance (for a
    # proxy configured with a bigger limit) with a page; neither waits for the body announced
    limit_mb = int(re.findall(r"client_max_body_size (\d+)m;", (DOCS / "nginx.conf").read_text())[0])
    too_big = announce_a_big_upload(tls_connection(platform), urlsplit(platform.issuer).netloc, limit_mb + 1)
    assert too_big.startswith(b"HTTP/1.1 413"), too_big[:200]
    instance = urlsplit(platform.b.url)
    plain = socket.create_connection((instance.hostname or "127.0.0.1", instance.port or 80), timeout=10)
    too_big = announce_a_big_upload(plain, urlsplit(platform.issuer).netloc, limit_mb + 1)
    assert too_big.startswith(b"HTTP/1.1 413"), too_big[:200]
    assert b"text/html" in too_big.split(b"\r\n\r\n")[0].lower(), too_big[:400]  # the page says the limit
    # the platform still answers everyone
    assert platform.session().get(url, timeout=10).status_code == 200


def announce_a_big_upload(conn: socket.socket, host: str, megabytes: int) -> bytes:
    """POST a PDF to the public verification page announcing ``megabytes`` and sending only its first bytes."""
    try:
        conn.settimeout(10)
        conn.sendall(
            f"POST /verify HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"X-Forwarded-Proto: https\r\nContent-Length: {megabytes * 1024 * 1024}\r\n\r\n--x\r\n".encode()
        )
        answer = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in answer and (chunk := conn.recv(4096)):
                answer += chunk
        return answer
    finally:
        conn.close()
