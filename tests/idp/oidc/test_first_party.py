"""The platform's own pages sign officials in through the provider like any RP (idp/oidc/first_party.py): a page
set on a test blueprint, a browser over real HTTP, the provider's login page, the ID token checked."""

from __future__ import annotations

import pytest
from flask import Blueprint, render_template_string

from idp.oidc.clients import client_registry
from idp.oidc.first_party import (
    CONSOLE,
    PORTAL,
    FirstPartyApp,
    FirstPartySignIn,
    SignInError,
    ensure_all_registered,
    ensure_registered,
)
from tests.idp.conftest import PASSWORD
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, forms_of

PAGES = FirstPartyApp(key="pages", client_id="antin-pages", name="Trang thử", path="/pages")


@pytest.fixture
def pages(op: LiveProvider) -> FirstPartySignIn:
    sign_in = FirstPartySignIn(PAGES)
    bp = Blueprint("pages", __name__, url_prefix="/pages")

    @bp.route("/private")
    @sign_in.required
    def private() -> str:
        official = sign_in.current()
        assert official is not None
        return render_template_string(
            "<p id=who>{{ o.name }} ({{ o.login }}) {{ o.acr }}</p>"
            "<form id=signout method=post action='/pages/signout'>"
            "<input type=hidden name=csrf_token value='{{ csrf_token() }}'></form>",
            o=official,
        )

    @bp.route("/")
    def home() -> str:
        return "<p id=home>home</p>"

    sign_in.add_routes(bp, on_failure=lambda failed: (f"<p id=refused>{failed.reason}</p>", 400))
    op.app.register_blueprint(bp)
    return sign_in


def test_a_page_signs_the_official_in_through_the_provider_and_back(op: LiveProvider, pages: FirstPartySignIn) -> None:
    browser = Browser(op.issuer)
    outcome = browser.go(op.issuer + "/pages/private?tab=2")
    assert outcome.page is not None and "login-form" in outcome.page.text  # the provider's own login page
    outcome = browser.login(outcome.page, "an.nguyen", PASSWORD)
    assert outcome.page is not None and outcome.page.status_code == 200
    assert outcome.page.url == op.issuer + "/pages/private?tab=2"  # back where the official was going
    assert "Nguyễn Văn An (an.nguyen) urn:antin:acr:password" in outcome.page.text
    # the app is a registered public client, trusted (no consent page was shown), PKCE only
    record = client_registry(op.instance).get("antin-pages")
    assert record is not None and record.public and record.trusted
    assert record.redirect_uris == (op.issuer + "/pages/signin/callback",)

    # signing out here ends the SSO session at the provider: the next page asks for the password again
    page = outcome.page
    signout = forms_of(page.text)["signout"]
    out = browser.go(op.issuer + signout["action"], method="POST", data=signout["inputs"])
    assert out.page is not None
    assert "login-form" in browser.go(op.issuer + "/pages/private").page.text  # type: ignore[union-attr]


def test_the_page_follows_the_sso_session(op: LiveProvider, pages: FirstPartySignIn) -> None:
    browser = Browser(op.issuer)
    outcome = browser.login(browser.go(op.issuer + "/pages/private").page, "an.nguyen", PASSWORD)  # type: ignore[arg-type]
    assert outcome.page is not None and "Nguyễn Văn An" in outcome.page.text
    (session,) = op.provider.sessions.live_for(op.directory.find_by_login("an.nguyen").entry_uuid)  # type: ignore[union-attr]
    op.provider.end_session(session.sid, reason="test")  # an administrator, or a sign-out in another app
    again = browser.go(op.issuer + "/pages/private")
    assert again.page is not None and "login-form" in again.page.text


def test_a_forged_or_replayed_callback_is_refused_with_a_page(op: LiveProvider, pages: FirstPartySignIn) -> None:
    browser = Browser(op.issuer)
    page = browser.go(op.issuer + "/pages/private").page
    assert page is not None
    forged = browser.session.get(op.issuer + "/pages/signin/callback?code=x&state=nope", timeout=10)
    assert forged.status_code == 400 and "unknown or expired state" in forged.text
    # the provider's error comes back as a clear refusal, not a 500
    denied = browser.session.get(op.issuer + "/pages/signin/callback?error=access_denied&state=", timeout=10)
    assert denied.status_code == 400


def test_the_next_target_stays_on_the_site(op: LiveProvider, pages: FirstPartySignIn) -> None:
    browser = Browser(op.issuer)
    page = browser.go(op.issuer + "/pages/signin?next=//evil.example/x").page
    assert page is not None
    outcome = browser.login(page, "an.nguyen", PASSWORD)
    assert outcome.page is not None and outcome.page.url == op.issuer + "/pages/"


def test_a_code_for_another_client_or_a_wrong_verifier_gives_no_sign_in(
    op: LiveProvider, pages: FirstPartySignIn
) -> None:
    ensure_registered(op.instance, PAGES)
    with op.app.test_request_context("/pages/signin/callback?state=s&code=c"):
        from flask import session

        session["first_party.pages.pending"] = [
            {"state": "s", "nonce": "n", "verifier": "v" * 43, "next": "/", "at": 2**40}
        ]
        with pytest.raises(SignInError, match="token request refused: invalid_grant"):
            pages.finish()
        assert pages.current() is None


def test_the_platform_apps_are_registered_once(op: LiveProvider) -> None:
    first = ensure_all_registered(op.instance)
    assert [r.client_id for r in first] == [PORTAL.client_id, CONSOLE.client_id]
    assert first[1].redirect_uris == (op.issuer + "/admin/signin/callback",)
    client_registry(op.instance).set_disabled(CONSOLE.client_id)
    again = ensure_registered(op.instance, CONSOLE)
    assert again.disabled  # an operator's decision stands
