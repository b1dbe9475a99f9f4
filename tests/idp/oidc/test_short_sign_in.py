"""A new sign-in in two requests of the browser: /authorize answers the password page itself, and a password that
completes the sign-in answers the client with its code at once. Every other sign-in keeps the interaction's URL
and the resume; the interaction's URL keeps working (reload, bookmark); an interaction is answered once.
SQLite (SQLAlchemy Core) and PostgreSQL (psycopg directly); each code's ID token checked by the RP's verifier."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pyotp
import pytest
import requests
from sqlalchemy import func, select, text

from antin.kernel.audit.models import AuditEntry
from idp.oidc.models import AuthorizationCode, SsoSession
from tests.idp.conftest import PASSWORD
from tests.idp.oidc.test_sign_in_path import provider_on
from tests.idp.oidc_harness import LiveProvider
from tests.idp.rp import Browser, RelyingParty, forms_of

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _get(browser: Browser, url: str) -> requests.Response:
    return browser.session.get(url, allow_redirects=False, timeout=10)


def _authorize_url(rp: RelyingParty, **overrides: str) -> str:
    prepared = requests.Request("GET", rp.op.issuer + "/authorize", params=rp.auth_params(**overrides)).prepare()
    assert prepared.url is not None
    return prepared.url


def _post_password(browser: Browser, page: requests.Response, password: str = PASSWORD) -> requests.Response:
    form = forms_of(page.text)["login-form"]
    data = {**form["inputs"], "username": "an.nguyen", "password": password}
    return browser.session.post(urljoin(page.url, form["action"]), data=data, allow_redirects=False, timeout=10)


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _check_code(rp: RelyingParty, location: str) -> dict[str, object]:
    """The code of this redirect exchanged, and its ID token checked as the relying party checks it."""
    params = _query(location)
    assert params["state"] == rp.last["state"] and params["iss"] == rp.op.issuer
    tokens = rp.exchange(params["code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    return rp.verify_id_token(body["id_token"], nonce=rp.last["nonce"], access_token=body["access_token"])


@pytest.mark.parametrize("database", DATABASES)
def test_a_new_sign_in_is_the_password_page_then_the_client(database: str, tmp_path: Path) -> None:
    with provider_on(database, tmp_path) as op:
        rp = RelyingParty.register(op, name="Hồ sơ công việc")
        browser = Browser(op.issuer)
        page = _get(browser, _authorize_url(rp))
        # the password page itself, hardened like every page of the sign-in, posting to the interaction's URL
        assert page.status_code == 200 and "login-form" in page.text and "Hồ sơ công việc" in page.text
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["Cache-Control"] == "no-store"
        action = forms_of(page.text)["login-form"]["action"]
        assert action.startswith("/login/")
        iid = action.rsplit("/", 1)[-1]
        # the interaction's URL shows the same page (a reload, a bookmark, the language switch's way back)
        again = _get(browser, urljoin(op.issuer, action))
        assert again.status_code == 200 and forms_of(again.text)["login-form"]["action"] == action
        assert f"next=/login/{iid}" in page.text.replace("%2F", "/")
        # a wrong password: the page again, at the interaction's URL, nothing issued
        wrong = _post_password(browser, page, "not the password")
        assert wrong.status_code == 401 and "login-error" in wrong.text
        # the right one: straight to the client, with the code, its state and the issuer (RFC 9207)
        answer = _post_password(browser, page)
        assert answer.status_code == 303 and answer.headers["Location"].startswith(rp.redirect_uri)
        assert answer.headers["Cache-Control"] == "no-store"
        claims = _check_code(rp, answer.headers["Location"])
        assert claims["sub"] == op.directory.find_by_login("an.nguyen").entry_uuid  # type: ignore[union-attr]
        assert claims["amr"] == ["pwd"] and "sid" in claims
        session = op.provider.sessions.current(browser.session.cookies.get("antin_sso"))
        assert session is not None and claims["sid"] == session.sid
        # answered once: the same form again, its resume, its URL are all spent — no second code
        replay = _post_password(browser, page)
        assert replay.status_code == 400 and "expired" in replay.text and "Location" not in replay.headers
        resumed = _get(browser, f"{op.issuer}/authorize/resume/{iid}")
        assert resumed.status_code == 400 and "Location" not in resumed.headers
        assert _get(browser, urljoin(op.issuer, action)).status_code == 400


@pytest.mark.parametrize("database", DATABASES)
def test_the_password_page_speaks_the_requests_ui_locales(database: str, tmp_path: Path) -> None:
    with provider_on(database, tmp_path) as op:
        rp = RelyingParty.register(op)
        english = _get(Browser(op.issuer), _authorize_url(rp, ui_locales="en-GB vi"))
        assert english.status_code == 200 and 'lang="en"' in english.text and "Password" in english.text
        vietnamese = _get(Browser(op.issuer), _authorize_url(rp))
        assert vietnamese.status_code == 200 and 'lang="vi"' in vietnamese.text and "Mật khẩu" in vietnamese.text


@pytest.mark.parametrize("database", DATABASES)
def test_every_other_sign_in_keeps_the_interactions_url_and_the_resume(database: str, tmp_path: Path) -> None:
    with provider_on(database, tmp_path) as op:
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer)
        rp.code_flow(browser)  # an SSO session now
        # with a session: prompt=login and max_age=0 ask the password again at the interaction's URL
        for overrides in ({"prompt": "login"}, {"max_age": "0"}):
            first = _get(browser, _authorize_url(rp, **overrides))
            assert first.status_code == 303 and "/login/" in first.headers["Location"], overrides
            page = _get(browser, urljoin(op.issuer, first.headers["Location"]))
            answer = _post_password(browser, page)
            assert answer.status_code == 303 and answer.headers["Location"].startswith(rp.redirect_uri)
            _check_code(rp, answer.headers["Location"])
        # a POSTed request and a pushed one go to the interaction's URL too
        fresh = Browser(op.issuer)
        posted = fresh.session.post(op.issuer + "/authorize", data=rp.auth_params(), allow_redirects=False, timeout=10)
        assert posted.status_code == 303 and "/login/" in posted.headers["Location"]
        pushed = requests.post(
            op.issuer + "/par", data=rp.auth_params(), auth=(rp.client.client_id, rp.secret), timeout=10
        )
        assert pushed.status_code == 201, pushed.text
        start = (
            requests.Request(
                "GET",
                op.issuer + "/authorize",
                params={"client_id": rp.client.client_id, "request_uri": pushed.json()["request_uri"]},
            )
            .prepare()
            .url
        )
        assert start is not None
        par_first = _get(fresh, start)
        assert par_first.status_code == 303 and "/login/" in par_first.headers["Location"]
        page = _get(fresh, urljoin(op.issuer, par_first.headers["Location"]))
        answer = _post_password(fresh, page)
        assert answer.status_code == 303 and answer.headers["Location"].startswith(rp.redirect_uri)
        _check_code(rp, answer.headers["Location"])


@pytest.mark.parametrize("database", DATABASES)
def test_consent_is_still_asked_before_the_client_gets_a_code(database: str, tmp_path: Path) -> None:
    with provider_on(database, tmp_path) as op:
        rp = RelyingParty.register(op, trusted=False)
        browser = Browser(op.issuer)
        page = _get(browser, _authorize_url(rp))
        assert page.status_code == 200 and "login-form" in page.text
        answer = _post_password(browser, page)
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/consent")
        outcome = browser.submit(
            _get(browser, urljoin(op.issuer, answer.headers["Location"])), "consent-form", {"decision": "allow"}
        )
        assert outcome.location is not None and outcome.location.startswith(rp.redirect_uri)
        _check_code(rp, outcome.location)


@pytest.mark.parametrize("database", DATABASES)
def test_two_tabs_posting_one_sign_in_at_once_get_one_code(database: str, tmp_path: Path) -> None:
    """The code is written by the statement that takes the interaction: of two answers at once, one has a code."""
    from concurrent.futures import ThreadPoolExecutor

    with provider_on(database, tmp_path) as op:
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer)
        page = _get(browser, _authorize_url(rp))
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: _post_password(browser, page), range(2)))
        with_code = [a for a in answers if "code=" in a.headers.get("Location", "")]
        assert len(with_code) == 1, [(a.status_code, a.headers.get("Location")) for a in answers]
        other = next(a for a in answers if a is not with_code[0])
        assert other.status_code == 400 and "expired" in other.text
        _check_code(rp, with_code[0].headers["Location"])
        with op.instance.database.reading() as s:
            assert s.scalar(select(func.count()).select_from(AuthorizationCode)) == 1


def _session_entries(op: LiveProvider) -> list[dict[str, object]]:
    with op.instance.database.reading() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.event == "session:sso:start")).all()
        return [{"subject": r.subject, "ip": r.ip, **json.loads(r.details)} for r in rows]


def _session_count(op: LiveProvider) -> int:
    with op.instance.database.reading() as s:
        return int(s.scalar(select(func.count()).select_from(SsoSession)) or 0)


@pytest.mark.parametrize("database", DATABASES)
def test_each_sso_session_has_its_start_entry(database: str, tmp_path: Path) -> None:
    with provider_on(database, tmp_path) as op:
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer)
        claims = _check_code(rp, _post_password(browser, _get(browser, _authorize_url(rp))).headers["Location"])
        [entry] = _session_entries(op)
        assert entry["sid"] == claims["sid"] and entry["subject"] == claims["sub"] and entry["amr"] == ["pwd"]
        assert entry["ip"] == "127.0.0.1" and _session_count(op) == 1
        assert op.instance.audit.verify().ok


@pytest.mark.postgres
def test_no_sso_session_starts_when_its_entry_cannot_be_written(tmp_path: Path) -> None:
    """On PostgreSQL the session and its entry are one statement: an entry the log refuses takes the session with
    it (the sign-in fails with a clear page, no code), and the next sign-in writes both."""
    with provider_on("postgresql", tmp_path) as op:
        rp = RelyingParty.register(op)
        with op.instance.database.autocommit() as conn:  # the log refuses this event from now on
            conn.execute(
                text("ALTER TABLE audit_log ADD CONSTRAINT no_start CHECK (event <> 'session:sso:start') NOT VALID")
            )
        browser = Browser(op.issuer)
        refused = _post_password(browser, _get(browser, _authorize_url(rp)))
        assert refused.status_code >= 500 and "Location" not in refused.headers and "Traceback" not in refused.text
        assert _session_count(op) == 0 and _session_entries(op) == []
        with op.instance.database.autocommit() as conn:
            conn.execute(text("ALTER TABLE audit_log DROP CONSTRAINT no_start"))
        browser = Browser(op.issuer)
        _check_code(rp, _post_password(browser, _get(browser, _authorize_url(rp))).headers["Location"])
        assert _session_count(op) == 1 and len(_session_entries(op)) == 1 and op.instance.audit.verify().ok


def _entries(op: LiveProvider) -> list[tuple[str, str | None, int, int]]:
    with op.instance.database.reading() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        return [(r.event, r.subject, r.writer, r.writer_seq) for r in rows]


@pytest.mark.parametrize("database", DATABASES)
def test_the_password_accepted_and_the_session_started_are_written_together(database: str, tmp_path: Path) -> None:
    """The password POST's two entries, one after the other in one writer's chain; on PostgreSQL by the statement
    that starts the session (one statement writes to the log in that request, not two)."""
    with provider_on(database, tmp_path) as op:
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer)
        page = _get(browser, _authorize_url(rp))
        writing_the_log: list[str] = []
        driver = op.instance.database.driver
        if driver is not None:
            driver.observers.append(lambda sql: writing_the_log.append(sql) if "INSERT INTO audit_log" in sql else None)
        answer = _post_password(browser, page)
        claims = _check_code(rp, answer.headers["Location"])
        if driver is not None:
            assert len(writing_the_log) == 2  # the session with both entries, then the code's tokens with theirs
            assert "oidc_sso_session" in writing_the_log[0] and "UNION ALL" in writing_the_log[0]
        accepted, started = [e for e in _entries(op) if e[0] in ("login:password:success", "session:sso:start")]
        assert accepted[0] == "login:password:success" and started[0] == "session:sso:start"
        assert accepted[1] == started[1] == claims["sub"]
        assert accepted[2] == started[2] and started[3] == accepted[3] + 1  # one writer, one after the other
        assert op.instance.audit.verify().ok


@pytest.mark.parametrize("database", DATABASES)
def test_a_password_accepted_before_a_second_factor_is_written_in_its_request(database: str, tmp_path: Path) -> None:
    """No session starts yet (the authenticator app's code is asked next): the entry is written all the same."""
    from idp.mfa import get_mfa_service

    with provider_on(database, tmp_path) as op:
        subject = op.directory.find_by_login("an.nguyen").entry_uuid  # type: ignore[union-attr]
        mfa = get_mfa_service(op.instance)
        enrolment = mfa.begin_totp(subject, account="an.nguyen")
        code = pyotp.TOTP(enrolment.key_groups.replace(" ", "")).at(op.instance.clock.now())
        assert mfa.confirm_totp(subject, enrolment.token, code, name="Điện thoại", ip=None) is not None
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer)
        answer = _post_password(browser, _get(browser, _authorize_url(rp)))
        assert answer.status_code == 303 and "second-factor" in answer.headers["Location"]
        events = [e[0] for e in _entries(op)]
        assert "login:password:success" in events and "session:sso:start" not in events
        assert op.instance.audit.verify().ok


@pytest.mark.postgres
def test_the_session_the_interaction_and_the_code_are_one_statement(tmp_path: Path) -> None:
    """On PostgreSQL the password that completes a new sign-in writes the SSO session (with its entry and the
    password's), takes the interaction and writes the code in one statement. When the interaction is gone (another
    tab answered it between this request's read and its write) the session and its entry are written all the same,
    as by a statement of their own, and no code."""
    from datetime import UTC, datetime

    from idp.oidc.codes import CodeRequest
    from idp.oidc.interaction import AuthenticationResult

    with provider_on("postgresql", tmp_path) as op:
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer)
        page = _get(browser, _authorize_url(rp))
        statements: list[str] = []
        driver = op.instance.database.driver
        assert driver is not None
        driver.observers.append(statements.append)
        answer = _post_password(browser, page)
        posted = list(statements)
        claims = _check_code(rp, answer.headers["Location"])
        writing = [sql for sql in posted if "oidc_sso_session" in sql or "oidc_authorization_code" in sql]
        assert len(writing) == 1, writing
        assert all(table in writing[0] for table in ("audit_log", "oidc_interaction", "oidc_authorization_code"))
        [entry] = _session_entries(op)
        assert entry["sid"] == claims["sid"] and entry["subject"] == claims["sub"]
        accepted, started = [e for e in _entries(op) if e[0] in ("login:password:success", "session:sso:start")]
        assert accepted[2] == started[2] and started[3] == accepted[3] + 1
        # the interaction gone: the session and its entry written, no code
        provider = op.provider
        result = AuthenticationResult(
            str(claims["sub"]), datetime.now(UTC).replace(microsecond=0), "pwd", ("pwd",), "an"
        )
        starting = provider.sessions.prepare(result, user_agent="tab", ip="127.0.0.1", audit=op.instance.audit)
        request = CodeRequest(
            client_id=rp.client.client_id,
            subject=result.subject,
            redirect_uri=rp.redirect_uri,
            scope="openid",
            nonce=None,
            code_challenge="x" * 43,
            auth_time=result.auth_time,
            acr=result.acr,
            amr=result.amr,
            sid=starting.view.sid,
            claims=None,
            resources=(),
        )
        assert provider.tokens.create_code_taking_interaction(request, "gone", "token", starting=starting) is None
        assert starting.written and _session_count(op) == 2
        assert [e["sid"] for e in _session_entries(op)] == [claims["sid"], starting.view.sid]
        with op.instance.database.reading() as s:
            assert s.scalar(select(func.count()).select_from(AuthorizationCode)) == 1
        assert op.instance.audit.verify().ok


def test_the_sign_in_statement_is_parsed_once_by_psycopg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The statement of the password POST carries its code's official, time, level and session from the session's
    own parameters: 50, within psycopg's limit for keeping a statement's conversion (at 55 it parsed the 2.6 kB
    statement again at every sign-in). The code's claims are the session's (its ID token checked)."""
    from psycopg import _queries

    parsed: list[bytes] = []
    uncached = _queries._query2pg_nocache

    def parse(query: bytes, *args: object) -> object:
        parsed.append(query)
        return uncached(query, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_queries, "_query2pg_nocache", parse)
    with provider_on("postgresql", tmp_path) as op:
        rp = RelyingParty.register(op)
        for _ in range(3):
            browser = Browser(op.issuer)
            answer = _post_password(browser, _get(browser, _authorize_url(rp)))
            claims = _check_code(rp, answer.headers["Location"])
            [session] = [e for e in _session_entries(op) if e["sid"] == claims["sid"]]
            assert session["subject"] == claims["sub"] and claims["amr"] == ["pwd"]
    assert not [q for q in parsed if b"oidc_authorization_code" in q and b"oidc_sso_session" in q]
