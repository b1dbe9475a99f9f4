"""Injection probes in every value a user can give: they find nothing extra and create nothing odd."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from directory.errors import DirectoryError, InvalidInputError, NotFoundError
from directory.models import AuthStatus, NewPerson, PersonChanges, UnitKind
from directory.service import LdapDirectory
from tests.directory.conftest import PASSWORD

pytestmark = pytest.mark.slapd

PROBES = [
    "*",
    "*)(uid=*",
    "*)(|(uid=*",
    "admin)(&)",
    "\\",
    "\\2a",
    "a\x00b",
    "x" * 5000,
    ',+"\\<>;=#',
    "uid=x,ou=people",
    "#start",
    " leading",
    "line\nbreak",
    "(objectClass=*)",
]


@pytest.fixture
def victim(directory: LdapDirectory, unit: str, unique: Callable[[str], str]) -> str:
    uid = unique("victim")
    directory.create_person(NewPerson(uid=uid, full_name="Lê Văn Tám", unit_code=unit, password=PASSWORD))
    return uid


@pytest.mark.parametrize("probe", PROBES)
def test_lookups_find_nothing(directory: LdapDirectory, victim: str, probe: str) -> None:
    assert directory.find_by_login(probe) is None
    assert directory.find_by_uid(probe) is None
    assert directory.find_by_mail(probe) is None
    assert directory.find_by_employee_number(probe) is None
    assert directory.find_by_uuid(probe) is None
    assert directory.authenticate(probe, PASSWORD).status is AuthStatus.INVALID_CREDENTIALS
    assert directory.authenticate(victim, probe).status is AuthStatus.INVALID_CREDENTIALS


@pytest.mark.parametrize("probe", PROBES)
def test_search_text_matches_literally(directory: LdapDirectory, victim: str, probe: str) -> None:
    try:
        page = directory.search_people(probe)
    except InvalidInputError:
        return  # refused (NUL, control characters, too long): also fine
    assert page.items == ()


@pytest.mark.parametrize("probe", PROBES)
def test_creation_refuses_or_stores_literally(
    directory: LdapDirectory, unit: str, unique: Callable[[str], str], probe: str
) -> None:
    before = {p.uid for p in directory.iter_people(unit_code=unit)}
    # as a uid, a unit code or a group name: refused (these end up in DNs)
    with pytest.raises(InvalidInputError) as err:
        directory.create_person(NewPerson(uid=probe, full_name="Lê Văn Tám", unit_code=unit))
    assert err.value.field == "uid"
    with pytest.raises((InvalidInputError, NotFoundError)):
        directory.create_person(NewPerson(uid=unique("u"), full_name="Lê Văn Tám", unit_code=probe))
    with pytest.raises(InvalidInputError):
        directory.create_unit(probe, "Đơn vị", UnitKind.OTHER)
    with pytest.raises(InvalidInputError):
        directory.create_group(probe)
    # as a name or a position: stored exactly as given, or refused with the field named
    uid = unique("odd")
    try:
        person = directory.create_person(NewPerson(uid=uid, full_name=f"Tám {probe}", unit_code=unit, position=probe))
    except InvalidInputError as refused:
        assert refused.field in ("full_name", "position")
    else:
        assert person.full_name == f"Tám {probe}".strip() and person.position == probe.strip()
        assert directory.find_by_uid(uid) == person
        before.add(uid)
    after = {p.uid for p in directory.iter_people(unit_code=unit)}
    assert after == before


@pytest.mark.parametrize("probe", PROBES)
def test_modify_and_members_refuse_probes(directory: LdapDirectory, victim: str, probe: str) -> None:
    with pytest.raises(DirectoryError):
        directory.modify_person(victim, PersonChanges(mail=probe))
    with pytest.raises(DirectoryError):
        directory.move_person(victim, probe)
    with pytest.raises(DirectoryError):
        directory.modify_person(probe, PersonChanges(position="x"))
    assert directory.get_person(victim).mail is None
