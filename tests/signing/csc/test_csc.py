"""The CSC API against a real client: pyHanko's ``CSCSigner`` (its v1 paths) signs a PDF with an official's HSM key
after the official approved the hashes on the ``oauth2/authorize`` page with a WebAuthn assertion (a software
authenticator built on ``cryptography``, verified by py_webauthn); pdfsig and pyHanko's AdES validator accept the
result. Refusals (SAD reused, hashes changed, expired, another official's credential) are CSC JSON errors."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import io
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
import requests
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)

from idp.oidc.clients import ClientSpec
from idp.oidc.service import get_provider
from tests.idp.mfa.soft_authenticator import SoftAuthenticator
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts, pdfsig
from tests.signing.test_sole_control import enrol

CLIENT_ID = "csc-app"
SHA256_OID = "2.16.840.1.101.3.4.2.1"


@pytest.fixture(scope="module")
def csc(platform: Platform) -> Iterator[CscClient]:
    clients = get_provider(platform.instance).clients
    if clients.get(CLIENT_ID) is None:  # the platform is the session's: another module may have registered it
        clients.add(
            ClientSpec(
                name="Ứng dụng ký CSC",
                client_id=CLIENT_ID,
                public=True,
                redirect_uris=(f"{platform.base_url}/csc-callback",),
                grant_types=("authorization_code",),
                scopes=("openid", "signing:sign"),
            )
        )
    an = platform.directory.people["an"]
    key = enrol(platform.instance, an.entry_uuid, origin=platform.base_url)
    yield CscClient(platform, key, platform.access_token(client_id=CLIENT_ID))


class CscClient:
    """The client's and the official's browser's halves of the flow, over real HTTP."""

    def __init__(self, platform: Platform, key: SoftAuthenticator, token: str) -> None:
        self.platform = platform
        self.key = key
        self.token = token
        self.base = platform.base_url

    def post(self, path: str, body: dict[str, Any], token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return requests.post(f"{self.base}/csc/v2/{path}", json=body, headers=headers, timeout=30)

    def credential_id(self) -> str:
        response = self.post("credentials/list", {})
        assert response.status_code == 200, response.text
        [credential_id] = response.json()["credentialIDs"]
        return str(credential_id)

    def authorise(self, credential_id: str, hashes: list[bytes]) -> str:
        """The official approves ``hashes`` in the browser; the client exchanges the code; returns the SAD."""
        verifier = secrets.token_urlsafe(48)
        query = self.approve(credential_id, hashes, verifier=verifier)
        return self.exchange(query["code"][0], verifier)

    def exchange(self, code: str, verifier: str) -> str:
        token = requests.post(
            f"{self.base}/csc/v2/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": CLIENT_ID,
                "redirect_uri": f"{self.base}/csc-callback",
                "code_verifier": verifier,
            },
            timeout=30,
        )
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])

    def approve(
        self, credential_id: str, hashes: list[bytes], *, verifier: str, answer: bool = True
    ) -> dict[str, list[str]]:
        """The official's browser on the authorisation page; returns the query the client is sent back with."""
        page = requests.get(self.authorize_url(credential_id, hashes, verifier=verifier), timeout=30)
        assert page.status_code == 200, page.text
        for digest in hashes:  # the official sees each hash approved
            assert digest.hex() in page.text
        options = html.unescape(re.search(r'data-options="([^"]*)"', page.text)[1])  # type: ignore[index]
        pending = html.unescape(re.search(r'name="pending" value="([^"]*)"', page.text)[1])  # type: ignore[index]
        credential = self.key.get(options) if answer else ""
        back = requests.post(
            f"{self.base}/csc/v2/oauth2/authorize",
            data={"pending": pending, "credential": credential},
            allow_redirects=False,
            timeout=30,
        )
        assert back.status_code == 302, back.text
        assert back.headers["Location"].startswith(f"{self.base}/csc-callback?")
        query = parse_qs(urlsplit(back.headers["Location"]).query)
        assert query["state"] == ["s-123"]
        return query

    def authorize_url(self, credential_id: str, hashes: list[bytes], *, verifier: str) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": f"{self.base}/csc-callback",
            "scope": "credential",
            "credentialID": credential_id,
            "numSignatures": str(len(hashes)),
            "hashes": ",".join(base64.urlsafe_b64encode(h).rstrip(b"=").decode() for h in hashes),
            "hashAlgorithmOID": SHA256_OID,
            "state": "s-123",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.base}/csc/v2/oauth2/authorize?{urlencode(params)}"

    def sign_hash(self, credential_id: str, sad: str, hashes: list[bytes], **extra: Any) -> requests.Response:
        body = {
            "credentialID": credential_id,
            "SAD": sad,
            "hashes": [base64.b64encode(h).decode() for h in hashes],
            "hashAlgorithmOID": SHA256_OID,
            "signAlgo": "1.2.840.10045.4.3.2",
            **extra,
        }
        return self.post("signatures/signHash", body)


class BrowserAuthorisation(CSCAuthorizationManager):
    """pyHanko asks for a SAD bound to its hashes: the official approves them in the browser (WebAuthn)."""

    def __init__(self, client: CscClient, session_info: CSCServiceSessionInfo, credential_info: Any) -> None:
        super().__init__(session_info, credential_info)
        self.client = client

    async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:
        hashes = [base64.b64decode(h) for h in hash_b64s]
        sad = await asyncio.to_thread(self.client.authorise, self.csc_session_info.credential_id, hashes)
        return CSCAuthorizationInfo(sad=sad)


async def _sign_with_pyhanko(client: CscClient, credential_id: str, pdf: bytes) -> bytes:
    session_info = CSCServiceSessionInfo(client.base, credential_id, oauth_token=client.token)  # api_ver v1
    async with aiohttp.ClientSession() as session:
        credential_info = await fetch_certs_in_csc_credential(session, session_info)
        assert credential_info.hash_pinning_required  # SCAL 2
        signer = CSCSigner(session, BrowserAuthorisation(client, session_info, credential_info))
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        meta = signers.PdfSignatureMetadata(field_name="CSC", subfilter=fields.SigSeedSubFilter.PADES)
        out = await signers.async_sign_pdf(writer, meta, signer=signer)
        return out.getvalue()


def test_pyhanko_csc_signer_signs_with_the_officials_hsm_key(csc: CscClient, plain_pdf: bytes, tmp_path: Path) -> None:
    info = requests.post(f"{csc.base}/csc/v2/info", timeout=30).json()
    assert "signatures/signHash" in info["methods"] and info["authType"] == ["oauth2code"]
    credential_id = csc.credential_id()

    signed = asyncio.run(_sign_with_pyhanko(csc, credential_id, plain_pdf))

    revocation = csc.platform.revocation()
    [verdict] = ades_verdicts(signed, [csc.platform.root_der], crls=revocation.crls, ocsps=revocation.ocsp_responses)
    assert verdict.status == "PASSED", verdict
    (tmp_path / "csc.pdf").write_bytes(signed)
    [found] = pdfsig(tmp_path / "csc.pdf", csc.platform.nss)
    assert found.signature_validation == "Signature is Valid." and found.common_name == "Nguyễn Văn Ấn"
    assert found.certificate_validation == "Certificate is Trusted."
    events = [e.event for e in csc.platform.instance.audit.entries(limit=30)]
    assert {"signing:sole_control:grant", "signing:csc:authorise", "signing:csc:sign-hash"} <= set(events)


def error_of(response: requests.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description"}
    return body


def test_a_sad_signs_its_hashes_once(csc: CscClient) -> None:
    credential_id = csc.credential_id()
    hashes = [hashlib.sha256(b"to-be-signed 1").digest(), hashlib.sha256(b"to-be-signed 2").digest()]
    sad = csc.authorise(credential_id, hashes)

    changed = csc.sign_hash(credential_id, sad, [hashes[0], hashlib.sha256(b"other").digest()])
    assert error_of(changed)["error"] == "invalid_request" and "hashes" in error_of(changed)["error_description"]

    signed = csc.sign_hash(credential_id, sad, list(reversed(hashes)))
    assert signed.status_code == 200, signed.text
    assert len(signed.json()["signatures"]) == 2

    again = csc.sign_hash(credential_id, sad, hashes)
    assert error_of(again) == {"error": "invalid_request", "error_description": "The SAD was used already"}
    reasons = [e.details["reason"] for e in csc.platform.instance.audit.entries(event="signing:csc:refuse", limit=5)]
    assert reasons[:2] == ["reused", "wrong_document"]


def test_an_expired_sad_is_refused(csc: CscClient) -> None:
    credential_id = csc.credential_id()
    digest = hashlib.sha256(b"late").digest()
    sad = csc.authorise(credential_id, [digest])
    csc.platform.instance.clock.advance(timedelta(seconds=121))  # signing.csc_sad_seconds is 120
    try:
        assert error_of(csc.sign_hash(credential_id, sad, [digest]))["error_description"] == "The SAD expired"
    finally:
        csc.platform.instance.clock.advance(timedelta(seconds=-121))


def test_another_officials_credential_is_refused(csc: CscClient) -> None:
    credential_id = csc.credential_id()
    digest = hashlib.sha256(b"mine").digest()
    sad = csc.authorise(credential_id, [digest])
    cuong = csc.platform.access_token(client_id=CLIENT_ID, sub=csc.platform.directory.people["cuong"].entry_uuid)
    # Cường's token cannot see An's credential, nor use An's SAD
    info = csc.post("credentials/info", {"credentialID": credential_id}, token=cuong)
    assert error_of(info)["error_description"] == "Invalid parameter credentialID"
    body = {"credentialID": credential_id, "SAD": sad, "hashes": [base64.b64encode(digest).decode()]}
    assert error_of(csc.post("signatures/signHash", body | {"signAlgo": "1.2.840.10045.4.3.2"}, token=cuong))
    # without a token: 401 with CSC's JSON
    assert error_of(requests.post(f"{csc.base}/csc/v2/credentials/list", json={}, timeout=30), 401)


def test_the_authorisation_page_refuses_without_the_officials_assertion(csc: CscClient) -> None:
    credential_id = csc.credential_id()
    # no assertion: the client is told access_denied, and gets no code
    query = csc.approve(credential_id, [hashlib.sha256(b"x").digest()], verifier="v" * 43, answer=False)
    assert query["error"] == ["access_denied"] and "code" not in query
    # an assertion by a key that is not the official's
    stranger, csc.key = csc.key, SoftAuthenticator(csc.base, "localhost")
    try:
        query = csc.approve(credential_id, [hashlib.sha256(b"x").digest()], verifier="v" * 43)
    finally:
        csc.key = stranger
    assert query["error"] == ["access_denied"] and "code" not in query
    # a code cannot be exchanged twice, nor without its PKCE verifier
    verifier = secrets.token_urlsafe(48)
    code = csc.approve(credential_id, [hashlib.sha256(b"y").digest()], verifier=verifier)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID}
    form["redirect_uri"] = f"{csc.base}/csc-callback"
    token_url = f"{csc.base}/csc/v2/oauth2/token"
    assert error_of(requests.post(token_url, data=form, timeout=30))["error"] == "invalid_grant"
    assert requests.post(token_url, data=form | {"code_verifier": verifier}, timeout=30).status_code == 200
    assert error_of(requests.post(token_url, data=form | {"code_verifier": verifier}, timeout=30))["error"] == (
        "invalid_grant"
    )
    bad = requests.get(
        f"{csc.base}/csc/v2/oauth2/authorize",
        params={"client_id": CLIENT_ID, "redirect_uri": "https://evil.test/cb", "response_type": "code"},
        timeout=30,
    )
    assert bad.status_code == 400 and "redirect_uri" in bad.text  # a page, never a redirect to an unknown URI


def test_the_openapi_document_describes_the_csc_api(csc: CscClient) -> None:
    doc = requests.get(f"{csc.base}/api/openapi.json", timeout=10).json()
    sign_hash = doc["paths"]["/csc/v2/signatures/signHash"]["post"]
    assert sign_hash["security"] == [{"bearer": ["signing:sign"]}]
    assert {"credentialID", "SAD", "hashes"} <= set(
        sign_hash["requestBody"]["content"]["application/json"]["schema"]["properties"]
    )
    assert "/csc/v2/oauth2/authorize" in doc["paths"] and "CscError" in doc["components"]["schemas"]


def test_the_public_endpoints_are_rate_limited_per_address(csc: CscClient) -> None:
    from antin.kernel.ratelimit import RateLimitedError, limiter_for

    limiter = limiter_for(csc.platform.instance)
    limit = 120  # [signing] csc_rate_limit
    with pytest.raises(RateLimitedError):  # the address's count for the page, filled as a burst would fill it
        for _ in range(limit + 1):
            limiter.check_rate("csc-authorize", "127.0.0.1", limit, 60)
    url = f"{csc.base}/csc/v2/oauth2/authorize"
    response = requests.get(url, params={"client_id": CLIENT_ID}, timeout=30)
    assert error_of(response, 429)["error"] == "temporarily_unavailable" and int(response.headers["Retry-After"]) > 0
    # a minute later the address may ask again (and the window the rest of the session shares is a fresh one)
    csc.platform.instance.clock.advance(timedelta(seconds=61))
    try:
        assert requests.get(url, params={"client_id": CLIENT_ID}, timeout=30).status_code == 400  # no redirect_uri
    finally:
        csc.platform.instance.clock.advance(timedelta(seconds=-61))
