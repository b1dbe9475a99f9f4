"""Fixtures of the identity provider's tests: a live provider on a free port with an InMemoryDirectory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from directory.memory import InMemoryDirectory
from tests.idp.oidc_harness import LiveProvider, live_provider
from tests.idp.rp import Browser, RelyingParty

PASSWORD = "correct horse"


def make_directory() -> InMemoryDirectory:
    d = InMemoryDirectory()
    from directory.models import UnitKind, UnitRef

    unit = UnitRef("ou=vp,ou=units,dc=antin,dc=vn", "VP", "Văn phòng Tỉnh ủy", UnitKind.DEPARTMENT)
    root = UnitRef("ou=tu,ou=units,dc=antin,dc=vn", "TU", "Tỉnh ủy Bắc Ninh", UnitKind.PROVINCIAL_COMMITTEE)
    d.add(
        "an.nguyen",
        PASSWORD,
        full_name="Nguyễn Văn An",
        mail="an.nguyen@antin.vn",
        phone="+84 912 345 678",
        unit=unit,
        unit_path=(unit, root),
        position="Chánh Văn phòng",
        employee_number="NV-0001",
        groups=("can-bo", "van-thu"),
    )
    d.add("binh.tran", PASSWORD, full_name="Trần Thị Bình", mail="binh.tran@antin.vn")
    d.add("khoa.le", PASSWORD, full_name="Lê Minh Khoa", locked=True)
    from directory.models import AccountStatus

    d.add("cuong.pham", PASSWORD, full_name="Phạm Văn Cường", status=AccountStatus.SUSPENDED)
    d.add("dung.vo", PASSWORD, full_name="Võ Thị Dung", must_change_password=True)
    return d


@pytest.fixture
def directory() -> InMemoryDirectory:
    return make_directory()


@pytest.fixture
def op(tmp_path: Path, directory: InMemoryDirectory) -> Iterator[LiveProvider]:
    with live_provider(tmp_path, directory) as live:
        yield live


@pytest.fixture
def rp(op: LiveProvider) -> RelyingParty:
    return RelyingParty.register(op, name="Hồ sơ công việc")


@pytest.fixture
def browser(op: LiveProvider) -> Browser:
    return Browser(op.issuer)
