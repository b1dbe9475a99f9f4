"""The signing REST API: bearer access tokens checked like a relying party would, PDFs in and out,
problem+json errors, and the OpenAPI description."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from joserfc.jwk import ECKey, OctKey

from signing.samples import sample_pdf
from signing.settings import SigningSettings
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts, pdfsig


def call(platform: Platform, token: str | None, pdf: bytes = b"", **fields: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        f"{platform.base_url}/api/signing/sign",
        headers=headers,
        files={"file": ("cong-van.pdf", pdf, "application/pdf")},
        data=fields,
        timeout=60,
    )


def test_an_official_signs_through_the_api(platform: Platform, plain_pdf: bytes, tmp_path: Path) -> None:
    response = call(
        platform, platform.access_token(), plain_pdf, level="B-LT", reason="Phê duyệt", visible="1,320,60,240,72"
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    assert "cong-van-signed.pdf" in response.headers["Content-Disposition"]
    assert response.headers["Antin-Signature-Level"] == "B-LT"
    reference = response.headers["Antin-Signature-Reference"]
    assert response.headers["Antin-Verification-Url"] == f"{platform.base_url}/verify?id={reference}"
    described = platform.service.describe_signature(reference)
    assert described is not None and described["signer"] == "an" and described["level"] == "B-LT"
    [verdict] = ades_verdicts(response.content, [platform.root_der])
    assert verdict.status == "PASSED", verdict
    (tmp_path / "api.pdf").write_bytes(response.content)
    [found] = pdfsig(tmp_path / "api.pdf", platform.nss)
    assert found.signature_validation == "Signature is Valid." and found.common_name == "Nguyễn Văn Ấn"
    assert found.certificate_validation == "Certificate is Trusted."


def test_tokens_for_the_platform_as_a_whole_are_accepted_with_the_scope(platform: Platform, plain_pdf: bytes) -> None:
    """Without an RFC 8707 resource the IdP makes the issuer the audience: the scope is what authorises."""
    response = call(platform, platform.access_token(aud=platform.base_url), plain_pdf, level="B-B")
    assert response.status_code == 200, response.text
    assert call(platform, platform.access_token(aud=platform.base_url, scope="openid"), plain_pdf).status_code == 403


def test_the_records_office_applies_a_seal_through_the_api(platform: Platform, plain_pdf: bytes) -> None:
    token = platform.access_token(sub=platform.directory.people["binh"].entry_uuid)
    response = call(platform, token, plain_pdf, level="B-T", seal="HT-VP")
    assert response.status_code == 200, response.text
    revocation = platform.revocation()
    [verdict] = ades_verdicts(
        response.content, [platform.root_der], crls=revocation.crls, ocsps=revocation.ocsp_responses
    )
    assert verdict.status == "PASSED"
    refused = call(
        platform, platform.access_token(sub=platform.directory.people["dung"].entry_uuid), plain_pdf, seal="HT-VP"
    )
    assert refused.status_code == 403 and refused.headers["Content-Type"] == "application/problem+json"


def problem_of(response: requests.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and "Traceback" not in response.text
    return body


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"scope": "openid profile"}, 403, "insufficient_scope"),
        ({"exp": int(time.time()) - 600}, 401, "invalid_token"),
        ({"aud": "https://other.example/api"}, 401, "invalid_token"),
        ({"iss": "https://evil.example"}, 401, "invalid_token"),
        ({"header": {"typ": "JWT"}}, 401, "invalid_token"),
        ({"sub": None}, 401, "invalid_token"),
    ],
)
def test_bad_tokens_are_refused(
    platform: Platform, plain_pdf: bytes, overrides: dict[str, object], status: int, error: str
) -> None:
    response = call(platform, platform.access_token(**overrides), plain_pdf)
    problem_of(response, status)
    assert f'error="{error}"' in response.headers["WWW-Authenticate"]


def test_tokens_not_signed_by_the_idp_are_refused(platform: Platform, plain_pdf: bytes) -> None:
    stranger = ECKey.generate_key("P-256")
    stranger.ensure_kid()
    forged = platform.access_token(key=stranger, header={"kid": stranger.kid})
    problem_of(call(platform, forged, plain_pdf), 401)
    # HMAC with a key the attacker chose (the classic public-key-as-secret confusion) is never accepted.
    hmac_key = OctKey.import_key(b"0" * 32)
    problem_of(call(platform, platform.access_token(key=hmac_key, header={"alg": "HS256"}), plain_pdf), 401)
    problem_of(call(platform, None, plain_pdf), 401)
    problem_of(call(platform, "not.a.jwt", plain_pdf), 401)


@pytest.mark.parametrize(
    ("content", "status"),
    [(b"", 422), (b"hello, not a pdf", 422), (sample_pdf()[:-300], 422)],
)
def test_unusable_uploads_get_a_problem(platform: Platform, content: bytes, status: int) -> None:
    body = problem_of(call(platform, platform.access_token(), content), status)
    assert body["type"] == "urn:antin:problem:invalid-document"


def test_bad_form_fields_get_a_problem(platform: Platform, plain_pdf: bytes) -> None:
    problem_of(call(platform, platform.access_token(), plain_pdf, level="B-X"), 400)
    problem_of(call(platform, platform.access_token(), plain_pdf, visible="1,2,3"), 400)
    missing = requests.post(
        f"{platform.base_url}/api/signing/sign",
        timeout=10,
        headers={"Authorization": f"Bearer {platform.access_token()}"},
        data={"level": "B-B"},
    )
    problem_of(missing, 400)


def test_an_upload_over_the_limit_is_refused_while_it_is_read(platform: Platform) -> None:
    client = platform.app.test_client()
    service = platform.service
    limit = service.settings.section(SigningSettings).max_document_mb
    huge = b"%PDF-1.7\n" + b"0" * (limit * 1024 * 1024 + 2 * 1024 * 1024)
    response = client.post(
        "/api/signing/sign",
        headers={"Authorization": f"Bearer {platform.access_token()}"},
        data={"file": (__import__("io").BytesIO(huge), "big.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_batch_returns_a_zip_of_signed_documents(platform: Platform, plain_pdf: bytes) -> None:
    import io
    import json
    import zipfile

    response = requests.post(
        f"{platform.base_url}/api/signing/batch",
        headers={"Authorization": f"Bearer {platform.access_token()}"},
        files=[("file", ("a.pdf", plain_pdf, "application/pdf")), ("file", ("b.pdf", plain_pdf, "application/pdf"))],
        data={"level": "B-LT"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["a-signed.pdf", "b-signed.pdf", "manifest.json"]
    manifest = json.loads(archive.read("manifest.json"))
    assert [m["document"] for m in manifest] == ["a.pdf", "b.pdf"]
    for name in ("a-signed.pdf", "b-signed.pdf"):
        [verdict] = ades_verdicts(archive.read(name), [platform.root_der])
        assert verdict.status == "PASSED"


def test_pki_endpoints_serve_the_ca_and_its_crls(platform: Platform) -> None:
    root = requests.get(f"{platform.base_url}/pki/ca/root.cer", timeout=10)
    assert root.status_code == 200 and root.content == platform.root_der
    assert root.headers["Content-Type"] == "application/pkix-cert"
    crl = requests.get(f"{platform.base_url}/pki/crl/issuing.crl", timeout=10)
    assert crl.status_code == 200 and crl.headers["Content-Type"] == "application/pkix-crl"
    from cryptography import x509

    x509.load_der_x509_crl(crl.content)
    assert requests.get(f"{platform.base_url}/pki/ca/nope.cer", timeout=10).status_code == 404
    assert requests.get(f"{platform.base_url}/pki/crl/nope.crl", timeout=10).status_code == 404


def test_the_openapi_document_describes_the_signing_api(platform: Platform) -> None:
    doc = requests.get(f"{platform.base_url}/api/openapi.json", timeout=10).json()
    operation = doc["paths"]["/api/signing/sign"]["post"]
    assert operation["security"] == [{"bearer": ["signing:sign"]}]
    form = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(form["properties"]) >= {"file", "level", "seal", "certify", "visible", "reason", "location"}
    assert "/api/signing/batch" in doc["paths"] and "bearer" in doc["components"]["securitySchemes"]
    assert (
        operation["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"]
        == "#/components/schemas/Problem"
    )
    assert "Problem" in doc["components"]["schemas"]


def test_readiness_includes_the_token_and_the_ca(platform: Platform) -> None:
    ready = requests.get(f"{platform.base_url}/readyz", timeout=10).json()
    assert ready["checks"]["hsm"] == "ok" and ready["checks"]["pki"] == "ok"
