"""Target ``import``: reading and planning a CSV or LDIF import (``antin directory import``) without a server.

The input's first line names the format (``csv`` or ``ldif``; anything else is CSV), the rest is the file. The
file is decoded as the command does (UTF-8, or the command refuses it), read with
:func:`directory.transfer.read_rows` and planned with :func:`directory.transfer.plan_import` against a small
directory held in memory (:class:`PlanningDirectory`: the few look-ups planning makes). Reading never raises:
unreadable records are rejections; planning raises only ``DirectoryUnavailableError``, which this directory never
does. Anything that escapes is a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from tests.fuzz.targets import Harness

INSTRUMENT = ("directory", "ldif", "ldap")
TIMEOUT_SECONDS = 5


class PlanningDirectory:
    """What ``plan_import`` asks of the directory, answered from a few units, officials and a group."""

    def __init__(self) -> None:
        from directory.models import Group, Person, Unit, UnitKind, UnitRef

        root = Unit("ou=TU,ou=units,dc=antin,dc=vn", "TU", "Tỉnh ủy", UnitKind.PROVINCIAL_COMMITTEE, None)
        office = Unit("ou=VP,ou=TU,ou=units,dc=antin,dc=vn", "VP", "Văn phòng", UnitKind.DEPARTMENT, "TU")
        self.units = {u.code.lower(): u for u in (root, office)}
        ref = UnitRef(office.dn, office.code, office.name, office.kind)
        self.people = {
            "an.nguyen": Person(
                dn="uid=an.nguyen,ou=VP,ou=TU,ou=units,dc=antin,dc=vn",
                uid="an.nguyen",
                entry_uuid="5f0c-an",
                full_name="Nguyễn Văn An",
                surname="Nguyễn",
                given_name="Văn An",
                mail="an.nguyen@antin.vn",
                employee_number="NV-0001",
                unit=ref,
            )
        }
        self.groups = {
            "van-thu": Group("cn=van-thu,ou=groups,dc=antin,dc=vn", "van-thu", "", (self.people["an.nguyen"].dn,))
        }

    def min_password_length(self) -> int:
        return 8

    def units_by_code(self, codes: Iterable[str]) -> list[Any]:
        return [self.units[c.lower()] for c in codes if c.lower() in self.units]

    def has_people(self) -> bool:
        return bool(self.people)

    def find_people(self, uids: Sequence[str]) -> dict[str, Any]:
        return {u.lower(): self.people[u.lower()] for u in uids if u.lower() in self.people}

    def holders(self, attr: Literal["mail", "employeeNumber"], values: Sequence[str]) -> dict[str, list[str]]:
        field = "mail" if attr == "mail" else "employee_number"
        wanted = {v.lower() for v in values}
        found: dict[str, list[str]] = {}
        for person in self.people.values():
            value = (getattr(person, field) or "").lower()
            if value in wanted:
                found.setdefault(value, []).append(person.uid)
        return found

    def get_group(self, name: str) -> Any:
        from directory.errors import NotFoundError
        from directory.validation import check_group_name

        group = self.groups.get(check_group_name(name, "group"))
        if group is None:
            raise NotFoundError("group", name)
        return group


def make_harness(workdir: Path) -> Harness:
    from directory.transfer import plan_import, read_rows

    directory: Any = PlanningDirectory()

    def import_file(data: bytes) -> None:
        kind, _newline, body = data.partition(b"\n")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return  # the command refuses a file that is not UTF-8 before reading it
        rows, rejected = read_rows(text, "ldif" if kind.strip() == b"ldif" else "csv")
        plan = plan_import(directory, rows, rejected)
        assert all(isinstance(r.reason, str) and r.reason for r in plan.rejections)

    return import_file
