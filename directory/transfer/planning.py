"""Planning an import: every row validated against the file and the directory, nothing written.

Each row becomes a create, an update, "unchanged", or a rejection with its line and reason; the directory is
read in a few batched searches (:class:`_DirectoryView`), not row by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from directory.errors import DirectoryError, DirectoryUnavailableError
from directory.files import Rejection, Row
from directory.models import AccountStatus, NewPerson, Person, PersonChanges, Unit, UnitKind
from directory.service import LdapDirectory
from directory.transfer.operations import ImportPlan, Operation
from directory.validation import (
    check_code,
    check_group_name,
    check_optional,
    check_password,
    check_password_rules,
    check_text,
    check_uid,
)

__all__ = ["plan_import"]

_OPTIONAL = {
    "mail": "mail",
    "employee_number": "employee_number",
    "position": "position",
    "phone": "phone",
    "party_card": "party_card_number",
}


def plan_import(
    directory: LdapDirectory,
    rows: Iterable[Row],
    rejections: Iterable[Rejection] = (),
    *,
    people: Mapping[str, Person] | None = None,
) -> ImportPlan:
    """Validate every row and decide what it would change; nothing is written.

    ``people``: the officials ``directory.find_people`` returned for every uid the rows name (their officials and
    their groups' members), when the caller has just read them: planning then does not search for them again."""
    rows = list(rows)
    plan = ImportPlan(rejections=list(rejections), directory=directory)
    known_units = {u.code.lower(): u for u in directory.units_by_code(_unit_codes(rows))}
    view = _DirectoryView.read(directory, rows, people)
    new_units: set[str] = set()
    seen: dict[str, int] = {}
    deferred: list[Operation] = []  # members of groups: added after every group exists
    for row in rows:
        try:
            key = _row_key(row)
            if key in seen:
                raise ValueError(f"duplicate of line {seen[key]}")
            seen[key] = row.line
            if row.kind == "unit":
                plan.operations.append(_plan_unit(directory, row, known_units, new_units))
            elif row.kind == "person":
                plan.operations.append(_plan_person(directory, view, row, known_units, new_units, seen))
            else:
                ops = _plan_group(directory, view, row, known_units, new_units, seen)
                plan.operations.append(ops[0])
                deferred += ops[1:]
        except DirectoryUnavailableError:
            raise
        except (DirectoryError, ValueError) as err:
            key = row.values.get("uid") or row.values.get("code") or row.values.get("name") or "?"
            plan.rejections.append(Rejection(row.line, key, str(err)))
    plan.operations += deferred
    plan.rejections.sort(key=lambda r: r.line)
    return plan


def _unit_codes(rows: Sequence[Row]) -> set[str]:
    """Every unit code the rows name (their own, their parent, their official's or group's unit)."""
    keys = {"unit": ("code", "parent"), "person": ("unit",), "group": ("unit",)}
    return {row.values[k].strip() for row in rows for k in keys[row.kind] if row.values.get(k, "").strip()}


def _row_key(row: Row) -> str:
    if row.kind == "unit":
        return "unit:" + check_code(row.values.get("code", "")).lower()
    if row.kind == "group":
        return "group:" + check_group_name(row.values.get("name", ""))
    return "person:" + check_uid(row.values.get("uid", ""))


def _unit_known(code: str, known: dict[str, Unit], new: set[str]) -> None:
    if code.lower() not in known and code.lower() not in new:
        raise ValueError(f"no unit {code!r} in the directory or earlier in the file")


def _plan_unit(directory: LdapDirectory, row: Row, known: dict[str, Unit], new: set[str]) -> Operation:
    v = row.values
    code = check_code(v.get("code", ""))
    name = check_text("name", v.get("name", ""))
    try:
        kind = UnitKind(v.get("kind") or "other")
    except ValueError:
        raise ValueError(f"unknown unit kind {v.get('kind')!r}") from None
    parent = check_code(v["parent"], "parent") if v.get("parent") else None
    if parent:
        _unit_known(parent, known, new)
    description = v.get("description", "")
    existing = known.get(code.lower())
    if existing is None:
        new.add(code.lower())
        return Operation(
            row.line,
            "unit",
            code,
            "create",
            apply=lambda: _ignore(directory.create_unit(code, name, kind, parent, description)),
        )
    changes = []
    if existing.name != name:
        changes.append("name")
    if existing.kind is not kind:
        changes.append("kind")
    if (existing.parent_code or "").lower() != (parent or "").lower():
        changes.append("parent")
    if not changes:
        return Operation(row.line, "unit", code, "unchanged")
    if changes != ["parent"]:
        raise ValueError(f"unit {code} exists with another {' and '.join(c for c in changes if c != 'parent')}")
    return Operation(
        row.line, "unit", code, "update", ("parent",), apply=lambda: _ignore(directory.move_unit(code, parent))
    )


def _plan_person(
    directory: LdapDirectory,
    view: _DirectoryView,
    row: Row,
    known: dict[str, Unit],
    new: set[str],
    seen: dict[str, int],
) -> Operation:
    v = row.values
    uid = check_uid(v.get("uid", ""))
    name = check_text("name", v.get("name", ""))
    unit = check_code(v["unit"], "unit") if v.get("unit") else None
    if unit:
        _unit_known(unit, known, new)
    optional = {name: check_optional(name, v.get(column) or None) for column, name in _OPTIONAL.items()}
    status_text = (v.get("status") or "active").strip().lower()
    try:
        status = AccountStatus(status_text)
    except ValueError:
        raise ValueError(f"status must be active, suspended or retired, not {status_text!r}") from None
    password = v.get("password") or None
    if password is not None:
        password = check_password(password)
        check_password_rules(password, uid=uid, min_length=directory.min_password_length())
    for label, value in (("mail", optional["mail"]), ("employee_number", optional["employee_number"])):
        if value:
            key = f"{label}:{value.lower()}"
            if key in seen:
                raise ValueError(f"{label} {value} is also on line {seen[key]}")
            seen[key] = row.line
    existing = view.people.get(uid)
    view.refuse_taken(uid, optional.get("mail"), optional.get("employee_number"))
    if existing is None:
        person = NewPerson(
            uid=uid,
            full_name=name,
            unit_code=unit,
            password=password,
            status=status,
            mail=optional["mail"] or None,
            phone=optional["phone"] or None,
            employee_number=optional["employee_number"] or None,
            party_card_number=optional["party_card_number"] or None,
            position=optional["position"] or None,
        )
        return Operation(row.line, "person", uid, "create", apply=lambda: _create(directory, person), new_person=person)
    changes = _person_changes(existing, name, optional, unit, status)
    if not changes:
        return Operation(row.line, "person", uid, "unchanged")
    return Operation(
        row.line,
        "person",
        uid,
        "update",
        tuple(changes),
        apply=lambda: _update(directory, existing, name, optional, unit, status),
    )


@dataclass(frozen=True)
class _DirectoryView:
    """What planning needs of the directory about the file's officials, read in a few batched searches.

    One search per 200 uids, mails or employee numbers instead of three searches (and the unit path and
    groups of each) per row: the checks are the same, the round trips are not.
    """

    people: dict[str, Person]  # by uid (lower-cased, as check_uid gives it)
    mails: dict[str, list[str]]  # lower-cased mail: the uids holding it
    numbers: dict[str, list[str]]

    @classmethod
    def read(
        cls, directory: LdapDirectory, rows: Sequence[Row], people: Mapping[str, Person] | None = None
    ) -> _DirectoryView:
        if not directory.has_people():  # a first import: one search instead of three per 200 rows, all empty
            return cls(people={}, mails={}, numbers={})
        uids = [r.values.get("uid", "") for r in rows if r.kind == "person"]
        uids += [m for r in rows if r.kind == "group" for m in r.members if not m.startswith("group:")]
        mails = [r.values.get("mail", "").strip() for r in rows if r.kind == "person" and r.values.get("mail")]
        numbers = [
            r.values.get("employee_number", "").strip()
            for r in rows
            if r.kind == "person" and r.values.get("employee_number")
        ]
        return cls(
            people=dict(people)
            if people is not None
            else directory.find_people([u.strip() for u in uids if u.strip()]),
            mails=directory.holders("mail", mails) if mails else {},
            numbers=directory.holders("employeeNumber", numbers) if numbers else {},
        )

    def refuse_taken(self, uid: str, mail: str | None, number: str | None) -> None:
        for label, value, held in (("mail", mail, self.mails), ("employee number", number, self.numbers)):
            if not value:
                continue
            owners = held.get(value.lower(), [])
            if len(owners) > 1:
                raise DirectoryError("several accounts match this login")
            if owners and owners[0].lower() != uid:
                raise ValueError(f"{label} {value} belongs to {owners[0]}")


def _person_changes(
    person: Person, name: str, optional: dict[str, str | None], unit: str | None, status: AccountStatus
) -> list[str]:
    changes = []
    if person.full_name != name:
        changes.append("name")
    for name_, value in optional.items():
        if value is not None and (getattr(person, name_) or "") != value:
            changes.append(name_)
    if (person.unit.code if person.unit else "").lower() != (unit or "").lower():
        changes.append("unit")
    if person.status is not status:
        changes.append("status")
    return changes


def _create(directory: LdapDirectory, person: NewPerson) -> None:
    directory.create_person(person)


def _update(
    directory: LdapDirectory,
    person: Person,
    name: str,
    optional: dict[str, str | None],
    unit: str | None,
    status: AccountStatus,
) -> None:
    directory.modify_person(person.uid, PersonChanges(full_name=name, **optional))
    if (person.unit.code if person.unit else "").lower() != (unit or "").lower():
        directory.move_person(person.uid, unit)
    if person.status is not status:
        if status is AccountStatus.ACTIVE:
            directory.enable(person.uid)
        else:
            directory.disable(person.uid, status)


def _plan_group(
    directory: LdapDirectory,
    view: _DirectoryView,
    row: Row,
    known: dict[str, Unit],
    new: set[str],
    seen: dict[str, int],
) -> list[Operation]:
    """The group's creation now, and the members it gains once every row has been applied."""
    v = row.values
    name = check_group_name(v.get("name", ""))
    is_role = (v.get("kind") or "group").lower() == "role"
    unit = check_code(v["unit"], "unit") if v.get("unit") else None
    if unit:
        _unit_known(unit, known, new)
    description = v.get("description", "")
    try:
        existing = directory.get_group(name)
    except DirectoryError:
        existing = None
    for member in row.members:
        if member.startswith("group:"):
            continue  # groups may come later in the file; checked when applied
        if f"person:{member.lower()}" not in seen and member.strip().lower() not in view.people:
            raise ValueError(f"member {member!r} is neither in the directory nor earlier in the file")
    current = {m.lower() for m in existing.members} if existing else set()
    missing = [m for m in row.members if not any(m.split(":")[-1].lower() in c for c in current)]
    ops: list[Operation] = []
    if existing is None:
        ops.append(
            Operation(
                row.line,
                "group",
                name,
                "create",
                apply=lambda: _ignore(directory.create_group(name, description, is_role=is_role, unit_code=unit)),
            )
        )
    elif not missing:
        return [Operation(row.line, "group", name, "unchanged")]

    def add_members() -> None:  # one modify for all of the group's new members
        directory.add_members(
            name,
            uids=[m for m in missing if not m.startswith("group:")],
            groups=[m.removeprefix("group:") for m in missing if m.startswith("group:")],
        )

    if missing:
        ops.append(Operation(row.line, "group", name, "update", ("members",), apply=add_members))
    return ops


def _ignore(_: object) -> None:
    return None
