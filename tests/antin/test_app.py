"""What every HTTP response shares: health, readiness, metrics, errors without stack traces, CSRF, headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from antin.app import create_app
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import directory_service, use_directory
from directory.memory import InMemoryDirectory


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    inst = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "WARNING"}))
    upgrade(inst.database)
    use_directory(inst, InMemoryDirectory())  # the real directory is tested in tests/directory
    yield inst
    inst.close()


@pytest.fixture
def app(instance: Instance) -> Flask:
    app = create_app(instance=instance)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals: password=hunter2")

    @app.route("/form", methods=["GET", "POST"])
    def form() -> str:
        return render_template_string("<form method=post><input name=csrf_token value='{{ csrf_token() }}'></form>")

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_names_what_is_unavailable(client: FlaskClient, instance: Instance) -> None:
    ready = client.get("/readyz").json
    assert ready is not None and ready["status"] == "ready"
    assert ready["checks"]["database"] == "ok" and ready["checks"]["directory"] == "ok"
    directory = directory_service(instance)
    assert isinstance(directory, InMemoryDirectory)
    directory.available = False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["checks"]["database"] == "ok"
    assert "directory" in response.json["checks"]["directory"] and response.json["status"] == "unavailable"


def test_metrics_in_prometheus_text_format(client: FlaskClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert 'antin_http_requests_total{endpoint="/healthz",method="GET",status="200"}' in response.text


OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}
METRICS_TOKEN = "m" * 40


def _app_with(tmp_path: Path, **env: str) -> tuple[Flask, Instance]:
    settings = load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_LOG_LEVEL": "WARNING", **env})
    inst = Instance(settings)
    upgrade(inst.database)
    use_directory(inst, InMemoryDirectory())
    return create_app(instance=inst), inst


def test_a_stranger_sees_only_that_the_platform_is_up_or_not(client: FlaskClient, instance: Instance) -> None:
    assert client.get("/healthz", environ_base=OUTSIDE).json == {"status": "ok"}
    assert client.get("/readyz", environ_base=OUTSIDE).json == {"status": "ready"}
    directory = directory_service(instance)
    assert isinstance(directory, InMemoryDirectory)
    directory.available = False
    down = client.get("/readyz", environ_base=OUTSIDE)
    assert down.status_code == 503 and down.json == {"status": "unavailable"}
    metrics = client.get("/metrics", environ_base=OUTSIDE)
    assert metrics.status_code == 403 and "antin_http_requests_total" not in metrics.text


def test_metrics_and_readiness_details_with_the_operators_bearer_token(tmp_path: Path) -> None:
    app, inst = _app_with(tmp_path, ANTIN_SERVER_METRICS_TOKEN=METRICS_TOKEN, ANTIN_SERVER_METRICS_NETWORKS="")
    client = app.test_client()
    try:
        refused = client.get("/metrics", headers={"Accept": "application/json"})  # loopback is no longer enough
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40}, environ_base=OUTSIDE)
        assert wrong.status_code == 401 and "antin_http" not in wrong.text
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        ok = client.get("/metrics", headers=bearer, environ_base=OUTSIDE)
        assert ok.status_code == 200 and "antin_http_requests_total" in ok.text
        assert client.get("/readyz", environ_base=OUTSIDE).json == {"status": "ready"}
        detailed = client.get("/readyz", headers=bearer, environ_base=OUTSIDE).json
        assert detailed is not None and detailed["checks"]["database"] == "ok"
    finally:
        inst.close()


def test_metrics_and_readiness_details_from_the_operators_networks(tmp_path: Path) -> None:
    app, inst = _app_with(tmp_path, ANTIN_SERVER_METRICS_NETWORKS="10.20.0.0/16, 2001:db8::/32")
    client = app.test_client()
    try:
        for address in ("10.20.3.4", "::ffff:10.20.3.4", "2001:db8::9"):
            inside = {"REMOTE_ADDR": address}
            assert client.get("/metrics", environ_base=inside).status_code == 200
            assert "checks" in (client.get("/readyz", environ_base=inside).json or {})
        for address in ("10.21.0.1", "127.0.0.1", "unknown"):
            assert client.get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == 403
            assert "checks" not in (client.get("/readyz", environ_base={"REMOTE_ADDR": address}).json or {})
    finally:
        inst.close()


@pytest.mark.parametrize(
    ("name", "value"),
    [("ANTIN_SERVER_METRICS_TOKEN", "short"), ("ANTIN_SERVER_METRICS_NETWORKS", "10.0.0.0/8,not-a-network")],
)
def test_bad_metrics_settings_stop_the_start(tmp_path: Path, name: str, value: str) -> None:
    from antin.kernel.settings import SettingsError

    with pytest.raises(SettingsError) as err:
        load_settings({"ANTIN_DATA_DIR": str(tmp_path), name: value})
    assert name in err.value.problems


def test_an_unexpected_error_is_a_plain_500_without_internals(client: FlaskClient) -> None:
    response = client.get("/boom", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert "Đã xảy ra lỗi" in response.text
    assert response.headers["X-Request-ID"] in response.text


def test_api_errors_are_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.json is not None and response.json["status"] == 404 and response.json["title"] == "Not Found"


def test_browser_404_is_a_vietnamese_page(client: FlaskClient) -> None:
    response = client.get("/nothing-here", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "Không tìm thấy trang" in response.text
    assert '<html lang="vi">' in response.text and 'id="error-home" href="/"' in response.text
    assert "requested URL" not in response.text  # werkzeug's English sentence is not shown on a Vietnamese page


def test_the_error_page_speaks_the_chosen_language(client: FlaskClient) -> None:
    client.set_cookie("antin_lang", "en")
    response = client.get("/nothing-here", headers={"Accept": "text/html"})
    assert response.status_code == 404 and '<html lang="en">' in response.text
    assert "Page not found" in response.text and "Không tìm thấy" not in response.text
    english = client.get("/boom", headers={"Accept": "text/html", "Accept-Language": "en"}).text
    assert "Something went wrong" in english and "Đã xảy ra lỗi" not in english


def test_the_error_page_style_is_allowed_by_its_csp(client: FlaskClient) -> None:
    """The strict CSP blocked the page's inline style: the page came out unstyled. Its digest is now allowed."""
    import base64
    import hashlib
    import re

    response = client.get("/nothing-here", headers={"Accept": "text/html"})
    style = re.search(r"<style>(.*?)</style>", response.text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    csp = response.headers["Content-Security-Policy"]
    assert f"style-src 'self' 'sha256-{digest}'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


def test_security_headers(client: FlaskClient) -> None:
    headers = client.get("/healthz").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_forms_need_the_csrf_token(client: FlaskClient) -> None:
    assert client.post("/form", data={"x": "1"}).status_code == 400
    expired = client.post("/form", data={"x": "1"}, headers={"Accept": "text/html"})  # a browser: what to do, in words
    assert expired.status_code == 400 and "Biểu mẫu đã hết hạn" in expired.text and "tải lại trang" in expired.text
    assert "Bad Request" not in expired.text
    page = client.get("/form").text
    token = page.split("value='")[1].split("'")[0]
    assert client.post("/form", data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/form", data={"csrf_token": token}).status_code == 200
    assert client.post("/form", headers={"X-CSRF-Token": token}).status_code == 200


def test_a_bogus_authorization_header_does_not_skip_the_csrf_check_of_a_cookie_session(client: FlaskClient) -> None:
    client.get("/form")  # the browser now holds a session cookie: an attacker's form would ride on it
    assert client.get_cookie("antin_session") is not None
    forged = client.post("/form", data={"x": "1"}, headers={"Authorization": "Bearer bogus"})
    assert forged.status_code == 400
    assert "không được gửi từ trang này" in forged.text  # the refusal in words (its problem type: urn:antin:csrf)


def test_the_sso_cookie_alone_also_makes_the_csrf_check_apply(client: FlaskClient) -> None:
    client.set_cookie("antin_sso", "a-session")
    assert client.post("/form", headers={"Authorization": "Basic Ym9ndXM6Ym9ndXM="}).status_code == 400


def test_an_api_call_without_cookies_carries_its_own_credentials(app: Flask) -> None:
    fresh = app.test_client(use_cookies=False)
    assert fresh.post("/form", data={"x": "1"}, headers={"Authorization": "Bearer token"}).status_code == 200
    assert fresh.post("/form", data={"x": "1"}).status_code == 400


def test_session_cookie_flags(tmp_path: Path) -> None:
    inst = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path), "ANTIN_ISSUER": "https://sso.dang.vn"}))
    app = create_app(instance=inst)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    inst.close()


def test_openapi_document_lists_the_issuer_as_server(client: FlaskClient, instance: Instance) -> None:
    doc = client.get("/api/openapi.json").json
    assert doc is not None and doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": instance.settings.core.issuer}]
    assert "Problem" in doc["components"]["schemas"]


def test_a_database_that_cannot_be_reached_is_a_503_with_retry_after(tmp_path: Path) -> None:
    """PostgreSQL restarting or failing over (nothing listens on its port): the provider's own endpoints answer
    a clear 503 with Retry-After, a page for a browser and problem+json for an API, never a 500."""
    from tests.components import free_port

    settings = load_settings(
        {
            "ANTIN_DATA_DIR": str(tmp_path),
            "ANTIN_LOG_LEVEL": "ERROR",
            "ANTIN_DATABASE_URL": f"postgresql+psycopg://antin@127.0.0.1:{free_port()}/antin?connect_timeout=2",
        }
    )
    instance = Instance(settings)
    use_directory(instance, InMemoryDirectory())
    try:
        client = create_app(instance=instance).test_client()
        page = client.get("/authorize?client_id=x&response_type=code", headers={"Accept": "text/html"})
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        assert "Dịch vụ tạm thời không sẵn sàng" in page.text and "Traceback" not in page.text
        token = client.post(
            "/token",
            data={"grant_type": "client_credentials", "client_id": "hoso", "client_secret": "s"},
            headers={"Accept": "application/json"},
        )
        assert token.status_code == 503 and token.mimetype == "application/problem+json"
        assert token.json is not None and "database" in token.json["detail"]
    finally:
        instance.close()
