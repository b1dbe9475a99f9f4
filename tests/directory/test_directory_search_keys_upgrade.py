"""Search keys kept up to date by themselves, against a real slapd: the managed slapd writes the keys of a directory
from before them on its first start after the upgrade (then one read per start), ``/readyz`` warns with the command
while they are not known to be current, and officials written by another LDAP tool are fixed by the command."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from antin.app import create_app
from antin.cli import cli
from antin.kernel.instance import Instance
from antin.migrate import upgrade
from antin.settings import load_settings
from directory import search_keys as search_keys_module
from directory.errors import DirectoryUnavailableError
from directory.ldap_client import Modification
from directory.models import NewPerson, UnitKind
from directory.search_keys import FIX_COMMAND, SearchKeyRun, keys_are_current, marker_dn
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from tests.directory.conftest import BASE_DN, SERVICE_PASSWORD, config_for, start_slapd

pytestmark = pytest.mark.slapd

OLD_OFFICIALS = {"cuongnh": "Nguyễn Hữu Cường", "huongdt": "Đặng Thị Hương", "anlv": "Lê Văn An"}


@pytest.fixture
def own_slapd(tmp_path: Path) -> Iterator[ManagedSlapd]:
    """A slapd of this test's own: the tests remove its marker, which the session's slapd keeps."""
    server = start_slapd(tmp_path / "slapd")
    yield server
    server.stop()


def found(directory: LdapDirectory, text: str) -> list[str]:
    return sorted(p.uid for p in directory.search_people(text, unit_code="TU").items)


def as_before_the_key(slapd: ManagedSlapd, directory: LdapDirectory) -> None:
    """The officials of OLD_OFFICIALS, written as a version from before the search key left them: no key, no marker."""
    if not any(u.code == "TU" for u in directory.list_units()):
        directory.create_unit("TU", "Ban Tổ chức Trung ương", UnitKind.CENTRAL_ORGAN)
    conn = slapd.admin_connection()
    try:
        for uid, name in OLD_OFFICIALS.items():
            person = directory.create_person(NewPerson(uid=uid, full_name=name, unit_code="TU"))
            conn.modify(person.dn, [Modification("delete", "antinSearchKey")])
        conn.delete(marker_dn(BASE_DN))
        assert not keys_are_current(conn, BASE_DN)
    finally:
        conn.close()


def test_the_managed_slapd_writes_old_officials_keys_once_on_its_first_start_after_the_upgrade(
    own_slapd: ManagedSlapd, caplog: pytest.LogCaptureFixture
) -> None:
    assert own_slapd.search_key_run is None  # a new directory is marked current at its creation: nothing to run
    directory = LdapDirectory(config_for(own_slapd))
    try:
        as_before_the_key(own_slapd, directory)
        assert found(directory, "huu cuong") == [] and found(directory, "dang thi") == []
        own_slapd.stop()
        with caplog.at_level(logging.INFO, logger="antin.directory.search_keys"):
            own_slapd.start()  # the upgraded version's first start
            run = own_slapd.search_key_run
            assert run is not None and run.join(timeout=60)
        assert run.error is None and run.written == len(OLD_OFFICIALS)
        assert any("up to date, 3 of 3 officials written" in r.getMessage() for r in caplog.records)
        directory.close()
        directory = LdapDirectory(config_for(own_slapd))
        assert found(directory, "huu cuong") == ["cuongnh"]
        assert found(directory, "dang thi huong") == ["huongdt"]
        assert found(directory, "Lê Văn") == ["anlv"]
        own_slapd.stop()
        own_slapd.start()
        assert own_slapd.search_key_run is None  # the marker says so: no official is read on this start
    finally:
        directory.close()


def test_readiness_warns_with_the_command_until_the_keys_are_written(
    own_slapd: ManagedSlapd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "ANTIN_DATA_DIR": str(tmp_path / "data"),
        "ANTIN_LOG_LEVEL": "WARNING",
        "ANTIN_DIRECTORY_MANAGED": "false",
        "ANTIN_DIRECTORY_URIS": own_slapd.ldap_uri,
        "ANTIN_DIRECTORY_BASE_DN": BASE_DN,
        "ANTIN_DIRECTORY_BIND_PASSWORD": SERVICE_PASSWORD,
    }
    instance = Instance(load_settings(env))
    upgrade(instance.database)
    client = create_app(instance=instance).test_client()
    directory = LdapDirectory(config_for(own_slapd))
    try:
        before = client.get("/readyz")
        assert before.status_code == 200 and before.json is not None
        assert before.json["checks"]["search_keys"] == "ok"
        as_before_the_key(own_slapd, directory)  # an outside directory upgraded without the command
        warned = client.get("/readyz")
        assert warned.status_code == 200 and warned.json is not None  # still ready: the search works, it misses
        assert warned.json["status"] == "ready"
        assert warned.json["checks"]["search_keys"].startswith("warning: ")
        assert f"run `{FIX_COMMAND}`" in warned.json["checks"]["search_keys"]
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        fixed = CliRunner().invoke(cli, ["directory", "search-keys", "--json"], catch_exceptions=False)
        assert fixed.exit_code == 0, fixed.output
        assert json.loads(fixed.output)["written"] == len(OLD_OFFICIALS)
        after = client.get("/readyz").json
        assert after is not None and after["checks"]["search_keys"] == "ok"
        assert found(directory, "huu cuong") == ["cuongnh"]
    finally:
        directory.close()
        instance.close()


def test_officials_written_by_another_ldap_tool_are_missed_quietly_until_the_command_fixes_them(
    directory: LdapDirectory, slapd: ManagedSlapd, unit: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed = directory.create_person(NewPerson(uid=f"tam{unit.lower()}", full_name="Trần Văn Tám", unit_code=unit))
    unit_dn = renamed.dn.split(",", 1)[1]
    conn = slapd.admin_connection()
    try:
        # ldapadd of an official with no key, and ldapmodify of a name, as another LDAP tool writes them
        conn.add(
            f"uid=hoa{unit.lower()},{unit_dn}",
            {
                "objectClass": ["inetOrgPerson"],
                "uid": [f"hoa{unit.lower()}"],
                "cn": ["Phạm Thị Hoà"],
                "sn": ["Phạm"],
                "givenName": ["Hoà"],
            },
        )
        conn.modify(renamed.dn, [Modification("replace", "cn", ["Trần Văn Tuấn"])])
    finally:
        conn.close()

    def uids(text: str) -> list[str]:
        return [p.uid for p in directory.search_people(text, unit_code=unit).items]

    # What the console shows meanwhile: no error, the new official not found, the renamed one by the old name only.
    assert uids("pham thi hoa") == []
    assert uids("van tuan") == []
    assert uids("van tam") == [renamed.uid]
    for name, value in {
        "ANTIN_DATA_DIR": str(tmp_path / "data"),
        "ANTIN_DIRECTORY_MANAGED": "false",
        "ANTIN_DIRECTORY_URIS": slapd.ldap_uri,
        "ANTIN_DIRECTORY_BASE_DN": BASE_DN,
        "ANTIN_DIRECTORY_BIND_PASSWORD": SERVICE_PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    check = runner.invoke(cli, ["directory", "search-keys", "--check"], catch_exceptions=False)
    assert check.exit_code == 1 and "warning: " in check.output and f"run `{FIX_COMMAND}`" in check.output
    counted = json.loads(runner.invoke(cli, ["directory", "search-keys", "--check", "--json"]).output)
    assert counted["stale"] >= 2
    assert uids("pham thi hoa") == []  # --check wrote nothing
    fixed = runner.invoke(cli, ["directory", "search-keys"], catch_exceptions=False)
    assert fixed.exit_code == 0 and "officials given their search key" in fixed.output
    assert uids("pham thi hoa") == [f"hoa{unit.lower()}"]
    assert uids("van tuan") == [renamed.uid]
    assert uids("van tam") == []
    clean = runner.invoke(cli, ["directory", "search-keys", "--check"], catch_exceptions=False)
    assert clean.exit_code == 0 and "has its search key" in clean.output


def test_a_run_cut_short_leaves_no_marker_and_the_next_start_resumes_it(own_slapd: ManagedSlapd) -> None:
    directory = LdapDirectory(config_for(own_slapd))
    try:
        as_before_the_key(own_slapd, directory)
    finally:
        directory.close()
    own_slapd.stop()
    cut = SearchKeyRun(own_slapd.admin_connection, BASE_DN)  # as the start's run when slapd stops under it
    cut.start()
    assert cut.join(timeout=30) and isinstance(cut.error, DirectoryUnavailableError)
    own_slapd.start()
    resumed = own_slapd.search_key_run
    assert resumed is not None and resumed.join(timeout=60) and resumed.error is None
    assert resumed.written == len(OLD_OFFICIALS)
    conn = own_slapd.admin_connection()
    try:
        assert keys_are_current(conn, BASE_DN)
    finally:
        conn.close()


def test_a_new_form_of_the_key_is_written_once_on_the_next_start(
    own_slapd: ManagedSlapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = LdapDirectory(config_for(own_slapd))
    try:
        directory.create_unit("TU", "Ban Tổ chức Trung ương", UnitKind.CENTRAL_ORGAN)
        directory.create_person(NewPerson(uid="hungnv", full_name="Nguyễn Văn Hùng", unit_code="TU"))
    finally:
        directory.close()
    monkeypatch.setattr(search_keys_module, "SEARCH_KEYS_VERSION", search_keys_module.SEARCH_KEYS_VERSION + 1)
    own_slapd.stop()
    own_slapd.start()  # the version whose search_keys folds differently
    run = own_slapd.search_key_run
    assert run is not None and run.join(timeout=60) and run.error is None
    assert run.read == 1 and run.written == 0  # the fold is the same here: read, compared, nothing written
    own_slapd.stop()
    own_slapd.start()
    assert own_slapd.search_key_run is None
