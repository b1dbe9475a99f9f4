"""Strong authentication end to end against a real slapd: an official enrols TOTP through the pages, signs in with
password and code, and the ID token says so (checked by the independent verifier); a replayed code gets a clear
page; `antin mfa list` and `antin mfa reset` on the same instance."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from antin.cli import cli
from directory.config import DirectoryConfig
from directory.models import NewPerson, UnitKind
from directory.service import LdapDirectory
from idp.oidc.acr import ACR_MFA, ACR_PASSWORD, ACR_PHISHING_RESISTANT
from tests.directory.conftest import PASSWORD, config_for, start_slapd
from tests.idp.jose_check import verify_jws
from tests.idp.mfa.pages import enrol_app, enrol_totp, options_of, sign_in_to_account, text_of
from tests.idp.mfa.soft_authenticator import SoftAuthenticator
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty

pytestmark = pytest.mark.slapd


@pytest.fixture(scope="module")
def ldap_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectoryConfig]:
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield config_for(server)
    server.stop()


@pytest.fixture
def ldap(ldap_config: DirectoryConfig) -> Iterator[LdapDirectory]:
    d = LdapDirectory(ldap_config)
    yield d
    d.close()


@pytest.fixture
def ldap_op(tmp_path: Path, ldap: LdapDirectory) -> Iterator[LiveProvider]:
    with live_provider(tmp_path, ldap) as live:  # type: ignore[arg-type]
        yield live


@pytest.fixture
def official(ldap: LdapDirectory) -> str:
    unit = f"U{uuid.uuid4().hex[:6]}".upper()
    ldap.create_unit(unit, "Ban Tổ chức Tỉnh ủy", UnitKind.DEPARTMENT)
    uid = f"hoa{uuid.uuid4().hex[:8]}"
    ldap.create_person(
        NewPerson(uid=uid, full_name="Nguyễn Thị Hoa", unit_code=unit, password=PASSWORD, mail=f"{uid}@example.vn")
    )
    return uid


def antin(op: LiveProvider, config: DirectoryConfig, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    """`antin …` on the live provider's instance: its data folder, its secret, the same slapd."""
    env = {
        "ANTIN_DATA_DIR": str(op.instance.settings.data_dir),
        "ANTIN_ISSUER": op.issuer,
        "ANTIN_SECRET_KEY": op.instance.secret_key,
        "ANTIN_DIRECTORY_MANAGED": "false",
        "ANTIN_DIRECTORY_URIS": ",".join(config.uris),
        "ANTIN_DIRECTORY_BASE_DN": config.base_dn,
        "ANTIN_DIRECTORY_BIND_DN": config.bind_dn,
        "ANTIN_DIRECTORY_BIND_PASSWORD": config.bind_password,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_enrol_sign_in_with_a_code_replay_refused_then_reset(
    ldap_op: LiveProvider, ldap_config: DirectoryConfig, official: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rp = RelyingParty.register(ldap_op, name="Hồ sơ công việc")
    account = Browser(ldap_op.issuer, **{"Accept-Language": "en"})
    sign_in_to_account(account, official, PASSWORD)
    enrolled = enrol_totp(account)

    browser = Browser(ldap_op.issuer, **{"Accept-Language": "en"})
    step = browser.login(rp.authorize(browser).page, f"{official}@example.vn", PASSWORD).page  # type: ignore[arg-type]
    assert step is not None and 'id="code-form"' in step.text
    code = enrolled.app.now()
    params = browser.submit(step, "code-form", {"code": code}).params
    tokens = rp.exchange(params["code"]).json()
    claims = rp.verify_id_token(tokens["id_token"], access_token=tokens["access_token"])
    assert (claims["acr"], claims["amr"]) == (ACR_MFA, ["pwd", "otp", "mfa"])
    _, access = verify_jws(tokens["access_token"], rp.jwks, allowed_algs=("ES256",))
    assert (access["acr"], access["amr"]) == (ACR_MFA, ["pwd", "otp", "mfa"])
    assert rp.userinfo(tokens["access_token"]).json()["sub"] == claims["sub"]

    thief = Browser(ldap_op.issuer, **{"Accept-Language": "en"})
    thief_step = thief.login(rp.authorize(thief).page, official, PASSWORD).page  # type: ignore[arg-type]
    assert thief_step is not None
    replay = thief.submit(thief_step, "code-form", {"code": code}).page
    assert replay is not None and replay.status_code == 401 and "already been used" in text_of(replay, "code-error")
    assert "Traceback" not in replay.text

    status, out = antin(ldap_op, ldap_config, monkeypatch, "mfa", "list", official, "--json")
    assert status == 0, out
    listed = json.loads(out)
    assert [f["kind"] for f in listed["factors"]] == ["totp", "recovery"] and listed["recovery_codes_left"] == 10
    assert listed["subject"] == claims["sub"]

    status, out = antin(ldap_op, ldap_config, monkeypatch, "mfa", "reset", official, "--yes")
    assert status == 0 and "removed 2 factor(s)" in out, out
    # signed out everywhere: the account page asks for a sign-in again
    assert 'id="login-form"' in account.go(ldap_op.issuer + "/account/security").page.text  # type: ignore[union-attr]
    # and the next sign-in is with the password alone
    tokens = rp.code_flow(Browser(ldap_op.issuer), username=official, password=PASSWORD)
    assert tokens["id_claims"]["acr"] == ACR_PASSWORD and tokens["id_claims"]["amr"] == ["pwd"]
    assert [e.event for e in ldap_op.instance.audit.entries(event="mfa:factors:reset")] == ["mfa:factors:reset"]
    status, out = antin(ldap_op, ldap_config, monkeypatch, "mfa", "list", "nobody-" + official)
    assert status == 1 and "no official" in out


def test_a_security_key_after_the_password_against_slapd_and_antin_mfa_list(
    ldap_op: LiveProvider, ldap_config: DirectoryConfig, official: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rp = RelyingParty.register(ldap_op, name="Hồ sơ công việc")
    key = SoftAuthenticator(ldap_op.issuer, "localhost", aaguid=bytes.fromhex("cb69481e8ff7403993ec0a2729a154a8"))
    account = Browser(ldap_op.issuer, **{"Accept-Language": "en"})
    page = sign_in_to_account(account, official, PASSWORD, "/account/security/webauthn")
    account.submit(page, "webauthn-form", {"credential": key.create(options_of(page)), "name": "YubiKey"})

    browser = Browser(ldap_op.issuer, **{"Accept-Language": "en"})
    step = browser.login(rp.authorize(browser).page, official, PASSWORD).page  # type: ignore[arg-type]
    assert step is not None and 'id="webauthn-form"' in step.text
    params = browser.submit(step, "webauthn-form", {"credential": key.get(options_of(step))}).params
    tokens = rp.exchange(params["code"]).json()
    claims = rp.verify_id_token(tokens["id_token"], access_token=tokens["access_token"])
    expected = (ACR_PHISHING_RESISTANT, ["pwd", "hwk", "user", "pin", "mfa"])
    assert (claims["acr"], claims["amr"]) == expected
    _, access = verify_jws(tokens["access_token"], rp.jwks, allowed_algs=("ES256",))
    assert (access["acr"], access["amr"]) == expected

    status, out = antin(ldap_op, ldap_config, monkeypatch, "mfa", "list", official, "--json")
    assert status == 0, out
    (listed_key,) = [f for f in json.loads(out)["factors"] if f["kind"] == "webauthn"]
    assert listed_key["name"] == "YubiKey" and listed_key["aaguid"] == "cb69481e-8ff7-4039-93ec-0a2729a154a8"
    assert listed_key["transports"] == ["usb"] and listed_key["backup_eligible"] is False
    assert listed_key["last_used_at"] is not None
    status, out = antin(ldap_op, ldap_config, monkeypatch, "mfa", "list", official)
    assert "AAGUID cb69481e-8ff7-4039-93ec-0a2729a154a8, kept on one device, transports usb" in out


def test_after_antin_mfa_reset_an_official_whose_group_needs_mfa_enrols_again(
    tmp_path: Path, ldap: LdapDirectory, ldap_config: DirectoryConfig, official: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = f"lanh-dao-{uuid.uuid4().hex[:6]}"
    ldap.create_group(group, "Lãnh đạo")
    ldap.add_member(group, uid=official)
    with live_provider(tmp_path, ldap, mfa__group_levels=(f"{group}=urn:antin:acr:mfa",)) as op:  # type: ignore[arg-type]
        rp = RelyingParty.register(op, name="Hồ sơ công việc")
        browser = Browser(op.issuer, **{"Accept-Language": "en"})
        enrol = browser.login(rp.authorize(browser).page, official, PASSWORD).page  # type: ignore[arg-type]
        assert enrol is not None and enrol.url.endswith("/enrol")  # the group's policy, no factor yet
        _app, _codes, params = enrol_app(browser, enrol)
        assert rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])["acr"] == ACR_MFA

        status, out = antin(op, ldap_config, monkeypatch, "mfa", "reset", official, "--yes")
        assert status == 0 and "ended 1 session(s)" in out, out
        # the session is over: the application's next request needs a sign-in, and that sign-in enrols again
        page = rp.authorize(browser).page
        assert page is not None and 'id="login-form"' in page.text
        enrol = browser.login(page, official, PASSWORD).page
        assert enrol is not None and enrol.url.endswith("/enrol"), enrol.url if enrol else None
        _app, codes, params = enrol_app(browser, enrol)
        claims = rp.verify_id_token(rp.exchange(params["code"]).json()["id_token"])
        assert (claims["acr"], claims["amr"]) == (ACR_MFA, ["pwd", "otp", "mfa"]) and len(codes) == 10
