"""Full flows driven by npm openid-client 6 (an OpenID Certified RP library) with non-repudiation checks on,
so that the ID token signatures are really verified: public and confidential clients, refresh, userinfo, logout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty

HERE = Path(__file__).resolve().parent


def drive(
    node: str, op: LiveProvider, rp: RelyingParty, browser: Browser, *, auth: str, username: str = "an.nguyen"
) -> dict[str, Any]:
    config = {
        "issuer": op.issuer,
        "client_id": rp.client.client_id,
        "client_secret": rp.secret,
        "auth": auth,
        "redirect_uri": rp.redirect_uri,
        "post_logout_redirect_uri": rp.client.post_logout_redirect_uris[0]
        if rp.client.post_logout_redirect_uris
        else None,
        "scope": "openid profile email party",
    }
    proc = subprocess.Popen(
        [node, str(HERE / "rp.mjs"), json.dumps(config)],
        cwd=HERE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = json.loads(proc.stdout.readline() or json.dumps({"error": proc.stderr.read() if proc.stderr else ""}))
        assert "authorization_url" in first, first
        outcome = browser.go(first["authorization_url"])
        if outcome.page is not None:
            outcome = browser.login(outcome.page, username, "correct horse")
        assert outcome.location is not None
        proc.stdin.write(json.dumps({"callback": outcome.location}) + "\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.readline())
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "error" not in result, result
    return result


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_confidential_client(node: str, op: LiveProvider, auth: str, directory_sub: str | None = None) -> None:
    rp = RelyingParty.register(op, name="Văn bản điều hành", post_logout_redirect_uris=("http://localhost:9/bye",))
    browser = Browser(op.issuer)
    result = drive(node, op, rp, browser, auth=auth)
    sub = op.directory.people["an.nguyen"].entry_uuid
    assert result["claims"]["sub"] == sub and result["claims"]["iss"] == op.issuer
    assert result["userinfo"]["party_unit"]["name"] == "Văn phòng Tỉnh ủy"
    assert result["userinfo"]["email"] == "an.nguyen@antin.vn"
    assert result["refreshed"]["refresh_token"] != result["refresh_token"]
    assert rp.userinfo(result["refreshed"]["access_token"]).status_code == 200
    # the end-session URL it built signs the official out, back to the registered URI
    logout = browser.go(result["end_session_url"])
    assert logout.location == "http://localhost:9/bye?state=bye"
    assert rp.userinfo(result["refreshed"]["access_token"]).status_code == 401


def test_public_client_and_sso(node: str, op: LiveProvider) -> None:
    spa = RelyingParty.register(op, name="Ứng dụng di động", public=True)
    other = RelyingParty.register(op, name="Cổng thông tin")
    browser = Browser(op.issuer)
    first = drive(node, op, spa, browser, auth="none")
    assert first["claims"]["aud"] == spa.client.client_id
    # SSO: the second client signs in without a password prompt (the browser is already signed in)
    second = drive(node, op, other, browser, auth="basic", username="not-asked")
    assert second["claims"]["sub"] == first["claims"]["sub"]
    assert second["claims"]["sid"] == first["claims"]["sid"]


def test_openid_client_really_checks_the_signature(node: str, op: LiveProvider) -> None:
    """With a flipped bit in the ID token's signature, the certified RP refuses the sign-in: the checks above
    are real."""
    from flask import Response, request

    @op.app.after_request
    def tamper(response: Response) -> Response:
        if request.path == "/token" and response.status_code == 200:
            body = json.loads(response.get_data())
            if "id_token" in body:
                head, payload, signature = body["id_token"].split(".")
                flipped = "B" if signature[5] == "A" else "A"
                body["id_token"] = f"{head}.{payload}.{signature[:5]}{flipped}{signature[6:]}"
                response.set_data(json.dumps(body))
        return response

    rp = RelyingParty.register(op, name="Tampered")
    browser = Browser(op.issuer)
    with pytest.raises(AssertionError, match=r"(?i)signature"):
        drive(node, op, rp, browser, auth="basic")
