"""The public page /verify (Flask's test client and real Chromium) and POST /api/signing/verify."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

import signing.validation
from antin.kernel.errors import ProblemError
from antin.kernel.instance import Instance
from antin.settings import load_settings
from tests.components import free_port, require_command
from tests.signing.signed_pdfs import ThrowawayPki, blank_pdf, pki_fixture, sign

pki = pki_fixture()
ISSUER = "http://localhost:5000"
CLAIMS = jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, exp={"essential": True})


@pytest.fixture(scope="module")
def token_key() -> Any:
    return ECKey.generate_key("P-256")


def jwks_access_check(public_jwk: dict[str, Any]) -> signing.validation.AccessCheck:
    """What the signing package's JWKS relying-party check does, done with joserfc against a test key."""

    def check(authorization: str) -> None:
        token = authorization.split(" ", 1)[1]
        try:
            claims = jwt.decode(token, ECKey.import_key(public_jwk), algorithms=["ES256"]).claims
            CLAIMS.validate(claims)
        except (JoseError, ValueError) as err:
            raise ProblemError(
                401, "Unauthorized", f"invalid access token: {getattr(err, 'error', 'invalid_token')}"
            ) from None
        if "signing:verify" not in str(claims.get("scope", "")).split():
            raise ProblemError(403, "Forbidden", "the token lacks scope signing:verify")

    return check


def _token(key: Any, scope: str, *, issuer: str = ISSUER) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "sub": "client-1", "aud": "antin", "scope": scope, "iat": now, "exp": now + 300}
    return jwt.encode({"alg": "ES256", "kid": "test"}, claims, key)


@pytest.fixture
def app(tmp_path: Path, pki: ThrowawayPki, token_key: Any) -> Flask:
    from antin.app import create_app
    from antin.migrate import upgrade

    settings = load_settings(
        {"ANTIN_DATA_DIR": str(tmp_path / "var"), "ANTIN_SIGNING_VERIFY_MAX_BYTES": str(2 * 1024 * 1024)},
    )
    instance = Instance(settings)
    upgrade(instance.database)
    app = create_app(instance=instance)
    if "antin.verify" not in app.extensions:
        signing.validation.init_app(app, access_check=jwks_access_check(token_key.as_dict(private=False)))
    else:
        app.extensions["antin.verify"].access_check = jwks_access_check(token_key.as_dict(private=False))
    app.extensions["antin.verify"].policy = pki.trusted()
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def signed_pdf(pki: ThrowawayPki) -> bytes:
    return sign(pki, blank_pdf(), level="B-LTA")


def _csrf(client: FlaskClient, url: str = "/verify") -> str:
    page = client.get(url)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def _upload(client: FlaskClient, data: bytes, name: str = "doc.pdf", **form: str) -> Any:
    fields = {"csrf_token": _csrf(client), "file": (io.BytesIO(data), name), **form}
    return client.post("/verify", data=fields, content_type="multipart/form-data")


# -- the page -----------------------------------------------------------------------------------------------


def test_page_needs_no_login_and_has_a_protected_form(client: FlaskClient) -> None:
    page = client.get("/verify")
    assert page.status_code == 200
    assert "Kiểm tra chữ ký số" in page.text
    assert 'name="csrf_token"' in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert 'id="digest-match"' not in page.text  # no file, no QR code: no verdict of any kind
    assert '<a class="brand" id="brand" href="/">' in page.text  # the platform's header leads back to the portal


def test_upload_shows_a_green_verdict_and_offers_the_pdf_report(client: FlaskClient, signed_pdf: bytes) -> None:
    response = _upload(client, signed_pdf)
    assert response.status_code == 200
    assert 'data-indication="TOTAL_PASSED"' in response.text
    assert 'id="digest-match"' not in response.text  # no QR code to compare with
    assert "HỢP LỆ" in response.text and "Nguyễn Thị Hồng Nhung" in response.text
    assert "Dấu thời gian tài liệu" in response.text  # the document time-stamp is reported too
    assert 'id="pdf-report"' in response.text  # the form offers the PDF report
    assert "data:application/pdf" not in response.text  # rendered once: only the format asked for


def test_upload_without_csrf_token_is_refused(client: FlaskClient, signed_pdf: bytes) -> None:
    response = client.post(
        "/verify", data={"file": (io.BytesIO(signed_pdf), "doc.pdf")}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        (b"", 422, "empty"),
        (b"hello, this is not a PDF", 422, "not-pdf"),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", 422, "truncated"),
        (b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024), 413, "too-large"),
    ],
    # short ids: pytest puts the test's id in PYTEST_CURRENT_TEST, and 3 MB of it made every subprocess the
    # test starts (softhsm2-util) fail with "Argument list too long"
    ids=["empty", "not-pdf", "truncated", "too-large"],
)
def test_bad_uploads_get_clear_errors(client: FlaskClient, data: bytes, status: int, reason: str) -> None:
    response = _upload(client, data)
    assert response.status_code == status
    assert f'data-reason="{reason}"' in response.text
    assert "Traceback" not in response.text


def test_qr_link_parameters_are_shown_and_compared(client: FlaskClient, signed_pdf: bytes) -> None:
    import hashlib

    digest = hashlib.sha256(signed_pdf).hexdigest()
    page = client.get(f"/verify?id=VB-2026-001&d={digest}")
    assert "VB-2026-001" in page.text and digest in page.text
    assert 'id="digest-match"' not in page.text  # nothing uploaded yet: no "does NOT match"
    response = _upload(client, signed_pdf, id="VB-2026-001", d=digest)
    assert 'id="digest-match"' in response.text and "trùng khớp" in response.text
    mismatch = _upload(client, signed_pdf, id="VB-2026-001", d="0" * 64)
    assert "KHÔNG trùng" in mismatch.text
    hostile = client.get("/verify?id=<script>alert(1)</script>&d=zz")
    assert "<script>alert(1)" not in hostile.text


def test_pdf_report_download_by_form_field(client: FlaskClient, signed_pdf: bytes) -> None:
    response = _upload(client, signed_pdf, format="pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")


# -- the API ------------------------------------------------------------------------------------------------


def test_api_requires_a_bearer_token(client: FlaskClient, signed_pdf: bytes) -> None:
    response = client.post("/api/signing/verify", data=signed_pdf, content_type="application/pdf")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_api_refuses_a_token_without_the_scope_and_a_forged_one(
    client: FlaskClient, signed_pdf: bytes, token_key: Any
) -> None:
    headers = {"Authorization": f"Bearer {_token(token_key, 'openid signing:sign')}"}
    response = client.post("/api/signing/verify", data=signed_pdf, content_type="application/pdf", headers=headers)
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    other = ECKey.generate_key("P-256")
    headers = {"Authorization": f"Bearer {_token(other, 'signing:verify')}"}
    response = client.post("/api/signing/verify", data=signed_pdf, content_type="application/pdf", headers=headers)
    assert response.status_code == 401


def test_api_verifies_raw_and_multipart_bodies(client: FlaskClient, signed_pdf: bytes, token_key: Any) -> None:
    headers = {"Authorization": f"Bearer {_token(token_key, 'signing:verify')}"}
    raw = client.post("/api/signing/verify", data=signed_pdf, content_type="application/pdf", headers=headers)
    assert raw.status_code == 200, raw.text
    assert raw.json["indication"] == "TOTAL_PASSED"
    assert [s["kind"] for s in raw.json["signatures"]] == ["signature", "document-timestamp"]
    multipart = client.post(
        "/api/signing/verify",
        data={"file": (io.BytesIO(signed_pdf), "doc.pdf")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert multipart.status_code == 200 and multipart.json["file"]["name"] == "doc.pdf"


def test_api_bad_input_is_problem_json(client: FlaskClient, token_key: Any) -> None:
    headers = {"Authorization": f"Bearer {_token(token_key, 'signing:verify')}"}
    response = client.post("/api/signing/verify", data=b"not a pdf", content_type="application/pdf", headers=headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["reason"] == "not-pdf"
    big = client.post(
        "/api/signing/verify",
        data=b"%PDF-" + b"0" * (3 * 1024 * 1024),
        content_type="application/pdf",
        headers=headers,
    )
    assert big.status_code == 413 and big.json["reason"] == "too-large"


def test_api_is_described_in_openapi(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").json
    operation = doc["paths"]["/api/signing/verify"]["post"]
    assert operation["security"] == [{"bearerAccessToken": ["signing:verify"]}]
    assert "VerificationReport" in doc["components"]["schemas"]


def test_api_fails_closed_without_an_access_check(tmp_path: Path, signed_pdf: bytes) -> None:
    from antin.app import create_app

    app = create_app(instance=Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path / "v2")})))
    if "antin.verify" not in app.extensions:
        signing.validation.init_app(app)
    app.extensions["antin.verify"].access_check = signing.validation.views.refuse_until_configured
    response = app.test_client().post(
        "/api/signing/verify",
        data=signed_pdf,
        content_type="application/pdf",
        headers={"Authorization": "Bearer anything"},
    )
    assert response.status_code == 401


# -- real Chromium ------------------------------------------------------------------------------------------


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("localhost", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.mark.browser
def test_upload_in_chromium_shows_the_verdict(live_server: str, signed_pdf: bytes, tmp_path: Path) -> None:
    chromium = require_command("chromium")
    from playwright.sync_api import sync_playwright

    path = tmp_path / "quyet-dinh.pdf"
    path.write_bytes(signed_pdf)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=flags)
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/verify")
            page.set_input_files("#file", str(path))
            page.click("#verify-button")
            page.wait_for_selector("#report")
            verdict = page.locator("#report .verdict-title").first.inner_text()
            assert "HỢP LỆ" in verdict
            assert page.locator("#pdf-report").count() == 1
            page.screenshot(path=str(tmp_path / "verify.png"), full_page=True)
        finally:
            browser.close()


def test_signing_auth_style_verifier_plugs_in(client: FlaskClient, app: Flask, signed_pdf: bytes) -> None:
    class RefusedTokenError(Exception):
        def __init__(self, status: int, error: str) -> None:
            self.status, self.error, self.description = status, error, "refused"

    class Verifier:
        def __init__(self) -> None:
            self.calls: list[tuple[str | None, str]] = []

        def verify(
            self, authorization: str | None, scope: str, *, method: str, url: str, dpop_proofs: Sequence[str]
        ) -> object:
            assert (method, url, list(dpop_proofs)) == ("POST", "http://localhost/api/signing/verify", [])
            self.calls.append((authorization, scope))
            if authorization == "Bearer good":
                return object()
            raise RefusedTokenError(403, "insufficient_scope")

        def resource_url(self, path: str) -> str:
            return "http://localhost" + path

    verifier = Verifier()
    app.extensions["antin.verify"].access_check = signing.validation.access_check_from_verifier(verifier)
    ok = client.post(
        "/api/signing/verify", data=signed_pdf, content_type="application/pdf", headers={"Authorization": "Bearer good"}
    )
    assert ok.status_code == 200
    refused = client.post(
        "/api/signing/verify",
        data=signed_pdf,
        content_type="application/pdf",
        headers={"Authorization": "Bearer other"},
    )
    assert refused.status_code == 403 and refused.json["error"] == "insufficient_scope"
    assert verifier.calls[0] == ("Bearer good", "signing:verify")


def test_a_verifier_that_cannot_tell_now_is_a_503_with_retry_after(
    client: FlaskClient, app: Flask, signed_pdf: bytes
) -> None:
    """The provider's keys or revocation answers out of reach (PostgreSQL restarting, issue 14): a 503 that says
    when to try again, as every other 503 of the platform (scripts/signing_faults.py saw it without one)."""

    class UnavailableError(Exception):
        status, error, description = 503, "temporarily_unavailable", "the token cannot be checked now"

        @property
        def headers(self) -> dict[str, str]:
            return {"WWW-Authenticate": 'Bearer error="invalid_token"'}

    class Verifier:
        def verify(self, *_args: object, **_kwargs: object) -> object:
            raise UnavailableError

        def resource_url(self, path: str) -> str:
            return "http://localhost" + path

    app.extensions["antin.verify"].access_check = signing.validation.access_check_from_verifier(Verifier())
    answer = client.post(
        "/api/signing/verify", data=signed_pdf, content_type="application/pdf", headers={"Authorization": "Bearer t"}
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert answer.mimetype == "application/problem+json"
