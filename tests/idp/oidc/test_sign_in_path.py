"""A sign-in's own statements, on SQLite (SQLAlchemy Core) and on PostgreSQL (psycopg directly,
idp/oidc/login_driver.py): the interaction taken once by the resume and only by its browser, the SSO session read
back with its clients, the code, the ID token checked by the relying party's library."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import pyotp
import pytest

from idp.mfa import get_mfa_service
from idp.mfa.models import FactorKind
from idp.oidc.browser import SSO_COOKIE
from tests.idp.conftest import PASSWORD, make_directory
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty, forms_of


@contextmanager
def provider_on(database: str, tmp_path: Path) -> Iterator[LiveProvider]:
    if database == "sqlite":
        with live_provider(tmp_path / "op", make_directory()) as op:
            yield op
        return
    from tests.servers import postgres_server

    with (
        postgres_server(tmp_path / "pg") as url,
        live_provider(tmp_path / "op", make_directory(), database__url=url) as op,
    ):
        assert op.instance.database.driver is not None  # the path under test
        yield op
        op.instance.database.dispose()


def password_post(browser: Browser, page_url: str, page_text: str) -> str:
    """The login form sent; the redirect it answers with (not followed): the next step, or the client."""
    form = forms_of(page_text)["login-form"]
    data = {**form["inputs"], "username": "an.nguyen", "password": PASSWORD}
    answer = browser.session.post(urljoin(page_url, form["action"]), data=data, allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text[:300]
    return urljoin(page_url, answer.headers["Location"])


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_interaction_is_taken_once_by_its_browser(database: str, tmp_path: Path) -> None:
    with provider_on(database, tmp_path) as op:
        # consent owed (a client not trusted): the interaction goes back to the protocol through the resume
        rp = RelyingParty.register(op, name="Hồ sơ công việc", trusted=False)
        browser = Browser(op.issuer)
        page = rp.authorize(browser).page
        assert page is not None and "login-form" in page.text
        iid = forms_of(page.text)["login-form"]["action"].rsplit("/", 1)[-1]
        # not finished yet: the resume sends the browser back to its sign-in, and takes nothing
        early = browser.session.get(f"{op.issuer}/authorize/resume/{iid}", allow_redirects=False, timeout=10)
        assert early.status_code == 303 and early.headers["Location"].endswith(f"/login/{iid}")
        consent_url = password_post(browser, page.url, page.text)
        assert consent_url.endswith(f"/login/{iid}/consent")
        consent = browser.session.get(consent_url, timeout=10)
        form = forms_of(consent.text)["consent-form"]
        allowed = browser.session.post(
            urljoin(consent_url, form["action"]),
            data={**form["inputs"], "decision": "allow"},
            allow_redirects=False,
            timeout=10,
        )
        resume = urljoin(consent_url, allowed.headers["Location"])
        assert resume.endswith(f"/authorize/resume/{iid}")
        # another browser cannot take it
        stranger = Browser(op.issuer).session.get(resume, allow_redirects=False, timeout=10)
        assert stranger.status_code == 400 and "expired" in stranger.text
        first = browser.session.get(resume, allow_redirects=False, timeout=10)
        assert first.status_code in (302, 303) and first.headers["Location"].startswith(rp.redirect_uri)
        # its one use is spent: the same resume again is refused, no second code
        again = browser.session.get(resume, allow_redirects=False, timeout=10)
        assert again.status_code == 400 and "expired" in again.text and "Location" not in again.headers
        code = dict(p.split("=", 1) for p in first.headers["Location"].split("?", 1)[1].split("&"))["code"]
        tokens = rp.exchange(code)
        assert tokens.status_code == 200, tokens.text
        claims = rp.verify_id_token(
            tokens.json()["id_token"], nonce=rp.last["nonce"], access_token=tokens.json()["access_token"]
        )
        assert claims["sub"] == op.directory.find_by_login("an.nguyen").entry_uuid  # type: ignore[union-attr]


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_sso_session_is_read_back_with_its_clients(database: str, tmp_path: Path) -> None:
    with provider_on(database, tmp_path) as op:
        first, second = (RelyingParty.register(op, name=name) for name in ("Hồ sơ", "Thư điện tử"))
        browser = Browser(op.issuer)
        tokens = first.code_flow(browser)
        cookie = browser.session.cookies.get(SSO_COOKIE)
        session = op.provider.sessions.current(cookie)
        assert session is not None and session.subject == tokens["id_claims"]["sub"]
        assert session.client_ids == (first.client.client_id,) and session.amr == ("pwd",)
        # the second application signs the official in from the SSO session: no password page, its own code
        outcome = second.authorize(browser)
        assert outcome.page is None and outcome.location is not None
        again = second.exchange(outcome.params["code"])
        assert again.status_code == 200
        claims = second.verify_id_token(
            again.json()["id_token"], nonce=second.last["nonce"], access_token=again.json()["access_token"]
        )
        assert claims["sub"] == session.subject and claims["sid"] == session.sid
        session = op.provider.sessions.current(cookie)
        assert session is not None and set(session.client_ids) == {first.client.client_id, second.client.client_id}
        assert op.provider.sessions.current("not a cookie of ours") is None


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_an_official_with_an_authenticator_app_is_asked_for_its_code(database: str, tmp_path: Path) -> None:
    """The MFA steps decide from one read of the official's factors: TOTP enrolled, no security key."""
    with provider_on(database, tmp_path) as op:
        mfa = get_mfa_service(op.instance)
        subject = op.directory.find_by_login("an.nguyen").entry_uuid  # type: ignore[union-attr]
        assert mfa.factor_kinds(subject) == frozenset()
        enrolment = mfa.begin_totp(subject, account="an.nguyen")
        code = pyotp.TOTP(enrolment.key_groups.replace(" ", "")).at(op.instance.clock.now())
        assert mfa.confirm_totp(subject, enrolment.token, code, name="Điện thoại", ip=None) is not None
        assert FactorKind.TOTP in mfa.factor_kinds(subject) and FactorKind.WEBAUTHN not in mfa.factor_kinds(subject)
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer)
        page = rp.authorize(browser).page
        assert page is not None
        step = browser.session.get(password_post(browser, page.url, page.text), timeout=10)
        assert step.status_code == 200 and 'name="code"' in step.text  # the app's code is asked, no code issued yet
        assert step.url.endswith("/second-factor")
