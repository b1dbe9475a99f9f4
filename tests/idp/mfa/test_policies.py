"""Policies (issue 10 item 5) over HTTP: the level an official must reach comes from their directory groups
(``[mfa] group_levels``), the platform (``[mfa] required_level``) and the client (``antin clients update --acr``);
an official with no factor for it sets one up inside the login (an app, or a key when phishing resistance is
needed), keeps the recovery codes, and the login goes on to the application; a level no enrolment can give
(hardware with an empty allow-list) reaches the client as ``unmet_authentication_requirements``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from antin.cli import cli
from idp.oidc.acr import ACR_MFA, ACR_PASSWORD, ACR_PHISHING_RESISTANT
from tests.idp.conftest import make_directory
from tests.idp.mfa.pages import enrol_app, enrolment_page, options_of, text_of
from tests.idp.mfa.soft_authenticator import SoftAuthenticator
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty

PASSWORD = "correct horse"


@pytest.fixture
def group_op(tmp_path: Path) -> Iterator[LiveProvider]:
    """an.nguyen is in the groups can-bo and van-thu (tests/idp/conftest.py); binh.tran in none."""
    with live_provider(tmp_path, make_directory(), mfa__group_levels=("van-thu=urn:antin:acr:mfa",)) as live:
        yield live


def test_a_group_policy_leads_an_official_with_no_factor_through_enrolment(group_op: LiveProvider) -> None:
    rp = RelyingParty.register(group_op, name="Hồ sơ công việc")
    browser, page = enrolment_page(rp, "an.nguyen")
    assert "Hồ sơ công việc" in text_of(page, "client-name")
    assert 'id="totp-form"' in page.text and 'id="webauthn-form"' in page.text  # an app or a key
    assert 'autocomplete="one-time-code"' in page.text and "<svg" in page.text
    wrong = browser.submit(page, "totp-form", {"code": "000000"}).page
    assert wrong is not None and wrong.status_code == 400 and 'id="enrol-error"' in wrong.text
    assert text_of(wrong, "totp-key") == text_of(page, "totp-key")  # the same key: nothing to scan again

    app, codes, params = enrol_app(browser, wrong)
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"]
    events = [e.event for e in group_op.instance.audit.entries(subject=claims["sub"], limit=20)]
    assert "mfa:totp:enrol" in events and "mfa:recovery:generate" in events

    # the next sign-in asks for the app's code, like any enrolled official's
    again = Browser(group_op.issuer)
    step = again.login(rp.authorize(again).page, "an.nguyen", PASSWORD).page  # type: ignore[arg-type]
    assert step is not None and 'id="code-form"' in step.text
    assert len(codes) == 10 and app is not None

    # an official in no such group signs in with the password alone
    tokens = rp.code_flow(Browser(group_op.issuer), username="binh.tran", password=PASSWORD)
    assert tokens["id_claims"]["acr"] == ACR_PASSWORD


def test_a_group_needing_phishing_resistance_enrols_a_key(tmp_path: Path) -> None:
    with live_provider(tmp_path, make_directory(), mfa__group_levels=("can-bo=phr",)) as op:
        rp = RelyingParty.register(op, name="Hồ sơ công việc")
        browser, page = enrolment_page(rp, "an.nguyen")
        assert 'id="webauthn-form"' in page.text and 'id="totp-form"' not in page.text  # an app cannot give it
        assert '"userVerification": "required"' in options_of(page)
        # a key that cannot verify the user would not give the level: refused with a page that says why
        touch_only = SoftAuthenticator(op.issuer, "localhost", user_verification=False)
        refused = browser.submit(page, "webauthn-form", {"credential": touch_only.create(options_of(page))}).page
        assert refused is not None and refused.status_code == 400
        assert "PIN or fingerprint" in text_of(refused, "enrol-error")
        key = SoftAuthenticator(op.issuer, "localhost")
        shown = browser.submit(refused, "webauthn-form", {"credential": key.create(options_of(refused))}).page
        assert shown is not None and len(re.findall(r"<li><code>", shown.text)) == 10
        target = re.findall(r'id="done" href="([^"]+)"', shown.text)[0].replace("&amp;", "&")
        params = browser.go(op.issuer + target).params
        claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
        assert claims["acr"] == ACR_PHISHING_RESISTANT and claims["amr"] == ["pwd", "hwk", "user", "pin", "mfa"]


def test_a_level_no_enrolment_can_give_is_unmet(tmp_path: Path) -> None:
    # hardware with no key model on the allow-list: nobody can reach it, so the client is told, not a page
    with live_provider(tmp_path, make_directory(), mfa__group_levels=("van-thu=phrh",)) as op:
        rp = RelyingParty.register(op, name="Hồ sơ công việc")
        browser = Browser(op.issuer)
        outcome = browser.login(rp.authorize(browser, state="s-7").page, "an.nguyen", PASSWORD)  # type: ignore[arg-type]
        assert outcome.page is None, outcome.page.url if outcome.page else None
        assert outcome.params["error"] == "unmet_authentication_requirements" and outcome.params["state"] == "s-7"
        # the same official to an account page is let in: the security page is where factors are added
        account = Browser(op.issuer)
        landed = account.login(account.go(op.issuer + "/account").page, "an.nguyen", PASSWORD).page  # type: ignore[arg-type]
        assert landed is not None and landed.url.endswith("/account")
        # but that session, below the official's policy, is not handed to an application as it is
        outcome = rp.authorize(account, state="s-8")
        assert outcome.page is None and outcome.params["error"] == "unmet_authentication_requirements"


def test_the_platform_level_applies_to_everyone(tmp_path: Path) -> None:
    with live_provider(tmp_path, make_directory(), mfa__required_level=ACR_MFA) as op:
        rp = RelyingParty.register(op, name="Hồ sơ công việc")
        browser, page = enrolment_page(rp, "binh.tran")
        _app, _codes, params = enrol_app(browser, page)
        assert rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])["acr"] == ACR_MFA


def test_a_client_level_set_with_the_cli_leads_to_enrolment(op: LiveProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    monkeypatch.setenv("ANTIN_DATA_DIR", str(op.instance.settings.data_dir))
    monkeypatch.setenv("ANTIN_ISSUER", op.issuer)
    monkeypatch.setenv("ANTIN_SECRET_KEY", op.instance.secret_key)
    result = CliRunner().invoke(cli, ["clients", "update", rp.client.client_id, "--acr", ACR_MFA, "--json"])
    assert result.exit_code == 0, result.output
    assert '"default_acr_values": [\n    "urn:antin:acr:mfa"\n  ]' in result.output
    op.provider.clients.forget()  # the running server's cache (ANTIN_OIDC_CLIENT_CACHE_SECONDS in production)

    browser, page = enrolment_page(rp, "binh.tran")
    _app, _codes, params = enrol_app(browser, page)
    claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_MFA
    assert [e.event for e in op.instance.audit.entries(event="oauth:client:acr")] == ["oauth:client:acr"]

    result = CliRunner().invoke(cli, ["clients", "update", rp.client.client_id, "--acr", "none"])
    assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(cli, ["clients", "update", rp.client.client_id, "--acr", "strong"])
    assert bad.exit_code == 2 and "strong" in bad.output


def test_a_client_refused_leaves_no_mark_on_the_others(tmp_path: Path) -> None:
    with live_provider(tmp_path, make_directory(), mfa__enrol_in_login=False) as op:
        strict = RelyingParty.register(op, name="Văn bản mật", required_acr=ACR_MFA)
        relaxed = RelyingParty.register(op, name="Lịch công tác")
        browser = Browser(op.issuer)
        page = strict.authorize(browser).page
        assert page is not None
        assert browser.login(page, "binh.tran", PASSWORD).params["error"] == "unmet_authentication_requirements"
        # the session itself is fine for an application that asks nothing more: silently, as SSO does
        silent = relaxed.authorize(browser, prompt="none")
        assert silent.page is None and "code" in silent.params, silent.params


def test_a_step_up_to_a_level_with_no_factor_enrols_a_key(op: LiveProvider) -> None:
    rp = RelyingParty.register(op, name="Hồ sơ công việc")
    browser = Browser(op.issuer, **{"Accept-Language": "en"})
    rp.code_flow(browser, username="binh.tran", password=PASSWORD)  # an SSO session at the password level
    essential_phr = '{"id_token": {"acr": {"essential": true, "values": ["phr"]}}}'
    page = rp.authorize(browser, claims=essential_phr).page
    assert page is not None and page.url.endswith("/enrol") and 'name="password"' not in page.text
    key = SoftAuthenticator(op.issuer, "localhost")
    shown = browser.submit(page, "webauthn-form", {"credential": key.create(options_of(page))}).page
    assert shown is not None
    target = re.findall(r'id="done" href="([^"]+)"', shown.text)[0].replace("&amp;", "&")
    claims = rp.verify_id_token(rp.exchange(browser.go(op.issuer + target).params["code"]).json()["id_token"])
    assert claims["acr"] == ACR_PHISHING_RESISTANT


def test_before_the_enrolment_date_the_login_reminds_then_requires(tmp_path: Path) -> None:
    with live_provider(
        tmp_path, make_directory(), mfa__group_levels=("van-thu=urn:antin:acr:mfa",), mfa__enrol_by="2099-03-31"
    ) as op:
        rp = RelyingParty.register(op, name="Hồ sơ công việc")
        browser, page = enrolment_page(rp, "an.nguyen")
        assert text_of(page, "enrol-deadline") == "You may do this later: it is required from 31/03/2099."
        params = browser.submit(page, "later-form").params  # put off: on to the application, as the password gives
        claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
        assert claims["acr"] == ACR_PASSWORD
        assert [e.event for e in op.instance.audit.entries(event="mfa:enrolment:postpone")] == [
            "mfa:enrolment:postpone"
        ]

        # a client that requires the level itself is not put off by the date
        strict = RelyingParty.register(op, name="Văn bản mật", required_acr=ACR_MFA)
        _browser, page = enrolment_page(strict, "an.nguyen")
        assert 'id="later-form"' not in page.text

        # from the date on, the reminder is a requirement
        op.instance.clock.advance(datetime(2099, 4, 1, tzinfo=UTC) - op.instance.clock.now())
        again, page = enrolment_page(rp, "an.nguyen")
        assert 'id="later-form"' not in page.text
        forged = again.submit(page, "totp-form", {"method": "later"})  # the form's own way round is refused too
        assert forged.page is not None and forged.page.url.endswith("/enrol")
