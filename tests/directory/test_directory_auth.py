"""Authentication by bind against a real slapd: outcomes, lockout, expiry, reset, quality and history."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from directory.config import DirectoryConfig
from directory.errors import AccountLockedError, InvalidCredentialsError, InvalidInputError, PasswordQualityError
from directory.ldap_client.values import Modification
from directory.models import AccountStatus, AuthStatus, NewPerson
from directory.policy import PasswordPolicy
from directory.service import LdapDirectory
from tests.directory.conftest import PASSWORD

pytestmark = pytest.mark.slapd


def add(directory: LdapDirectory, uid: str, unit: str, **extra: object) -> None:
    fields: dict[str, object] = {"uid": uid, "full_name": "Trần Thị Bích", "unit_code": unit, "password": PASSWORD}
    fields.update(extra)
    directory.create_person(NewPerson(**fields))  # type: ignore[arg-type]


def test_right_password_succeeds_with_the_person(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("bich")
    add(directory, uid, unit, mail=f"{uid}@example.vn")
    outcome = directory.authenticate(uid, PASSWORD)
    assert outcome.status is AuthStatus.SUCCESS and outcome.ok
    assert outcome.person is not None and outcome.person.uid == uid
    # the e-mail works as a login too, in any case
    assert directory.authenticate(f"{uid.upper()}@EXAMPLE.VN", PASSWORD).ok


def test_a_bind_with_nothing_to_report_is_read_without_pyasn1(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """slapd answers the policy control on every bind; its empty value (nothing to report) is read without pyasn1
    (23 µs a bind). What it reports otherwise is read as before (the grace logins, the expiry and the locks of the
    tests below)."""
    from ldap.controls import ppolicy as python_ldap_ppolicy

    from directory.ldap_client import ppolicy

    uid = unique("bich")
    add(directory, uid, unit)
    values: list[bytes] = []
    quick = ppolicy._PolicyControl.decodeControlValue

    def seen(control: ppolicy._PolicyControl, value: bytes) -> None:
        values.append(value)
        quick(control, value)

    def no_pyasn1(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("pyasn1 decoded the control")

    monkeypatch.setattr(ppolicy._PolicyControl, "decodeControlValue", seen)
    monkeypatch.setattr(python_ldap_ppolicy.decoder, "decode", no_pyasn1)
    outcome = directory.authenticate(uid, PASSWORD)
    assert outcome.status is AuthStatus.SUCCESS and outcome.expires_in_seconds is None
    assert values == [ppolicy.NOTHING_TO_REPORT]


def test_wrong_password_and_unknown_login_look_the_same(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("bich")
    add(directory, uid, unit)
    wrong = directory.authenticate(uid, PASSWORD + "x")
    unknown = directory.authenticate(unique("nobody"), PASSWORD)
    assert wrong.status is AuthStatus.INVALID_CREDENTIALS and wrong.person is None
    assert unknown == wrong


def test_empty_password_is_never_an_anonymous_success(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("bich")
    add(directory, uid, unit)
    assert directory.authenticate(uid, "").status is AuthStatus.INVALID_CREDENTIALS


def test_lockout_after_five_failures_then_unlock(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("lock")
    add(directory, uid, unit)
    for _ in range(5):
        assert directory.authenticate(uid, "Sai-mat-khau-1").status is AuthStatus.INVALID_CREDENTIALS
    assert directory.authenticate(uid, PASSWORD).status is AuthStatus.LOCKED
    assert directory.get_person(uid).locked
    assert directory.is_active(directory.get_person(uid).entry_uuid) is False  # what a token refresh asks
    with pytest.raises(AccountLockedError):
        directory.change_own_password(uid, PASSWORD, "Mat-khau-moi-2025!")
    directory.unlock(uid)
    assert not directory.get_person(uid).locked
    assert directory.is_active(directory.get_person(uid).entry_uuid) is True
    assert directory.authenticate(uid, PASSWORD).ok


def test_a_lock_slapd_takes_for_not_yet_in_effect_still_refuses(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    """slapd stamps a lock with the precise clock and checks it with the coarse one: in the milliseconds after a
    lock falls in a new second it sees the stamp in the future and lets the right password through (CI saw it
    once in 2,014 tests). A stamp in the future is that moment, held still."""
    uid = unique("lock")
    add(directory, uid, unit)
    person = directory.get_person(uid)
    soon = (datetime.now(UTC) + timedelta(seconds=60)).strftime("%Y%m%d%H%M%SZ")
    directory.pool.run(lambda c: c.modify(person.dn, [Modification("replace", "pwdAccountLockedTime", [soon])]))
    assert directory.pool.run(lambda c: c.bind_with_policy(person.dn, PASSWORD), kind="bind").ok  # slapd: in
    assert directory.authenticate(uid, PASSWORD).status is AuthStatus.LOCKED  # the platform: locked
    with pytest.raises(AccountLockedError):
        directory.change_own_password(uid, PASSWORD, "Mat-khau-moi-2025!")
    directory.unlock(uid)
    assert directory.authenticate(uid, PASSWORD).ok


def test_disabled_accounts_are_refused_by_the_server(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("off")
    add(directory, uid, unit)
    person = directory.disable(uid, AccountStatus.RETIRED)
    assert person.status is AccountStatus.RETIRED
    assert directory.is_active(person.entry_uuid) is False
    assert directory.is_active("00000000-0000-4000-8000-000000000000") is None
    assert directory.is_active("*)(uid=*") is None
    assert directory.authenticate(uid, PASSWORD).status is AuthStatus.DISABLED
    with pytest.raises(InvalidInputError):
        directory.unlock(uid)  # unlocking must not bring a retired official back
    assert directory.enable(uid).status is AccountStatus.ACTIVE
    assert directory.authenticate(uid, PASSWORD).ok


def test_expiry_with_grace_logins_then_expired(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    policy = unique("short")
    directory.create_policy(PasswordPolicy(name=policy, max_age_seconds=1, expire_warning_seconds=0, grace_logins=2))
    uid = unique("exp")
    add(directory, uid, unit)
    directory.set_policy(uid, policy)
    directory.reset_password(uid, PASSWORD, must_change=False)  # restart the clock under the new policy
    time.sleep(2.2)
    first = directory.authenticate(uid, PASSWORD)
    assert first.status is AuthStatus.EXPIRED and first.grace_logins_left == 1 and first.person is not None
    second = directory.authenticate(uid, PASSWORD)
    assert second.status is AuthStatus.EXPIRED and second.grace_logins_left == 0
    third = directory.authenticate(uid, PASSWORD)
    assert third.status is AuthStatus.EXPIRED and third.person is None


def test_grace_login_allows_changing_the_expired_password(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    policy = unique("short")
    directory.create_policy(PasswordPolicy(name=policy, max_age_seconds=1, expire_warning_seconds=0, grace_logins=3))
    uid = unique("exp")
    add(directory, uid, unit)
    directory.set_policy(uid, policy)
    directory.reset_password(uid, PASSWORD, must_change=False)
    time.sleep(2.2)
    directory.change_own_password(uid, PASSWORD, "Mat-khau-moi-2025!")
    directory.set_policy(uid, None)
    assert directory.authenticate(uid, "Mat-khau-moi-2025!").ok


def test_admin_reset_means_must_change_at_next_login(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("reset")
    add(directory, uid, unit)
    generated = directory.reset_password(uid)  # server-generated
    assert generated
    outcome = directory.authenticate(uid, generated)
    assert outcome.status is AuthStatus.MUST_CHANGE and outcome.person is not None
    assert directory.get_person(uid).must_change_password
    assert directory.authenticate(uid, PASSWORD).status is AuthStatus.INVALID_CREDENTIALS  # the old one is gone
    directory.change_own_password(uid, generated, "Mat-khau-rieng-2025!")
    assert directory.authenticate(uid, "Mat-khau-rieng-2025!").status is AuthStatus.SUCCESS
    assert not directory.get_person(uid).must_change_password


def test_password_quality_and_history(directory: LdapDirectory, unit: str, unique: Callable[[str], str]) -> None:
    uid = unique("qual")
    add(directory, uid, unit)
    with pytest.raises(PasswordQualityError) as short:
        directory.change_own_password(uid, PASSWORD, "Ab1!")
    assert "short" in short.value.reason
    with pytest.raises(PasswordQualityError) as simple:
        directory.change_own_password(uid, PASSWORD, "aaaaaaaaaaaaaaaa")
    assert "at least 3" in simple.value.reason
    with pytest.raises(PasswordQualityError):
        directory.change_own_password(uid, PASSWORD, f"X-{uid}-2025")  # the login name inside
    directory.change_own_password(uid, PASSWORD, "Mat-khau-hai-2025!")
    with pytest.raises(PasswordQualityError) as reused:
        directory.change_own_password(uid, "Mat-khau-hai-2025!", PASSWORD)
    assert "used recently" in reused.value.reason
    with pytest.raises(InvalidCredentialsError):
        directory.change_own_password(uid, "not-the-old-one", "Mat-khau-ba-2025!")
    assert directory.authenticate(uid, "Mat-khau-hai-2025!").ok


def test_too_short_password_refused_at_creation(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("short")
    with pytest.raises(PasswordQualityError):
        add(directory, uid, unit, password="Ab1!x")
    assert directory.find_by_uid(uid) is None


def test_lockout_policy_is_the_strictest_of_all_policies(
    directory: LdapDirectory, directory_config: DirectoryConfig, unique: Callable[[str], str]
) -> None:
    """What the IdP keeps strangers below: fewest failures and longest memory of any pwdPolicy entry."""
    before = directory.lockout_policy()
    assert before.max_failures >= 1 and before.failure_count_interval > 0
    directory.create_policy(
        PasswordPolicy(name=unique("admins"), max_failures=3, failure_count_interval=before.failure_count_interval + 60)
    )
    directory.create_policy(PasswordPolicy(name=unique("nolock"), lockout=False))
    fresh = LdapDirectory(directory_config)  # the policies are cached for five minutes per instance
    try:
        after = fresh.lockout_policy()
    finally:
        fresh.close()
    assert after.max_failures == min(3, before.max_failures)
    assert after.failure_count_interval == before.failure_count_interval + 60
