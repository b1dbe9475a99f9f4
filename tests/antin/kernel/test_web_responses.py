"""Every answer's security headers added in one pass, and the signed-cookie session set up only when a request
carries one (antin.kernel.web): what a browser or an API client notices stays the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Response, session
from flask.testing import FlaskClient

from antin.app import create_app
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    inst = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "WARNING"}))
    upgrade(inst.database)
    use_directory(inst, InMemoryDirectory())
    yield inst
    inst.close()


@pytest.fixture
def app(instance: Instance) -> Flask:
    app = create_app(instance=instance)

    @app.get("/own-headers")
    def own_headers() -> Response:
        response = Response("cached")
        response.headers["Cache-Control"] = "max-age=60"
        response.headers["content-security-policy"] = "default-src 'none'"
        return response

    @app.get("/remember")
    def remember() -> str:
        session["note"] = "ghi nhớ"
        return "ok"

    @app.get("/recall")
    def recall() -> str:
        return str(session.get("note", "-"))

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_every_security_header_once(client: FlaskClient) -> None:
    headers = client.get("/healthz").headers
    for name in (
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Permissions-Policy",
        "Cross-Origin-Opener-Policy",
        "Cache-Control",
        "X-Request-ID",
    ):
        assert len(headers.getlist(name)) == 1, name
    assert "Strict-Transport-Security" not in headers  # plain http


def test_a_views_own_header_wins_whatever_its_case(client: FlaskClient) -> None:
    headers = client.get("/own-headers").headers
    assert headers.getlist("Cache-Control") == ["max-age=60"]
    assert headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert headers["X-Frame-Options"] == "DENY"


def test_hsts_over_https(client: FlaskClient) -> None:
    headers = client.get("/healthz", base_url="https://localhost").headers
    assert headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_the_provider_keeps_its_stricter_policy_and_no_store_on_tokens(client: FlaskClient) -> None:
    answer = client.post("/token", data={"grant_type": "client_credentials"})
    assert answer.status_code in (400, 401)
    assert answer.headers.getlist("Cache-Control") == ["no-store"]
    assert answer.headers.getlist("Content-Security-Policy") == [
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
        "form-action 'self' http: https:; base-uri 'none'; frame-ancestors 'none'"
    ]


def test_an_api_call_without_a_cookie_gets_no_session_cookie(client: FlaskClient) -> None:
    answer = client.get("/recall")
    assert answer.text == "-"
    assert "Set-Cookie" not in answer.headers


def test_the_session_survives_between_requests_and_a_forged_cookie_is_ignored(client: FlaskClient) -> None:
    assert "antin_session=" in client.get("/remember").headers["Set-Cookie"]
    assert client.get("/recall").text == "ghi nhớ"
    stolen = client.get_cookie("antin_session")
    assert stolen is not None
    client.set_cookie("antin_session", stolen.value[:-2] + "xx")
    assert client.get("/recall").text == "-"


def test_a_new_secret_key_refuses_the_old_cookie_unless_it_is_a_fallback(app: Flask, client: FlaskClient) -> None:
    client.get("/remember")
    old_key = app.secret_key
    app.secret_key = "a-new-secret-key-of-enough-length-0123456789"
    assert client.get("/recall").text == "-"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert client.get("/recall").text == "ghi nhớ"
