"""A real slapd per test session (per xdist worker), in a temp folder, on a free port."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from directory.config import DirectoryConfig
from directory.models import UnitKind
from directory.service import LdapDirectory
from directory.slapd import ManagedSlapd
from tests.components import require_command

SERVICE_PASSWORD = "service-password-for-tests-0123456789"
BASE_DN = "dc=test,dc=antin"
PASSWORD = "Mat-khau-2025!"


def start_slapd(folder: Path) -> ManagedSlapd:
    require_command("slapd")
    require_command("slapadd")
    slapd = ManagedSlapd(folder, base_dn=BASE_DN, port=0, service_password=SERVICE_PASSWORD)
    slapd.start()
    return slapd


def config_for(slapd: ManagedSlapd, **overrides: object) -> DirectoryConfig:
    values: dict[str, object] = {
        "uris": (slapd.ldap_uri,),
        "base_dn": BASE_DN,
        "bind_dn": slapd.service_dn,
        "bind_password": SERVICE_PASSWORD,
        "timeout": 3.0,
        "page_size": 50,
    }
    values.update(overrides)
    return DirectoryConfig(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedSlapd]:
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def directory_config(slapd: ManagedSlapd) -> DirectoryConfig:
    return config_for(slapd)


@pytest.fixture
def directory(directory_config: DirectoryConfig) -> Iterator[LdapDirectory]:
    d = LdapDirectory(directory_config)
    yield d
    d.close()


_counter = itertools.count()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names no other test uses (tests share the session's slapd)."""
    run = uuid.uuid4().hex[:6]

    def make(prefix: str) -> str:
        return f"{prefix}{run}{next(_counter)}"

    return make


@pytest.fixture
def unit(directory: LdapDirectory, unique: Callable[[str], str]) -> str:
    """A fresh provincial committee with one commune under it; returns the province's code."""
    code = unique("P").upper()
    directory.create_unit(code, "Tỉnh ủy Thử nghiệm", UnitKind.PROVINCIAL_COMMITTEE)
    directory.create_unit(f"{code}-X1", "Đảng ủy xã Phật Tích", UnitKind.COMMUNE_COMMITTEE, code)
    return code
