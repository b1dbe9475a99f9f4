"""Two slapd providers in multi-provider replication: writes, passwords and lockouts cross; the client fails over.

Figures (failover and replication times) are printed, never asserted: run with ``-s`` to read them.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from directory.errors import DirectoryUnavailableError, PasswordQualityError
from directory.models import AuthStatus, NewPerson, PersonChanges, UnitKind
from directory.service import LdapDirectory
from tests.directory.conftest import PASSWORD
from tests.directory.replication_harness import ProviderPair, start_pair, wait_in_sync

pytestmark = pytest.mark.slapd

NEW_PASSWORD = "Mat-khau-moi-2026!"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[ProviderPair]:
    providers = start_pair(tmp_path)
    yield providers
    providers.stop()


@pytest.fixture
def on_a(pair: ProviderPair) -> Iterator[LdapDirectory]:
    d = LdapDirectory(pair.config(pair.a))
    yield d
    d.close()


@pytest.fixture
def on_b(pair: ProviderPair) -> Iterator[LdapDirectory]:
    d = LdapDirectory(pair.config(pair.b))
    yield d
    d.close()


def add_official(directory: LdapDirectory, unique: Callable[[str], str]) -> str:
    code = unique("P").upper()
    directory.create_unit(code, "Tỉnh ủy Bắc Ninh", UnitKind.PROVINCIAL_COMMITTEE)
    uid = unique("repl")
    directory.create_person(NewPerson(uid=uid, full_name="Nguyễn Văn An", unit_code=code, password=PASSWORD))
    return uid


def test_the_second_provider_receives_the_directory_it_did_not_create(pair: ProviderPair, on_b: LdapDirectory) -> None:
    # server 2 started empty: the base entries, the policies and the service account came from server 1
    assert on_b.lockout_policy().max_failures == 5
    assert on_b.list_units() == []


def test_a_write_on_one_provider_is_read_on_the_other(
    pair: ProviderPair, on_a: LdapDirectory, on_b: LdapDirectory, unique: Callable[[str], str]
) -> None:
    uid = add_official(on_a, unique)
    group = unique("g")
    on_a.create_group(group, "Ban Tổ chức")
    on_a.add_member(group, uid=uid)
    lag = wait_in_sync(pair.a, pair.b)
    print(f"\nreplication A→B of a unit, an official and a group membership: in sync after {lag * 1000:.0f} ms")
    person = on_b.get_person(uid)
    assert person.full_name == "Nguyễn Văn An"
    assert group in person.groups  # memberOf came across too
    assert on_b.authenticate(uid, PASSWORD).ok
    # and the other way round
    on_b.modify_person(uid, PersonChanges(position="Phó Bí thư"))
    wait_in_sync(pair.b, pair.a)
    assert on_a.get_person(uid).position == "Phó Bí thư"


def test_a_password_change_on_one_is_honoured_on_the_other(
    pair: ProviderPair, on_a: LdapDirectory, on_b: LdapDirectory, unique: Callable[[str], str]
) -> None:
    uid = add_official(on_a, unique)
    wait_in_sync(pair.a, pair.b)
    on_a.change_own_password(uid, PASSWORD, NEW_PASSWORD)
    wait_in_sync(pair.a, pair.b)
    assert on_b.authenticate(uid, NEW_PASSWORD).ok
    assert on_b.authenticate(uid, PASSWORD).status is AuthStatus.INVALID_CREDENTIALS
    # the password history came across too: B refuses going back to the old password
    with pytest.raises(PasswordQualityError):
        on_b.change_own_password(uid, NEW_PASSWORD, PASSWORD)


def test_a_lockout_on_one_is_honoured_on_the_other_and_so_is_the_unlock(
    pair: ProviderPair, on_a: LdapDirectory, on_b: LdapDirectory, unique: Callable[[str], str]
) -> None:
    uid = add_official(on_a, unique)
    wait_in_sync(pair.a, pair.b)
    for _ in range(5):
        assert on_a.authenticate(uid, "Sai-mat-khau-1").status is AuthStatus.INVALID_CREDENTIALS
    lag = wait_in_sync(pair.a, pair.b)
    print(f"\nppolicy lockout A→B: in sync after {lag * 1000:.0f} ms")
    assert on_b.get_person(uid).locked
    assert on_b.authenticate(uid, PASSWORD).status is AuthStatus.LOCKED
    on_b.unlock(uid)
    wait_in_sync(pair.b, pair.a)
    assert on_a.authenticate(uid, PASSWORD).ok


def test_failures_spread_over_both_providers_add_up_to_a_lockout(
    pair: ProviderPair, on_a: LdapDirectory, on_b: LdapDirectory, unique: Callable[[str], str]
) -> None:
    # an attacker alternating between the servers gets no more guesses than on one
    uid = add_official(on_a, unique)
    wait_in_sync(pair.a, pair.b)
    for attempt in range(5):
        server = on_a if attempt % 2 == 0 else on_b
        assert server.authenticate(uid, "Sai-mat-khau-1").status is AuthStatus.INVALID_CREDENTIALS
        wait_in_sync(pair.a, pair.b)
    assert on_a.authenticate(uid, PASSWORD).status is AuthStatus.LOCKED
    assert on_b.authenticate(uid, PASSWORD).status is AuthStatus.LOCKED


def first_success_after(call: Callable[[], object]) -> tuple[float, int]:
    """Seconds until ``call`` succeeds, and how many calls failed before (a user would have seen each)."""
    started = time.monotonic()
    failures = 0
    while True:
        try:
            call()
        except DirectoryUnavailableError:
            failures += 1
            if time.monotonic() - started > 30:
                raise
            continue
        return time.monotonic() - started, failures


def test_the_client_fails_over_when_a_provider_dies_and_comes_back_when_it_returns(
    pair: ProviderPair, unique: Callable[[str], str]
) -> None:
    client = LdapDirectory(pair.config(pair.a, pair.b, retry_down_after=1.0))
    try:
        uid = add_official(client, unique)
        wait_in_sync(pair.a, pair.b)
        assert client.authenticate(uid, PASSWORD).ok  # both kinds of pooled connections now go to A

        pair.a.kill()
        lookup, lookup_failures = first_success_after(lambda: client.get_person(uid))
        login, login_failures = first_success_after(lambda: client.authenticate(uid, PASSWORD))
        print(f"\nA killed: first lookup answered by B after {lookup * 1000:.1f} ms, first login {login * 1000:.1f} ms")
        assert (lookup_failures, login_failures) == (0, 0)  # nobody saw the failover
        assert client.authenticate(uid, PASSWORD).ok
        client.change_own_password(uid, PASSWORD, NEW_PASSWORD)  # written on B while A is down
        b_pid = pair.b.pid()
        assert b_pid is not None

        restarted = time.monotonic()
        pair.a.start()
        catch_up = wait_in_sync(pair.a, pair.b)
        print(
            f"A restarted: caught up with B {(time.monotonic() - restarted) * 1000:.0f} ms after its start "
            f"({catch_up * 1000:.0f} ms after it answered)"
        )
        only_a = LdapDirectory(pair.config(pair.a))
        try:
            assert only_a.authenticate(uid, NEW_PASSWORD).ok  # the change made while it was down
        finally:
            only_a.close()

        time.sleep(1.1)  # retry_down_after: the client's connections to B are now old enough to be replaced
        os.kill(b_pid, signal.SIGSTOP)  # B hangs: a client still on B would wait for its timeout, then fail
        try:
            back, back_failures = first_success_after(lambda: client.authenticate(uid, NEW_PASSWORD))
            print(f"B hung: first login answered after {back * 1000:.1f} ms")
            assert back_failures == 0  # the client had come back to A
            assert client.get_person(uid).uid == uid
        finally:
            os.kill(b_pid, signal.SIGCONT)
    finally:
        client.close()


def test_a_hung_provider_costs_one_timeout_not_one_per_pooled_connection(
    pair: ProviderPair, unique: Callable[[str], str]
) -> None:
    client = LdapDirectory(pair.config(pair.a, pair.b, timeout=1.0))
    a_pid = pair.a.pid()
    assert a_pid is not None
    try:
        uid = add_official(client, unique)
        wait_in_sync(pair.a, pair.b)
        with client.pool.pinned(), client.pool.pinned():
            pass  # two service connections to A wait in the pool
        os.kill(a_pid, signal.SIGSTOP)  # A accepts connections and answers nothing
        timings: list[tuple[str, float]] = []
        for _ in range(3):  # each call may go to either of A's pooled connections, or (under load) already to B
            started = time.monotonic()
            try:
                assert client.get_person(uid).uid == uid
                timings.append(("answered", time.monotonic() - started))
            except DirectoryUnavailableError:  # a call sent to A waits for the timeout: this one a user sees
                timings.append(("failed", time.monotonic() - started))
        failed = [t for outcome, t in timings if outcome == "failed"]
        assert len(failed) <= 1, timings  # A's other pooled connection is not tried once one call to it failed
        assert timings[-1][0] == "answered", timings
        print("\nA hung: " + ", ".join(f"{outcome} in {t * 1000:.1f} ms" for outcome, t in timings))
    finally:
        os.kill(a_pid, signal.SIGCONT)
        client.close()
