"""The OIDC bench's driver measures what it claims to, against a trivial local HTTP server.

No timed assertions on speed: these check that operations are counted, failures are not counted as
successes, latency is really measured (a server that waits 30 ms cannot be reported faster than that),
cookies and login forms are handled like a browser, and token signatures are really verified.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bench.oidc.forms import FormNotFoundError, fill_login_form
from bench.oidc.http import Browser, HttpClient, Target
from bench.oidc.measure import LoadOptions, Measurement, percentile, run_load
from bench.oidc.tokens import Jwks, TokenError, verify_jwt

SLOW_SECONDS = 0.03
LOGIN_PAGE = """<!doctype html><html><body>
<form method="get" action="/search"><input name="q"></form>
<form method="post" action="/session">
  <input type="hidden" name="csrf_token" value="t0k&amp;en">
  <input name="username"><input type="password" name="password">
  <input type="checkbox" name="remember" value="yes">
  <button type="submit" name="action" value="login">Sign in</button>
</form></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/ok":
            self._send(200, b'{"issuer": "x"}', {"Content-Type": "application/json"})
        elif self.path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, b"{}")
        elif self.path == "/fail":
            self._send(500, b"boom")
        elif self.path == "/start":
            self._send(302, b"", {"Location": "/next", "Set-Cookie": "sid=abc; Path=/; HttpOnly"})
        elif self.path == "/next":
            self._send(200, json.dumps({"cookie": self.headers.get("Cookie")}).encode())
        elif self.path == "/logout":
            self._send(200, b"", {"Set-Cookie": "sid=; Path=/; Max-Age=0"})
        else:
            self._send(404, b"")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _load(base: str, path: str, options: LoadOptions) -> Measurement:
    async def go() -> Measurement:
        async with HttpClient(Target(base, base)) as http:

            async def fetch(_task: int) -> None:
                reply = await http.get(base + path)
                if reply.status != 200:
                    raise RuntimeError(f"HTTP {reply.status}")

            return await run_load(path, fetch, options)

    return asyncio.run(go())


def test_successful_requests_are_counted_with_their_latency(server: str) -> None:
    m = _load(server, "/ok", LoadOptions(concurrency=4, duration=0.5, warmup=0.1))
    assert m.ok > 0
    assert m.errors == 0
    assert 0 < m.p50_ms <= m.p99_ms
    assert m.rate == pytest.approx(m.ok / 0.5)


def test_latency_is_measured_not_guessed(server: str) -> None:
    m = _load(server, "/slow", LoadOptions(concurrency=2, duration=0.4, warmup=0.05))
    assert m.ok > 0
    assert m.p50_ms >= SLOW_SECONDS * 1000
    # Two tasks waiting at least 30 ms each cannot complete more than 2 / 0.03 operations a second.
    assert m.rate <= 2 / SLOW_SECONDS


def test_failures_are_errors_not_fast_successes(server: str) -> None:
    m = _load(server, "/fail", LoadOptions(concurrency=2, duration=0.3, warmup=0.0))
    assert m.ok == 0
    assert m.errors > 0
    assert "HTTP 500" in (m.first_error or "")


def test_percentiles_use_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7
    with pytest.raises(ValueError):
        percentile(values, 0)


def test_browser_keeps_and_drops_cookies_like_a_browser(server: str) -> None:
    async def go() -> tuple[object, dict[str, str]]:
        async with HttpClient(Target(server, server)) as http:
            browser = Browser(http)
            first = await browser.get(server + "/start")
            assert first.status == 302 and first.location == server + "/next"
            seen = (await browser.get(first.location)).json()
            await browser.get(server + "/logout")
            return seen, browser.cookies

    seen, left = asyncio.run(go())
    assert seen == {"cookie": "sid=abc"}
    assert left == {}


def test_proxy_target_maps_public_urls_and_says_https() -> None:
    target = Target("https://idp.example/realm", "http://127.0.0.1:8080")
    assert target.local("https://idp.example/realm/token") == "http://127.0.0.1:8080/realm/token"
    assert target.local("https://rp.example/cb") == "https://rp.example/cb"
    assert target.proxy_headers()["X-Forwarded-Proto"] == "https"
    assert target.proxy_headers()["Host"] == "idp.example"


def test_login_form_is_filled_with_its_hidden_fields() -> None:
    action, data = fill_login_form(LOGIN_PAGE, "https://idp.example/login?x=1", "canbo1", "s3cret")
    assert action == "https://idp.example/session"
    assert data == {"csrf_token": "t0k&en", "username": "canbo1", "password": "s3cret", "action": "login"}
    with pytest.raises(FormNotFoundError):
        fill_login_form("<form method=post><input name=q></form>", "https://idp.example/", "a", "b")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _sign(header: dict[str, str], claims: dict[str, object], key: PrivateKey) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}".encode()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input.decode()}.{_b64(signature)}"


@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, Jwks]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rn, en = rsa_key.public_key().public_numbers(), ec_key.public_key().public_numbers()
    jwks = Jwks(
        {
            "keys": [
                {"kty": "RSA", "kid": "r1", "n": _int(rn.n), "e": _int(rn.e), "use": "sig"},
                {"kty": "EC", "kid": "e1", "crv": "P-256", "x": _int(en.x), "y": _int(en.y)},
            ]
        }
    )
    return rsa_key, ec_key, jwks


def test_id_token_signatures_and_claims_are_checked(
    keys: tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, Jwks],
) -> None:
    rsa_key, ec_key, jwks = keys
    claims = {"iss": "https://idp", "aud": "rp", "exp": int(time.time()) + 60, "nonce": "n1", "sub": "u"}
    good_rs = _sign({"alg": "RS256", "kid": "r1"}, claims, rsa_key)
    good_es = _sign({"alg": "ES256", "kid": "e1"}, claims, ec_key)
    assert verify_jwt(good_rs, jwks, issuer="https://idp", audience="rp", nonce="n1")[1]["sub"] == "u"
    assert verify_jwt(good_es, jwks, issuer="https://idp", audience="rp")[0]["alg"] == "ES256"

    head, body, sig = good_rs.split(".")
    forged_body = _b64(json.dumps({**claims, "sub": "admin"}).encode())
    bad = [
        f"{head}.{forged_body}.{sig}",  # claims changed after signing
        _sign({"alg": "RS256", "kid": "r1"}, claims, rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        f"{_b64(json.dumps({'alg': 'none'}).encode())}.{body}.",
        _sign({"alg": "RS256", "kid": "r1"}, {**claims, "exp": int(time.time()) - 3600}, rsa_key),
    ]
    for token in bad:
        with pytest.raises(TokenError):
            verify_jwt(token, jwks, issuer="https://idp", audience="rp")
    with pytest.raises(TokenError, match="nonce"):
        verify_jwt(good_rs, jwks, issuer="https://idp", audience="rp", nonce="other")
    with pytest.raises(TokenError, match="iss"):
        verify_jwt(good_rs, jwks, issuer="https://other", audience="rp")
    with pytest.raises(TokenError, match="aud"):
        verify_jwt(good_rs, jwks, issuer="https://idp", audience="someone-else")
