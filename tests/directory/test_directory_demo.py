"""The demonstration directory: fifty officials who can log in, with administrators, signers and văn thư."""

from __future__ import annotations

import pytest

from directory.demo_data import DEMO_OFFICIALS, seed_demo
from directory.models import AuthStatus
from directory.service import LdapDirectory

pytestmark = pytest.mark.slapd


def test_seed_demo_is_complete_and_idempotent(directory: LdapDirectory) -> None:
    accounts = seed_demo(directory)
    assert len(accounts) == len(DEMO_OFFICIALS) == 50
    again = seed_demo(directory)
    assert again == accounts
    uid, password, role = accounts[0]
    outcome = directory.authenticate(uid, password)
    assert outcome.status is AuthStatus.SUCCESS and outcome.person is not None
    assert outcome.person.full_name == "Nguyễn Văn Hùng" and "ký số" in role
    members = {name: {p.uid for p in directory.group_members(name)} for name in ("quan-tri", "ky-so", "van-thu")}
    assert all(len(found) >= 3 for found in members.values())
    assert "tuanbv" in members["quan-tri"]  # through quan-tri-bnh
    province = directory.find_by_login("tuanbv")
    assert province is not None and [u.code for u in province.unit_path] == ["BNH-VP", "BNH", "TW"]
    assert len({u.code for u in directory.list_units("TW")}) >= 18
