"""The login flow against a real slapd (the directory package's managed slapd and its test fixtures):
outcomes from ppolicy, the password change after a reset, claims from LDAP, an unreachable directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directory.config import DirectoryConfig
from directory.ldap_client import LdapConnection
from directory.models import AccountStatus, NewPerson, UnitKind
from directory.service import LdapDirectory
from tests.directory.conftest import PASSWORD, config_for, start_slapd
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty
from tests.idp.strangers import hammer, owners_browser, stranger_attempt, throttle_backend

pytestmark = pytest.mark.slapd


@pytest.fixture(scope="module")
def ldap_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectoryConfig]:
    """A slapd of this module's own, started by the directory package's test helper."""
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield config_for(server)
    server.stop()


@pytest.fixture
def ldap(ldap_config: DirectoryConfig) -> Iterator[LdapDirectory]:
    d = LdapDirectory(ldap_config)
    yield d
    d.close()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def ldap_op(tmp_path: Path, ldap: LdapDirectory) -> Iterator[LiveProvider]:
    with live_provider(tmp_path, ldap) as live:  # type: ignore[arg-type]
        yield live


@pytest.fixture
def people(ldap: LdapDirectory) -> dict[str, str]:
    province = unique("P").upper()
    ldap.create_unit(province, "Tỉnh ủy Thử nghiệm", UnitKind.PROVINCIAL_COMMITTEE)
    ldap.create_unit(f"{province}-VP", "Văn phòng Tỉnh ủy", UnitKind.DEPARTMENT, province)
    uids = {role: unique(role) for role in ("active", "reset", "disabled", "locked")}
    for uid in uids.values():
        ldap.create_person(
            NewPerson(
                uid=uid,
                full_name="Nguyễn Thị Hoa",
                unit_code=f"{province}-VP",
                password=PASSWORD,
                mail=f"{uid}@example.vn",
                position="Chuyên viên",
                employee_number=f"E-{uid}",
            )
        )
    ldap.reset_password(uids["reset"], PASSWORD, must_change=True)
    ldap.disable(uids["disabled"], AccountStatus.SUSPENDED)
    for _ in range(10):  # ppolicy locks it (bypassing our throttle, as an attacker on another service would)
        ldap.authenticate(uids["locked"], "wrong-password")
    uids["province"] = province
    return uids


def test_sign_in_with_ldap_password_and_claims(ldap_op: LiveProvider, people: dict[str, str]) -> None:
    rp = RelyingParty.register(ldap_op)
    browser = Browser(ldap_op.issuer)
    tokens = rp.code_flow(
        browser, username=f"{people['active']}@example.vn", password=PASSWORD, scope="openid profile email party"
    )
    info = rp.userinfo(tokens["access_token"]).json()
    assert info["preferred_username"] == people["active"]
    assert info["party_unit"]["name"] == "Văn phòng Tỉnh ủy"
    assert [u["code"] for u in info["party_unit_path"]][-1] == people["province"]
    assert info["party_position"] == "Chuyên viên"


def test_a_password_sign_in_reads_the_entry_once_and_binds_once(
    ldap_op: LiveProvider, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The throttle's account and the bind come from one read of the official's entry (with its units and groups):
    the login read it twice before (issue 13, the sign-in's CPU). A wrong password is still refused by slapd."""
    searches: list[str] = []
    binds: list[str] = []
    search, bind = LdapConnection.search, LdapConnection.bind_with_policy

    def counting_search(self: LdapConnection, base: str, scope: Any, filterstr: str, *args: Any, **kw: Any) -> Any:
        searches.append(filterstr)
        return search(self, base, scope, filterstr, *args, **kw)

    def counting_bind(self: LdapConnection, dn: str, password: str) -> Any:
        binds.append(dn)
        return bind(self, dn, password)

    rp = RelyingParty.register(ldap_op)
    browser = Browser(ldap_op.issuer)
    page = rp.authorize(browser).page
    assert page is not None
    monkeypatch.setattr(LdapConnection, "search", counting_search)
    monkeypatch.setattr(LdapConnection, "bind_with_policy", counting_bind)
    wrong = browser.login(page, people["active"], "wrong-password")
    assert wrong.page is not None and wrong.page.status_code == 401
    assert len(binds) == 1 and sum("inetOrgPerson" in f for f in searches) == 1
    assert not any("objectClass=antinUnit" in f for f in searches)  # a sign-in shows and decides nothing by unit
    searches.clear()
    binds.clear()
    page = rp.authorize(browser, scope="openid profile party").page
    assert page is not None
    outcome = browser.login(page, f"{people['active']}@example.vn", PASSWORD)
    code = outcome.params["code"]
    assert len(binds) == 1 and sum("inetOrgPerson" in f for f in searches) == 1
    monkeypatch.undo()
    tokens = rp.exchange(code).json()
    info = rp.userinfo(tokens["access_token"]).json()  # the claims still carry the unit, read where they are made
    assert info["preferred_username"] == people["active"]
    assert [u["code"] for u in info["party_unit_path"]][-1] == people["province"]


def test_refresh_stops_when_the_official_is_suspended(
    ldap_op: LiveProvider, ldap: LdapDirectory, people: dict[str, str]
) -> None:
    rp = RelyingParty.register(ldap_op)
    tokens = rp.code_flow(Browser(ldap_op.issuer), username=people["active"], password=PASSWORD)
    refreshed = rp.token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    ldap.disable(people["active"], AccountStatus.SUSPENDED)
    refused = rp.token_request({"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"]})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "no longer active" in refused.json()["error_description"]


@pytest.mark.parametrize(
    ("role", "status", "text"),
    [("disabled", 403, "disabled"), ("locked", 403, "locked")],
)
def test_ppolicy_outcomes_are_explained(
    ldap_op: LiveProvider, ldap: LdapDirectory, people: dict[str, str], role: str, status: int, text: str
) -> None:
    """Explained to the official's own browser; a stranger's browser gets what a login that does not exist gets
    (ppolicy says "locked" whatever the password: telling a stranger would confirm the login is real).

    Changed with issue 8: the explanation used to go to any browser, from the fixture's accounts."""
    rp = RelyingParty.register(ldap_op)
    uid = people["active"]
    owner = owners_browser(ldap_op, rp, uid, PASSWORD)
    if role == "locked":
        for _ in range(10):  # ppolicy locks it (bypassing our throttle, as an attacker on another service would)
            ldap.authenticate(uid, "wrong-password")
    else:
        ldap.disable(uid, AccountStatus.SUSPENDED)
    page = rp.authorize(owner).page
    assert page is not None
    outcome = owner.login(page, uid, PASSWORD)
    assert outcome.page is not None and outcome.page.status_code == status and text in outcome.page.text
    nobody = stranger_attempt(ldap_op, rp, unique("nobody"), PASSWORD)
    assert nobody[:2] == (401, "Wrong username or password.")
    assert stranger_attempt(ldap_op, rp, people[role], PASSWORD) == nobody
    assert stranger_attempt(ldap_op, rp, people[role], "wrong-password")[:2] == nobody[:2]


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_fifty_strangers_cannot_lock_an_official_in_slapd(
    tmp_path: Path, ldap: LdapDirectory, people: dict[str, str], backend: str
) -> None:
    """50 wrong passwords from fresh browsers one after the other, 50 more in parallel: slapd never locks the
    account, and the official's browser signs in at once."""
    uid = people["active"]
    dn = ldap.get_person(uid).dn

    def policy_state() -> tuple[list[str], list[str]]:
        entry = ldap.pool.run(lambda c: c.read(dn, ["pwdAccountLockedTime", "pwdFailureTime"]))
        assert entry is not None
        return list(entry.get("pwdAccountLockedTime")), list(entry.get("pwdFailureTime"))

    with throttle_backend(tmp_path, backend) as overrides, live_provider(tmp_path / "op", ldap, **overrides) as op:  # type: ignore[arg-type]
        rp = RelyingParty.register(op)
        owner = owners_browser(op, rp, uid, PASSWORD)
        statuses = hammer(op, rp, uid, sequential=50, parallel=50)
        assert statuses.count(401) <= 2 and set(statuses) <= {401, 429}
        locked, failures = policy_state()
        assert locked == [] and len(failures) <= 2  # only the strangers' budget reached slapd
        params = rp.sign_in(owner, uid, PASSWORD)
        assert params["code"] and rp.exchange(params["code"]).status_code == 200
        assert policy_state() == ([], [])  # the right bind made slapd forget the failures
        assert ldap.authenticate(uid, PASSWORD).ok


def test_the_idp_reads_the_strictest_lockout_from_slapd(ldap: LdapDirectory) -> None:
    from directory.policy import LockoutPolicy

    assert ldap.lockout_policy() == LockoutPolicy(max_failures=5, failure_count_interval=900, lockout_seconds=900)


def test_change_after_reset_against_ppolicy(ldap_op: LiveProvider, ldap: LdapDirectory, people: dict[str, str]) -> None:
    rp = RelyingParty.register(ldap_op)
    browser = Browser(ldap_op.issuer, **{"Accept-Language": "en"})
    page = rp.authorize(browser).page
    assert page is not None
    change = browser.login(page, people["reset"], PASSWORD)
    assert change.page is not None and "Your password was reset" in change.page.text
    new = "Mat-khau-moi-2026!"
    done = browser.submit(
        change.page, "password-form", {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
    )
    assert done.params["code"]
    assert ldap.authenticate(people["reset"], new).ok


def test_unreachable_directory_says_try_again(tmp_path: Path, people: dict[str, str]) -> None:
    from directory.slapd import ManagedSlapd  # noqa: F401  (the fixture's type)
    from tests.components import free_port

    down = LdapDirectory(
        DirectoryConfig(
            uris=(f"ldap://127.0.0.1:{free_port()}",),
            base_dn="dc=test,dc=antin",
            bind_dn="cn=nobody",
            bind_password="x",
            timeout=1.0,
        )
    )
    with live_provider(tmp_path, down) as op:  # type: ignore[arg-type]
        rp = RelyingParty.register(op)
        browser = Browser(op.issuer, **{"Accept-Language": "en"})
        page = rp.authorize(browser).page
        assert page is not None
        outcome = browser.login(page, people["active"], PASSWORD)
        assert outcome.page is not None and outcome.page.status_code == 503
        assert "Try again shortly" in outcome.page.text and "Traceback" not in outcome.page.text
    down.close()
