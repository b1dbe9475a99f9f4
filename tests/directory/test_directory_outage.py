"""A directory that goes away: a clear DirectoryUnavailableError quickly, and recovery when it returns."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directory.errors import DirectoryUnavailableError
from directory.models import NewPerson, UnitKind
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd, SlapdError, SlapdPortTakenError, free_port
from directory.transfer import apply_plan, plan_import, read_rows
from tests.components import require_command
from tests.directory.conftest import BASE_DN, PASSWORD, SERVICE_PASSWORD, config_for, start_slapd

pytestmark = pytest.mark.slapd


@pytest.fixture
def own_slapd(tmp_path: Path) -> Iterator[ManagedSlapd]:
    server = start_slapd(tmp_path / "slapd")
    yield server
    server.stop()


def test_killed_server_gives_a_quick_clear_error_then_recovers(own_slapd: ManagedSlapd) -> None:
    directory = LdapDirectory(config_for(own_slapd, timeout=5.0))
    directory.create_unit("BNH", "Tỉnh ủy Bắc Ninh", UnitKind.PROVINCIAL_COMMITTEE)
    directory.create_person(NewPerson(uid="annv", full_name="Nguyễn Văn An", unit_code="BNH", password=PASSWORD))
    assert directory.authenticate("annv", PASSWORD).ok  # the pool now holds live connections

    errors: list[BaseException] = []

    def hammer() -> None:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                directory.find_by_login("annv")
            except DirectoryUnavailableError as err:
                errors.append(err)
                return

    worker = threading.Thread(target=hammer)
    worker.start()
    time.sleep(0.1)
    own_slapd.kill()  # SIGKILL mid-operation, as a crash would
    worker.join()
    assert errors and isinstance(errors[0], DirectoryUnavailableError)

    started = time.monotonic()
    with pytest.raises(DirectoryUnavailableError) as down:
        directory.authenticate("annv", PASSWORD)
    assert time.monotonic() - started < 1.0  # refused connections fail fast, far under the 5 s timeout
    assert own_slapd.ldap_uri in " ".join(down.value.uris)
    with pytest.raises(DirectoryUnavailableError):
        directory.check()

    own_slapd.start()
    assert directory.authenticate("annv", PASSWORD).ok  # no restart of the service needed
    directory.check()
    directory.close()


def test_a_hung_server_costs_one_timeout_not_a_hang(own_slapd: ManagedSlapd) -> None:
    import os
    import signal

    directory = LdapDirectory(config_for(own_slapd, timeout=1.0))
    directory.create_unit("HNI", "Thành ủy Hà Nội", UnitKind.MUNICIPAL_COMMITTEE)
    directory.create_person(NewPerson(uid="hunglv", full_name="Lê Văn Hưng", unit_code="HNI", password=PASSWORD))
    assert directory.authenticate("hunglv", PASSWORD).ok
    pid = own_slapd.pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # alive, connections accepted by the kernel, but no answer
    try:
        _wait_until_every_thread_stopped(pid)  # kill() returns before the threads on other cores have stopped
        for call in (lambda: directory.find_by_login("hunglv"), lambda: directory.authenticate("hunglv", PASSWORD)):
            started = time.monotonic()
            with pytest.raises(DirectoryUnavailableError):
                call()
            assert time.monotonic() - started < 3.5  # the 1 s timeout, not forever
    finally:
        os.kill(pid, signal.SIGCONT)
    assert directory.authenticate("hunglv", PASSWORD).ok
    directory.close()


def _wait_until_every_thread_stopped(pid: int) -> None:
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        states = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                states.append(task.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0])
            except (OSError, IndexError):
                continue
        if states and all(state in ("T", "t") for state in states):
            return
        time.sleep(0.01)
    raise AssertionError(f"slapd {pid} did not stop")


def test_failover_to_the_next_uri(own_slapd: ManagedSlapd) -> None:
    dead = f"ldap://127.0.0.1:{free_port()}"
    directory = LdapDirectory(config_for(own_slapd, uris=(dead, own_slapd.ldap_uri)))
    directory.check()
    assert directory.find_by_login("nobody-here") is None
    directory.close()


def test_no_server_at_all_is_unavailable_not_a_hang() -> None:
    from directory.config import DirectoryConfig

    config = DirectoryConfig(
        uris=(f"ldap://127.0.0.1:{free_port()}",), base_dn="dc=x", bind_dn="cn=x,dc=x", bind_password="x"
    )
    directory = LdapDirectory(config)
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailableError):
        directory.authenticate("someone", "Mat-khau-2025!")
    assert time.monotonic() - started < 1.0


def test_managed_slapd_lifecycle(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    first = start_slapd(folder)
    try:
        port = first.port
        assert (folder / "port").read_text().strip() == str(port)
        again = ManagedSlapd(folder, base_dn=first.base_dn, service_password=first.service_password)
        assert again.is_running() and again.port == port  # another process finds the same server
        assert again.ensure_running() is False
        directory = LdapDirectory(config_for(first))
        directory.create_unit("HNI", "Thành ủy Hà Nội", UnitKind.MUNICIPAL_COMMITTEE)
        directory.close()
    finally:
        first.stop()
    assert not first.is_running()
    assert first.ensure_running() is True  # data kept across restarts
    try:
        directory = LdapDirectory(config_for(first))
        assert directory.get_unit("HNI").name == "Thành ủy Hà Nội"
        directory.close()
    finally:
        first.stop()


def test_a_port_another_program_took_is_named_or_replaced(tmp_path: Path) -> None:
    """A port the operator chose is refused with its number; a port picked for us is picked again, silently."""
    require_command("slapd")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        chosen = ManagedSlapd(tmp_path / "chosen", base_dn=BASE_DN, port=taken, service_password=SERVICE_PASSWORD)
        with pytest.raises(SlapdPortTakenError, match=f"port {taken} is taken"):
            chosen.start()
        assert not chosen.is_running()
        picked = ManagedSlapd(tmp_path / "picked", base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
        (picked.folder).mkdir(parents=True)
        (picked.folder / "port").write_text(f"{taken}\n")  # as if another program took it since our last start
        picked.start()
        try:
            assert picked.port != taken
            assert (picked.folder / "port").read_text().strip() == str(picked.port)
            LdapDirectory(config_for(picked)).check()
        finally:
            picked.stop()


def test_a_slapd_that_cannot_start_says_why(tmp_path: Path) -> None:
    require_command("slapd")
    server = ManagedSlapd(tmp_path / "s", base_dn=BASE_DN, service_password=SERVICE_PASSWORD)
    server.write_config()
    server.layout.conf.write_text(server.layout.conf.read_text() + "\nnosuchdirective yes\n")
    server.write_config = lambda: None  # type: ignore[method-assign]  # keep the broken configuration
    with pytest.raises(SlapdError) as refused:
        server.start()
    assert "exited with status" in str(refused.value) and "nosuchdirective" in str(refused.value)


def test_long_folder_gets_a_short_socket(tmp_path: Path) -> None:
    folder = tmp_path / ("x" * 80) / "slapd"
    server = start_slapd(folder)
    try:
        assert len(str(server.layout.socket)) < 100
        directory = LdapDirectory(config_for(server, uris=(server.ldapi_uri,)))
        directory.check()
        directory.close()
    finally:
        server.stop()


def test_a_database_written_before_writemap_keeps_its_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Instances created before the managed slapd wrote through LMDB's memory map open and grow as before."""
    import directory.slapd as slapd_module

    rendered = slapd_module.render_slapd_conf

    def without_writemap(*args: Any, **kwargs: Any) -> str:
        text = rendered(*args, **kwargs)
        assert "envflags writemap" in text
        return text.replace("envflags writemap", "")

    monkeypatch.setattr(slapd_module, "render_slapd_conf", without_writemap)
    server = start_slapd(tmp_path / "s")
    try:
        directory = LdapDirectory(config_for(server))
        directory.create_unit("HNI", "Thành ủy Hà Nội", UnitKind.MUNICIPAL_COMMITTEE)
        directory.create_person(NewPerson(uid="cu.an", full_name="Nguyễn Văn An", unit_code="HNI", password=PASSWORD))
        directory.close()
    finally:
        server.stop()
    monkeypatch.setattr(slapd_module, "render_slapd_conf", rendered)
    assert server.ensure_running() is True
    try:
        assert "envflags writemap" in server.layout.conf.read_text()
        directory = LdapDirectory(config_for(server))
        outcomes = directory.create_people(
            [NewPerson(uid=f"moi.{i}", full_name=f"Trần Thị Mới {i}", unit_code="HNI") for i in range(50)]
        )
        assert outcomes == [None] * 50
        assert directory.get_person("cu.an").unit is not None
        assert directory.authenticate("cu.an", PASSWORD).ok
        assert sorted(p.uid for p in directory.iter_people(unit_code="HNI")) == sorted(
            ["cu.an"] + [f"moi.{i}" for i in range(50)]
        )
        directory.close()
    finally:
        server.stop()


def test_sync_commits_switches_a_database_to_durable_writes_and_back(tmp_path: Path) -> None:
    """ANTIN_DIRECTORY_SYNC_COMMITS: neither dbnosync nor writemap, on a database the fast configuration wrote;
    switching back keeps every entry too."""
    server = start_slapd(tmp_path / "s")
    try:
        assert "dbnosync" in server.layout.conf.read_text()
        directory = LdapDirectory(config_for(server))
        directory.create_unit("HNI", "Thành ủy Hà Nội", UnitKind.MUNICIPAL_COMMITTEE)
        directory.create_person(NewPerson(uid="cu.an", full_name="Nguyễn Văn An", unit_code="HNI", password=PASSWORD))
        directory.close()
    finally:
        server.stop()
    for sync in (True, False):
        server.sync_commits = sync
        assert server.ensure_running() is True
        try:
            conf = server.layout.conf.read_text()
            assert ("dbnosync" in conf, "envflags writemap" in conf) == (not sync, not sync)
            directory = LdapDirectory(config_for(server))
            directory.create_person(NewPerson(uid=f"moi.{sync}".lower(), full_name="Trần Thị Mới", unit_code="HNI"))
            assert directory.authenticate("cu.an", PASSWORD).ok
            assert {p.uid for p in directory.iter_people(unit_code="HNI")} >= {"cu.an", f"moi.{sync}".lower()}
            directory.close()
        finally:
            server.stop()


def test_the_setting_reaches_the_managed_slapd(tmp_path: Path) -> None:
    from antin.kernel.instance import Instance
    from antin.settings import load_settings
    from directory.instance import managed_slapd

    for value, expected in (("true", True), ("false", False)):
        env = {"ANTIN_DATA_DIR": str(tmp_path / value), "ANTIN_DIRECTORY_SYNC_COMMITS": value}
        instance = Instance(load_settings(env))
        slapd = managed_slapd(instance)
        assert slapd is not None and slapd.sync_commits is expected
        instance.close()


@pytest.mark.parametrize("unit", ["BNH", ""])
def test_an_import_after_a_restart_of_the_server_applies_every_row(own_slapd: ManagedSlapd, unit: str) -> None:
    """The pool's connections died with the restart between the plan and the run: the creates go out on a live
    one (with or without a unit to read first), as every other call of the service would."""
    directory = LdapDirectory(config_for(own_slapd))
    directory.create_unit("BNH", "Tỉnh ủy Bắc Ninh", UnitKind.PROVINCIAL_COMMITTEE)
    uids = [f"sau.{unit.lower() or 'none'}.{i}" for i in range(40)]
    text = "uid,name,unit\n" + "".join(f"{u},Trần Văn Sau,{unit}\n" for u in uids)
    rows, rejected = read_rows(text, "csv")
    plan = plan_import(directory, rows, rejected)
    own_slapd.stop()
    own_slapd.start()

    result = apply_plan(plan)

    assert result.failed is None, result.error
    assert [op.key for op in result.applied] == uids
    assert all(directory.find_by_uid(u) is not None for u in uids)
    directory.close()


def test_the_account_check_of_a_refresh_through_a_restart_a_hang_and_a_crash(own_slapd: ManagedSlapd) -> None:
    """``is_active`` (every token refresh's live read, python-ldap's C object called directly) keeps the pool's
    promises: a restarted server costs no error, a hung one one timeout, a dead one a quick clear error."""
    import os
    import signal

    directory = LdapDirectory(config_for(own_slapd, timeout=1.0))
    directory.create_unit("QNH", "Tỉnh ủy Quảng Ninh", UnitKind.PROVINCIAL_COMMITTEE)
    directory.create_person(NewPerson(uid="quynhtt", full_name="Trần Thị Quỳnh", unit_code="QNH", password=PASSWORD))
    sub = directory.get_person("quynhtt").entry_uuid
    assert directory.is_active(sub) is True
    assert directory.is_active(sub.upper()) is True  # any spelling of the UUID, as before
    assert directory.is_active("00000000-0000-4000-8000-000000000000") is None

    own_slapd.stop()
    own_slapd.start()
    assert directory.is_active(sub) is True  # the pooled connection the restart killed is replaced, no error

    pid = own_slapd.pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        _wait_until_every_thread_stopped(pid)
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailableError):
            directory.is_active(sub)
        assert time.monotonic() - started < 3.5  # the 1 s timeout, not forever
    finally:
        os.kill(pid, signal.SIGCONT)
    assert directory.is_active(sub) is True

    own_slapd.kill()
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailableError) as down:
        directory.is_active(sub)
    assert time.monotonic() - started < 1.0
    assert own_slapd.ldap_uri in " ".join(down.value.uris)
    own_slapd.start()
    assert directory.is_active(sub) is True
    directory.close()
