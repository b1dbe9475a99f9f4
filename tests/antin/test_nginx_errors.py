"""nginx's own answers, with docs/production/nginx.conf as the two-instance platform runs it (tests/antin/
two_instances.py): when no instance answers, or nginx refuses a request before any sees it, an application gets
problem+json and a browser the platform's page in Vietnamese and English; the instances' own errors pass unchanged.

Both instances "stopped" are two upstream addresses nothing listens on; the running instance is a small HTTP server
answering what an instance would, byte for byte."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from antin.kernel.csp import allowing_style
from antin.kernel.errors import ERROR_STYLE, PROBLEM_JSON
from antin.kernel.web import HSTS
from scripts.nginx_error_pages import ERRORS, files
from tests.antin.two_instances import DOCS, self_signed
from tests.components import free_port
from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)
from tests.servers import nginx_server

JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Accept-Language": "vi"}
# what an instance answers for itself: nginx must leave it alone
OWN_PROBLEM = b'{"type":"urn:antin:overloaded","title":"Service Unavailable","status":503,"detail":"mine"}'
OWN_PAGE = b"<!doctype html><title>404</title><h1>Kh\xc3\xb4ng t\xc3\xacm th\xe1\xba\xa5y trang</h1>"


@contextmanager
def proxy(folder: Path, instances: list[str]) -> Iterator[tuple[str, str]]:
    """nginx with the production site in front of ``instances`` (host:port); yields its URL and its certificate."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    values = {
        "INSTANCE_A": instances[0],
        "INSTANCE_B": instances[1],
        "SERVER_NAME": "localhost",
        "TLS_CERTIFICATE": str(cert),
        "TLS_KEY": str(key),
        "ERROR_PAGES": str(ERRORS),
    }
    with nginx_server(folder / "nginx", DOCS / "nginx.conf", values) as port:
        yield f"https://localhost:{port}", str(cert)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The proxy of a platform whose two instances are both stopped."""
    with proxy(tmp_path_factory.mktemp("stopped"), [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]) as site:
        yield site


def client(cert: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = cert
    return session


def assert_problem(headers: Any, body: bytes, status: int) -> dict[str, Any]:
    """The problem+json nginx sent with ``headers`` (requests' or http.client's) and ``body``."""
    assert headers["Content-Type"] == PROBLEM_JSON
    assert headers["Cache-Control"] == "no-store"
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    # SSI filled in nginx's request id, the one the instances log and the header names
    assert problem["request_id"] == headers["X-Request-ID"] and len(problem["request_id"]) == 32
    assert b"nginx" not in body
    return problem


def test_the_shipped_files_are_what_the_script_writes() -> None:
    shipped = {path.name: path.read_text(encoding="utf-8") for path in ERRORS.iterdir()}
    assert shipped == files(), "run: python -m scripts.nginx_error_pages --write"


def test_an_application_gets_problem_json_when_no_instance_answers(stopped: tuple[str, str]) -> None:
    url, cert = stopped
    session = client(cert)
    token = session.post(url + "/token", data={"grant_type": "authorization_code", "code": "x"}, timeout=10)
    introspect = session.post(url + "/introspect", data={"token": "x"}, headers=JSON, timeout=10)
    # the signing API, even when its client also accepts HTML
    api = session.post(url + "/api/v1/signatures", json={}, headers=BROWSER, timeout=10)
    for response in (token, introspect, api):
        assert response.status_code == 502
        problem = assert_problem(response.headers, response.content, 502)
        assert problem["type"] == "urn:antin:unavailable"
        assert "was not processed" in problem["detail"]
        assert response.headers["Retry-After"] == "5"  # the upstream's fail_timeout


def test_a_browser_gets_the_page_in_vietnamese_then_english(stopped: tuple[str, str]) -> None:
    url, cert = stopped
    page = client(cert).get(url + "/account", headers=BROWSER, timeout=10)
    assert page.status_code == 502
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Retry-After"] == "5"
    assert page.headers["Content-Security-Policy"] == allowing_style(ERROR_STYLE)
    assert page.headers["Strict-Transport-Security"] == HSTS[1]  # what the instances send over https
    text = page.text
    assert text.index("Hệ thống tạm thời không phản hồi") < text.index("The service is not responding")
    assert page.headers["X-Request-ID"] in text and "nginx" not in text


@pytest.mark.browser
def test_the_page_in_chromium(chromium: Any, stopped: tuple[str, str], tmp_path: Path) -> None:  # noqa: F811
    url, _ = stopped
    context = chromium.new_context(locale="vi-VN", ignore_https_errors=True)
    try:
        page = context.new_page()
        blocked: list[str] = []
        page.on("console", lambda message: blocked.append(message.text) if "Security Policy" in message.text else None)
        response = page.goto(url + "/documents")
        assert response is not None and response.status == 502
        assert page.locator("#error-title").inner_text() == "Hệ thống tạm thời không phản hồi"
        # the style applied (its CSP hash matches): the heading is the platform's red, not the browser's black
        assert page.eval_on_selector("#error-title", "e => getComputedStyle(e).color") == "rgb(165, 14, 14)"
        assert page.locator("[lang=en] h1").inner_text() == "The service is not responding"
        assert not blocked, blocked
        page.screenshot(path=str(tmp_path / "nginx-502.png"), full_page=True)
    finally:
        context.close()


def post_announcing(url: str, cert: str, path: str, megabytes: int, headers: dict[str, str]) -> tuple[Any, bytes]:
    """POST announcing a body of ``megabytes`` and sending only its first bytes: nginx answers on the length."""
    host, port = url.removeprefix("https://").split(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=cert), timeout=10)
    try:
        conn.putrequest("POST", path)
        for name, value in {"Content-Type": "application/pdf", **headers}.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(megabytes * 1024 * 1024))
        conn.endheaders(b"%PDF-1.7\n")
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def test_a_body_over_the_limit_gets_413_problem_json_or_the_page(stopped: tuple[str, str]) -> None:
    url, cert = stopped
    limit_mb = 100  # client_max_body_size, checked below against the file
    assert f"client_max_body_size {limit_mb}m;" in (DOCS / "nginx.conf").read_text()
    response, body = post_announcing(url, cert, "/api/v1/signatures", limit_mb + 1, JSON)
    assert response.status == 413
    problem = assert_problem(response.headers, body, 413)
    assert problem["type"] == "urn:antin:problem:request-too-large"
    assert "not processed" in problem["detail"]
    assert "Retry-After" not in response.headers  # sending it again will not help
    response, body = post_announcing(url, cert, "/verify", limit_mb + 1, BROWSER)
    assert response.status == 413 and response.headers["Content-Type"].startswith("text/html")
    assert "Tệp quá lớn" in body.decode()


def test_requests_nginx_cannot_read_get_clear_answers(stopped: tuple[str, str]) -> None:
    url, cert = stopped
    session = client(cert)
    # one header line over large_client_header_buffers (16 kB): nginx's 494, sent as 400
    huge = session.get(url + "/userinfo", headers={**JSON, "X-Big": "x" * 20_000}, timeout=10)
    assert huge.status_code == 400
    assert assert_problem(huge.headers, huge.content, 400)["type"] == "about:blank"
    # an address over the buffers: nginx has not read the headers, so a browser gets the problem too
    long_address = session.get(url + "/authorize?x=" + "a" * 20_000, headers=BROWSER, timeout=10)
    assert long_address.status_code == 414
    assert "was not processed" in assert_problem(long_address.headers, long_address.content, 414)["detail"]
    page = session.get(url + "/account", headers={**BROWSER, "Cookie": "x" * 20_000}, timeout=10)
    assert page.status_code == 400 and "Yêu cầu không hợp lệ" in page.text
    # plain http to the https port (nginx's 497): a 400 too, not nginx's page
    plain = session.get(url.replace("https://", "http://") + "/token", headers=JSON, timeout=10)
    assert plain.status_code == 400 and assert_problem(plain.headers, plain.content, 400)["type"] == "about:blank"


class Instance(BaseHTTPRequestHandler):
    """Answers as an instance does when it refuses: its own problem+json, its own page."""

    def do_POST(self) -> None:
        self.answer(503, PROBLEM_JSON, OWN_PROBLEM, [("Retry-After", "7")])

    def do_GET(self) -> None:
        self.answer(404, "text/html; charset=utf-8", OWN_PAGE, [])

    def answer(self, status: int, content_type: str, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_instances_own_errors_pass_unchanged(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Instance)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        with proxy(tmp_path, [address, address]) as (url, cert):
            session = client(cert)
            refused = session.post(url + "/token", data={"code": "x"}, timeout=10)
            assert (refused.status_code, refused.content) == (503, OWN_PROBLEM)
            assert refused.headers["Retry-After"] == "7"
            missing = session.get(url + "/nowhere", headers=BROWSER, timeout=10)
            assert (missing.status_code, missing.content) == (404, OWN_PAGE)
    finally:
        server.shutdown()
        server.server_close()
