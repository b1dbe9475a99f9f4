"""``/api/admin/officials?q=``: the text search an administrator uses, on the demo directory in a real slapd.

Every branch of the search is served by an index (docs/directory.md, "Indexes"): a name with or without its
diacritics, a login by a part of it, an e-mail or an employee number whole; always inside the caller's subtree;
filter characters in the text are searched for, never obeyed.
"""

from __future__ import annotations

import pytest

from directory.demo_data import DEMO_OFFICIALS
from directory.names import ascii_fold
from tests.admin.conftest import AdminPlatform
from tests.admin.test_api import logins_under, walk

pytestmark = pytest.mark.slapd

NAMES = {uid: name for uid, name, _unit, _position, _roles in DEMO_OFFICIALS}
NUMBERS = {uid: f"DM{index:05d}" for index, (uid, *_rest) in enumerate(DEMO_OFFICIALS, start=1)}


def logins(platform: AdminPlatform, caller: str, text: str) -> set[str]:
    return {str(p["login"]) for p in walk(platform, caller, q=text)}


def folded(text: str) -> str:
    return ascii_fold(text).casefold()


def test_a_name_is_found_whole_or_in_part_with_or_without_diacritics(admin_platform: AdminPlatform) -> None:
    wanted = {uid for uid, name in NAMES.items() if "thi thanh lan" in folded(name)}
    assert wanted == {"lanntt"}
    for text in ("Nguyễn Thị Thanh Lan", "nguyen thi thanh lan", "THANH LAN", "Thị Thanh", "thanh  lan"):
        assert logins(admin_platform, "dungpt", text) == wanted, text
    # every demo official whose folded name holds "nguyen thi" is found, and nobody else
    nguyen_thi = {uid for uid, name in NAMES.items() if "nguyen thi" in folded(name)}
    assert len(nguyen_thi) > 3
    assert logins(admin_platform, "dungpt", "Nguyễn Thị") >= nguyen_thi
    assert logins(admin_platform, "dungpt", "nguyen thi") >= nguyen_thi


def test_a_short_text_finds_a_family_name_or_a_given_name(admin_platform: AdminPlatform) -> None:
    assert "hoalt" in logins(admin_platform, "dungpt", "Hoa")  # Lê Thị Hoa: the name's end
    found = walk(admin_platform, "dungpt", q="lê")  # the name's start
    assert {"quanglh", "hoalt", "khanhlv"} <= {str(p["login"]) for p in found}
    for person in found:  # other tests of the session add officials: each is judged by its own name
        uid, name = str(person["login"]), folded(str(person["full_name"]))
        assert name.startswith("le") or name.endswith("le") or uid.startswith("le") or uid.endswith("le"), uid


def test_a_login_by_its_start_an_email_and_an_employee_number_whole(admin_platform: AdminPlatform) -> None:
    assert "huongdt" in logins(admin_platform, "dungpt", "huon")
    assert {"hungnv", "huongdt"} <= logins(admin_platform, "dungpt", "hu")
    for text in ("huongdt@demo.antin.example", "HuongDT@Demo.Antin.Example", NUMBERS["huongdt"], "dm00005"):
        assert logins(admin_platform, "dungpt", text) == {"huongdt"}, text
    # a part of an e-mail that is no part of a login or a name finds nobody (the index serves e-mails whole)
    assert logins(admin_platform, "dungpt", "demo.antin") == set()


def test_a_provincial_administrator_finds_only_inside_their_province(admin_platform: AdminPlatform) -> None:
    bac_ninh = logins_under("BNH")
    nguyen = logins(admin_platform, "tuanbv", "Nguyễn")
    assert nguyen and nguyen <= bac_ninh | {uid for uid in nguyen if uid not in NAMES}
    assert "thanhnc" in nguyen and not nguyen & logins_under("HNI")
    for text in ("huongdt", "huongdt@demo.antin.example", NUMBERS["huongdt"], "Đặng Thị Hương", "phonglt"):
        assert logins(admin_platform, "tuanbv", text) == set(), text
    assert logins(admin_platform, "hieunm", "phonglt") == {"phonglt"}


def test_filter_characters_are_escaped_and_find_nothing_extra(admin_platform: AdminPlatform) -> None:
    for text in ("*", "**", "*)(uid=*", "hu*", "*hu", "\\", "(", ")", "\\2a", "huongdt)(|(uid=*", "*@*"):
        assert logins(admin_platform, "dungpt", text) == set(), text
    assert logins(admin_platform, "tuanbv", "*)(|(antinSearchKey=*") == set()
