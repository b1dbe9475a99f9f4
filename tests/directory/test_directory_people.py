"""People, units and groups against a real slapd: Vietnamese names, moves, nested groups, paging."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pytest

from directory.config import DirectoryConfig
from directory.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from directory.ldap_client import LdapConnection
from directory.models import NewPerson, PersonChanges, UnitKind
from directory.service import LdapDirectory
from directory.service import base as base_module
from tests.directory.conftest import PASSWORD

pytestmark = pytest.mark.slapd


def test_vietnamese_names_round_trip(directory: LdapDirectory, unit: str, unique: Callable[[str], str]) -> None:
    uid = unique("huong")
    decomposed = unicodedata.normalize("NFD", "Đặng Thị Hương")  # as some keyboards send it
    person = directory.create_person(
        NewPerson(uid=uid, full_name=decomposed, unit_code=f"{unit}-X1", position="Phó Chánh Văn phòng")
    )
    assert person.full_name == "Đặng Thị Hương"
    assert (person.surname, person.given_name) == ("Đặng", "Hương")
    assert person.unit is not None and person.unit.name == "Đảng ủy xã Phật Tích"
    assert [u.code for u in person.unit_path] == [f"{unit}-X1", unit]
    found = directory.search_people("Thị Hương", unit_code=unit)
    assert [p.uid for p in found.items] == [uid]
    assert directory.find_by_uuid(person.entry_uuid) == person
    assert directory.find_by_uuid(person.entry_uuid.upper()) == person


def test_lookup_by_every_key(directory: LdapDirectory, unit: str, unique: Callable[[str], str]) -> None:
    uid = unique("an")
    number = unique("E")
    person = directory.create_person(
        NewPerson(uid=uid, full_name="Nguyễn Văn An", unit_code=unit, mail=f"{uid}@x.vn", employee_number=number)
    )
    assert directory.find_by_login(uid) == person
    assert directory.find_by_login(f"{uid}@x.vn") == person
    assert directory.find_by_employee_number(number) == person
    assert directory.find_by_uuid(person.entry_uuid) == person


def test_duplicates_are_refused_with_the_field(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("dup")
    mail = f"{uid}@x.vn"
    directory.create_person(NewPerson(uid=uid, full_name="Phạm Văn Đồng", unit_code=unit, mail=mail))
    with pytest.raises(AlreadyExistsError) as same_uid:
        directory.create_person(NewPerson(uid=uid, full_name="Phạm Văn Khác", unit_code=f"{unit}-X1"))
    assert same_uid.value.what == "uid"
    with pytest.raises(AlreadyExistsError) as same_mail:
        directory.create_person(NewPerson(uid=unique("other"), full_name="Phạm Văn Khác", unit_code=unit, mail=mail))
    assert same_mail.value.what == "mail"


def test_moving_an_official_keeps_identity_and_groups(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("move")
    group = unique("g")
    before = directory.create_person(NewPerson(uid=uid, full_name="Hoàng Văn Thụ", unit_code=unit, password=PASSWORD))
    directory.create_group(group, "Nhóm thử")
    directory.add_member(group, uid=uid)
    after = directory.move_person(uid, f"{unit}-X1")
    assert after.dn != before.dn and after.entry_uuid == before.entry_uuid
    assert after.unit is not None and after.unit.code == f"{unit}-X1"
    assert directory.get_group(group).members == (after.dn,)
    assert group in after.groups
    assert directory.authenticate(uid, PASSWORD).ok


def test_nested_groups_are_effective(directory: LdapDirectory, unit: str, unique: Callable[[str], str]) -> None:
    uid = unique("nest")
    inner, middle, outer = unique("inner"), unique("middle"), unique("outer")
    directory.create_person(NewPerson(uid=uid, full_name="Võ Thị Sáu", unit_code=unit))
    for name in (inner, middle, outer):
        directory.create_group(name, is_role=True, unit_code=unit)
    directory.add_member(inner, uid=uid)
    directory.add_member(middle, group=inner)
    directory.add_member(outer, group=middle)
    person = directory.get_person(uid)
    assert {inner, middle, outer} <= set(person.groups)
    assert [p.uid for p in directory.group_members(outer)] == [uid]
    with pytest.raises(InvalidInputError):
        directory.add_member(inner, group=outer)  # a cycle
    directory.remove_member(middle, group=inner)
    assert set(directory.get_person(uid).groups) & {middle, outer} == set()
    directory.remove_member(inner, uid=uid)
    assert directory.get_group(inner).members == ()  # the placeholder is hidden


def test_a_groups_nesting_is_reused_for_a_minute_and_forgotten_when_changed_here(
    directory: LdapDirectory,
    directory_config: DirectoryConfig,
    unit: str,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uid = unique("reuse")
    inner, outer, later = unique("inner"), unique("outer"), unique("later")
    directory.create_person(NewPerson(uid=uid, full_name="Lê Văn Tám", unit_code=unit))
    for name in (inner, outer, later):
        directory.create_group(name)
    directory.add_member(inner, uid=uid)
    directory.add_member(outer, group=inner)
    searches: list[str] = []
    counted = LdapConnection.search

    def search(self: LdapConnection, base: str, *args: Any, **kwargs: Any) -> Any:
        searches.append(base)
        return counted(self, base, *args, **kwargs)

    monkeypatch.setattr(LdapConnection, "search", search)
    elsewhere = LdapDirectory(directory_config)  # another worker's view of the same slapd
    try:
        assert {inner, outer} <= set(elsewhere.find_by_login(uid, with_units=False).groups)  # type: ignore[union-attr]
        nesting = [base for base in searches if base == directory.names.groups_dn]
        assert len(nesting) == 2  # its groups' groups, level by level (the outer one is in none)
        searches.clear()
        assert {inner, outer} <= set(elsewhere.find_by_login(uid, with_units=False).groups)  # type: ignore[union-attr]
        assert searches == [directory_config.base_dn]  # the entry only: its memberOf read afresh, the nesting known
        assert later not in directory.get_person(uid).groups  # this process has read the nesting too
        directory.add_member(later, group=outer)  # changed through this process
        assert later in directory.get_person(uid).groups  # seen here at once
        assert later not in elsewhere.get_person(uid).groups  # there, once the minute is over
        monkeypatch.setattr(base_module, "GROUP_NESTING_TTL", 0.0)
        assert later in elsewhere.get_person(uid).groups
        directory.remove_member(inner, uid=uid)  # the entry itself is always read afresh
        assert set(elsewhere.get_person(uid).groups) & {inner, outer, later} == set()
    finally:
        elsewhere.close()


def test_units_tree_move_and_delete(directory: LdapDirectory, unit: str, unique: Callable[[str], str]) -> None:
    other = unique("Q").upper()
    directory.create_unit(other, "Thành ủy Thử nghiệm", UnitKind.MUNICIPAL_COMMITTEE)
    cell = f"{unit}-X1-CB1"
    directory.create_unit(cell, "Chi bộ thôn Đông", UnitKind.PARTY_CELL, f"{unit}-X1")
    uid = unique("cell")
    before = directory.create_person(NewPerson(uid=uid, full_name="Trần Quốc Toản", unit_code=cell))
    assert [u.code for u in directory.unit_path(cell)] == [cell, f"{unit}-X1", unit]
    moved = directory.move_unit(f"{unit}-X1", other)
    assert moved.parent_code == other
    person = directory.get_person(uid)
    assert person.entry_uuid == before.entry_uuid
    assert [u.code for u in person.unit_path] == [cell, f"{unit}-X1", other]
    with pytest.raises(InvalidInputError):
        directory.move_unit(other, cell)  # under its own descendant
    with pytest.raises(InvalidInputError):
        directory.delete_unit(cell)  # not empty
    directory.delete_person(uid)
    directory.delete_unit(cell)
    with pytest.raises(NotFoundError):
        directory.get_unit(cell)
    codes = [u.code for u in directory.list_units(other)]
    assert codes == [f"{unit}-X1"]


def test_paged_search_visits_everyone_once(directory: LdapDirectory, unit: str, unique: Callable[[str], str]) -> None:
    uids = {unique("page") for _ in range(23)}
    for uid in uids:
        directory.create_person(NewPerson(uid=uid, full_name="Lý Thường Kiệt", unit_code=f"{unit}-X1"))
    seen: list[str] = []
    cookie = None
    pages = 0
    while True:
        page = directory.search_people(unit_code=unit, page_size=10, cookie=cookie)
        seen += [p.uid for p in page.items]
        pages += 1
        cookie = page.cookie
        if cookie is None:
            break
    assert pages == 3 and sorted(seen) == sorted(uids)
    with pytest.raises(InvalidInputError):
        directory.search_people(unit_code=f"{unit}-X1", cookie=b"forged")


def test_modify_and_remove_fields(directory: LdapDirectory, unit: str, unique: Callable[[str], str]) -> None:
    uid = unique("mod")
    directory.create_person(NewPerson(uid=uid, full_name="Bùi Thị Xuân", unit_code=unit, phone="+84 912 345 678"))
    person = directory.modify_person(uid, PersonChanges(full_name="Bùi Thị Xuân Mai", phone="", position="Văn thư"))
    assert person.full_name == "Bùi Thị Xuân Mai" and person.given_name == "Mai"
    assert person.phone is None and person.position == "Văn thư"
