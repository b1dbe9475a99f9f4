"""Full flows driven by npm openid-client 6 (an OpenID Certified RP library) with non-repudiation checks on,
so that the ID token signatures are really verified: public and confidential clients, refresh, userinfo, logout."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from idp.oidc.acr import ACR_MFA, ACR_PASSWORD, ACR_PHISHING_RESISTANT
from tests.idp.mfa.pages import enrol_totp, options_of
from tests.idp.mfa.soft_authenticator import SoftAuthenticator
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, Outcome, RelyingParty

HERE = Path(__file__).resolve().parent


def drive(
    node: str,
    op: LiveProvider,
    rp: RelyingParty,
    browser: Browser,
    *,
    auth: str,
    username: str = "an.nguyen",
    acr_values: str | None = None,
    sign_in: Callable[[Browser, Outcome], Outcome] | None = None,
) -> dict[str, Any]:
    """One sign-in by openid-client; ``sign_in`` takes the browser from the authorization URL's page to the
    redirect (default: the password form)."""
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
        "acr_values": acr_values,
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
        if sign_in is not None:
            outcome = sign_in(browser, outcome)
        elif outcome.page is not None:
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
    are real. The token response is changed in front of the whole stack (the code's redemption is answered before
    Flask: idp.oidc.fastpath)."""
    answer = op.app.wsgi_app

    def tamper(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != "/token":
            return answer(environ, start_response)
        sent: list[Any] = []
        body = b"".join(answer(environ, lambda status, headers, *_: sent.extend((status, headers))))
        status, headers = sent
        if status.startswith("200"):
            tokens = json.loads(body)
            if "id_token" in tokens:
                head, payload, signature = tokens["id_token"].split(".")
                flipped = "B" if signature[5] == "A" else "A"
                tokens["id_token"] = f"{head}.{payload}.{signature[:5]}{flipped}{signature[6:]}"
                body = json.dumps(tokens).encode()
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    op.app.wsgi_app = tamper  # type: ignore[method-assign]
    rp = RelyingParty.register(op, name="Tampered")
    browser = Browser(op.issuer)
    with pytest.raises(AssertionError, match=r"(?i)signature"):
        drive(node, op, rp, browser, auth="basic")


def test_step_up_to_mfa_asked_for_by_openid_client(node: str, op: LiveProvider) -> None:
    """The certified RP asks for ``urn:antin:acr:mfa`` from an SSO session at the password level: the official
    is asked for the app's code alone (no password again), and the RP takes the ID token because its acr says
    mfa; asked for ``phr`` (voluntary, no key enrolled) the token says mfa and the RP refuses it itself."""
    rp = RelyingParty.register(op, name="Văn bản điều hành")
    browser = Browser(op.issuer, **{"Accept-Language": "en"})
    at_password = drive(node, op, rp, browser, auth="basic", username="binh.tran")
    assert at_password["claims"]["acr"] == ACR_PASSWORD
    app = enrol_totp(browser).app  # in the same session: the official adds an authenticator app
    seen: list[str] = []

    def code_only(b: Browser, outcome: Outcome) -> Outcome:
        assert outcome.page is not None and 'id="code-form"' in outcome.page.text, outcome
        assert 'name="password"' not in outcome.page.text  # only what the session lacks
        seen.append(outcome.page.url)
        return b.submit(outcome.page, "code-form", {"code": app.now()})

    stepped = drive(node, op, rp, browser, auth="basic", acr_values=ACR_MFA, sign_in=code_only)
    assert seen and stepped["claims"]["acr"] == ACR_MFA and stepped["claims"]["amr"] == ["pwd", "otp", "mfa"]
    assert stepped["claims"]["sid"] == at_password["claims"]["sid"]  # the same SSO session, stepped up
    assert stepped["claims"]["auth_time"] == at_password["claims"]["auth_time"]  # of the password

    with pytest.raises(AssertionError, match="is not one of the levels asked for"):
        drive(node, op, rp, browser, auth="basic", acr_values=ACR_PHISHING_RESISTANT)

    # with a security key added (the software authenticator), phr (the EAP name) is reached by the key alone
    key = SoftAuthenticator(op.issuer, "localhost")
    page = browser.go(op.issuer + "/account/security/webauthn").page
    assert page is not None and 'id="webauthn-form"' in page.text
    browser.submit(page, "webauthn-form", {"credential": key.create(options_of(page)), "name": "Khóa"})

    def key_only(b: Browser, outcome: Outcome) -> Outcome:
        assert outcome.page is not None and 'id="webauthn-form"' in outcome.page.text, outcome
        return b.submit(outcome.page, "webauthn-form", {"credential": key.get(options_of(outcome.page))})

    # openid-client checks the acr against what it asked: the URN the token carries for phr
    phr = drive(node, op, rp, browser, auth="basic", acr_values=f"phr {ACR_PHISHING_RESISTANT}", sign_in=key_only)
    assert phr["claims"]["acr"] == ACR_PHISHING_RESISTANT
    assert phr["claims"]["amr"] == ["pwd", "otp", "mfa", "hwk", "user", "pin"]
