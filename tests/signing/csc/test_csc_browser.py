"""The CSC authorisation page in real Chromium: the official sees the hashes, approves them with the virtual
authenticator (CDP ``WebAuthn.*``, user verification), and the client gets a code whose SAD signs those hashes."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization

from tests.idp.mfa.test_mfa_browser import chromium  # noqa: F401  (the module's browser)
from tests.signing.csc.test_csc import CscClient, csc  # noqa: F401  (the module's client)

pytestmark = pytest.mark.browser

SECURITY_KEY = {
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def test_the_official_approves_the_hashes_with_a_security_key(
    chromium: Any,  # noqa: F811
    csc: CscClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("ANTIN_SCREENSHOTS", tmp_path))
    context = chromium.new_context(locale="vi-VN")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": SECURITY_KEY})["authenticatorId"]
    # the official's registered key, its private key copied into Chromium's authenticator
    pkcs8 = csc.key.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    credential = {
        "credentialId": base64.b64encode(csc.key.credential_id).decode(),
        "isResidentCredential": False,
        "rpId": "localhost",
        "privateKey": base64.b64encode(pkcs8).decode(),
        "signCount": csc.key.sign_count + 1000,  # ahead of every count the server has seen
    }
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": credential})

    credential_id = csc.credential_id()
    hashes = [hashlib.sha256(b"Quyet dinh 45/QD-TU").digest(), hashlib.sha256(b"Cong van 123/CV-TU").digest()]
    verifier = secrets.token_urlsafe(48)
    page.goto(csc.authorize_url(credential_id, hashes, verifier=verifier))
    page.locator("#webauthn-form").wait_for()
    listed = page.locator("#hashes").inner_text()
    assert all(h.hex() in listed for h in hashes)
    assert "Nguyễn Văn Ấn" in page.locator("#official-name").inner_text()
    assert page.locator("#client-name").inner_text() == "Ứng dụng ký CSC"
    page.screenshot(path=str(shots / "csc-authorize.png"), full_page=True)

    page.locator("form[data-ready] #webauthn-submit").click()
    page.wait_for_url(f"{csc.base}/csc-callback?**")  # the client's page (a redirect: not routed, so by URL)
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["s-123"]
    sad = csc.exchange(query["code"][0], verifier)
    signed = csc.sign_hash(credential_id, sad, hashes)
    assert signed.status_code == 200, signed.text
    assert len(signed.json()["signatures"]) == 2
    context.close()
