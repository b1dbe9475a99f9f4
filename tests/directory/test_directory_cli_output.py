"""How ``antin directory`` prints officials, units and groups as text (directory/cli/output.py), without a server."""

from __future__ import annotations

from directory.cli.output import group_line, person_line, person_to_json, unit_line, unit_path_text
from directory.models import AccountStatus, Group, Person, Unit, UnitKind

TOP = Unit(
    dn="antinUnitCode=tu-hn,ou=units,dc=antin", code="tu-hn", name="Thành ủy Hà Nội", kind=UnitKind.MUNICIPAL_COMMITTEE
)
OFFICE = Unit(
    dn="antinUnitCode=vp,antinUnitCode=tu-hn,ou=units,dc=antin",
    code="vp",
    name="Văn phòng",
    kind=UnitKind.DEPARTMENT,
    parent_code="tu-hn",
)
AN = Person(
    dn="uid=annv,antinUnitCode=vp,antinUnitCode=tu-hn,ou=units,dc=antin",
    uid="annv",
    entry_uuid="5f1d7c0e-2b1a-4c55-9a0e-6d1f6f3f9b21",
    full_name="Nguyễn Văn An",
    surname="Nguyễn",
    given_name="Văn An",
    status=AccountStatus.SUSPENDED,
    unit=OFFICE.ref,
    unit_path=(OFFICE.ref, TOP.ref),
)


def test_lists_are_columns_and_units_indent_by_depth() -> None:
    assert person_line(AN) == f"{'annv':<24} {'Nguyễn Văn An':<32} {'vp':<16} suspended"
    unplaced = Person(dn="uid=x,ou=people", uid="x", entry_uuid="u", full_name="X", surname="X", given_name="")
    assert person_line(unplaced).split()[-2:] == ["-", "active"]
    assert unit_line(TOP) == f"{'tu-hn':<16} Thành ủy Hà Nội  (municipal-committee)"
    assert unit_line(OFFICE) == f"  {'vp':<16} Văn phòng  (department)"
    assert unit_path_text(AN.unit_path) == "Văn phòng (vp) < Thành ủy Hà Nội (tu-hn)"


def test_a_role_shows_its_unit_and_members() -> None:
    role = Group(
        dn="cn=ky-so,ou=groups",
        name="ky-so",
        description="Ký số",
        members=("uid=a", "uid=b"),
        is_role=True,
        unit_code="vp",
    )
    assert group_line(role) == f"{'ky-so':<28} role unit vp  2 members  Ký số"
    plain = Group(dn="cn=all,ou=groups", name="all", description="", members=(), is_role=False, unit_code=None)
    assert group_line(plain) == f"{'all':<28} group  0 members  "


def test_the_json_of_an_official_names_its_unit_path() -> None:
    data = person_to_json(AN)
    assert data["unit"] == "vp" and data["status"] == "suspended"
    assert [u["code"] for u in data["unit_path"]] == ["vp", "tu-hn"]
