"""What the admin API and SCIM need of the directory, against a real slapd: a unit renamed in place, and the time
an official's entry last changed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from directory.errors import ChangedMeanwhileError, InvalidInputError, NotFoundError
from directory.models import NewPerson, PersonChanges
from directory.service import LdapDirectory

pytestmark = pytest.mark.slapd


def test_a_unit_is_renamed_in_place_and_keeps_its_people(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("ren")
    directory.create_person(NewPerson(uid=uid, full_name="Lê Văn Tám", unit_code=f"{unit}-X1"))
    renamed = directory.modify_unit(f"{unit}-X1", name="Đảng ủy phường Đông Ngàn", description="Sáp nhập 2025")
    assert (renamed.code, renamed.name, renamed.description) == (
        f"{unit}-X1",
        "Đảng ủy phường Đông Ngàn",
        "Sáp nhập 2025",
    )
    assert renamed.dn == directory.get_unit(f"{unit}-X1").dn
    person = directory.get_person(uid)
    assert person.unit is not None and person.unit.name == "Đảng ủy phường Đông Ngàn"
    assert directory.modify_unit(f"{unit}-X1", description="").description == ""
    with pytest.raises(InvalidInputError):
        directory.modify_unit(unit, name=" ")
    with pytest.raises(NotFoundError):
        directory.modify_unit(unique("NOPE"), name="x")
    assert directory.get_unit(unit).name == "Tỉnh ủy Thử nghiệm"


def test_an_officials_last_change_is_read_from_the_directory(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("ts")
    created = directory.create_person(NewPerson(uid=uid, full_name="Lê Văn Tám", unit_code=unit))
    assert created.modified_at is not None
    time.sleep(1.1)  # modifyTimestamp has a resolution of one second
    changed = directory.modify_person(uid, PersonChanges(position="Chánh Văn phòng"))
    assert changed.modified_at is not None and changed.modified_at > created.modified_at


def test_names_may_be_kept_apart_from_the_full_name(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    """What a SCIM client sends: a family name, a given name and a display name of its own."""
    uid = unique("ten")
    person = directory.create_person(
        NewPerson(uid=uid, full_name="Nguyễn Thị Minh Khai", unit_code=unit, surname="Nguyễn", given_name="Minh Khai")
    )
    assert (person.surname, person.given_name, person.display_name) == ("Nguyễn", "Minh Khai", "Nguyễn Thị Minh Khai")
    changed = directory.modify_person(uid, PersonChanges(display_name="Chị Minh Khai", employee_number="a" * 64))
    assert (changed.full_name, changed.display_name) == ("Nguyễn Thị Minh Khai", "Chị Minh Khai")
    renamed = directory.modify_person(uid, PersonChanges(full_name="Trần Văn Bình"))
    assert (renamed.surname, renamed.given_name, renamed.display_name) == ("Trần", "Bình", "Trần Văn Bình")
    with pytest.raises(InvalidInputError):
        directory.modify_person(uid, PersonChanges(surname=" "))
    with pytest.raises(InvalidInputError):
        directory.modify_person(uid, PersonChanges(employee_number="a" * 65))


def test_a_change_against_an_old_version_is_refused_by_the_server(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str]
) -> None:
    uid = unique("ver")
    read = directory.create_person(NewPerson(uid=uid, full_name="Lê Văn Tám", unit_code=unit))
    assert read.version
    first = directory.modify_person(uid, PersonChanges(position="Chánh Văn phòng"), version=read.version)
    assert first.version and first.version != read.version
    with pytest.raises(ChangedMeanwhileError):  # a second administrator saving what they read before
        directory.modify_person(uid, PersonChanges(position="Chuyên viên"), version=read.version)
    assert directory.get_person(uid).position == "Chánh Văn phòng"
    assert directory.modify_person(uid, PersonChanges(position="Chuyên viên"), version=first.version).position == (
        "Chuyên viên"
    )
    # with an e-mail and an employee number (the unique overlay's): checked too, and changed
    with pytest.raises(ChangedMeanwhileError):
        directory.modify_person(uid, PersonChanges(mail=f"{uid}@x.vn"), version=first.version)
    assert directory.get_person(uid).mail is None
    current = directory.get_person(uid).version
    changed = directory.modify_person(uid, PersonChanges(mail=f"{uid}@x.vn", employee_number=uid), version=current)
    assert (changed.mail, changed.employee_number) == (f"{uid}@x.vn", uid)
