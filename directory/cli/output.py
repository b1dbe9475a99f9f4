"""How the directory commands print officials, units, groups and import reports: JSON shapes and text lines.

The JSON shapes are what scripts read (``--json``); the text lines are for people. CSV and LDIF files are
written by :mod:`directory.files`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import click

from directory.models import Group, Person, Unit, UnitRef

__all__ = [
    "echo_json",
    "echo_json_or_text",
    "group_kind",
    "group_line",
    "group_to_json",
    "person_line",
    "person_to_json",
    "print_import_report",
    "show_person",
    "unit_line",
    "unit_path_text",
    "unit_to_json",
]


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def echo_json_or_text(as_json: bool, data: Any, text: str) -> None:
    """``data`` as JSON with --json, else the line ``text``."""
    if as_json:
        echo_json(data)
    else:
        click.echo(text)


# -- JSON shapes --------------------------------------------------------------------------------------------


def person_to_json(p: Person) -> dict[str, Any]:
    return {
        "uid": p.uid,
        "dn": p.dn,
        "entry_uuid": p.entry_uuid,
        "name": p.full_name,
        "surname": p.surname,
        "given_name": p.given_name,
        "mail": p.mail,
        "phone": p.phone,
        "employee_number": p.employee_number,
        "party_card": p.party_card_number,
        "position": p.position,
        "status": p.status.value,
        "unit": p.unit.code if p.unit else None,
        "unit_path": [{"code": u.code, "name": u.name, "kind": u.kind.value} for u in p.unit_path],
        "groups": list(p.groups),
        "locked": p.locked,
        "must_change_password": p.must_change_password,
    }


def unit_to_json(u: Unit) -> dict[str, Any]:
    return {
        "code": u.code,
        "name": u.name,
        "kind": u.kind.value,
        "parent": u.parent_code,
        "dn": u.dn,
        "description": u.description,
    }


def group_to_json(g: Group) -> dict[str, Any]:
    data = asdict(g)
    data["members"] = list(g.members)
    return data


# -- text ---------------------------------------------------------------------------------------------------


def unit_path_text(path: Sequence[Unit | UnitRef]) -> str:
    """A unit and its parents, innermost first: ``Văn phòng (vp) < Tỉnh ủy (tu)``."""
    return " < ".join(f"{u.name} ({u.code})" for u in path)


def person_line(p: Person) -> str:
    """One official in a list: uid, name, unit code, status in columns."""
    unit_code = p.unit.code if p.unit else "-"
    return f"{p.uid:<24} {p.full_name:<32} {unit_code:<16} {p.status.value}"


def unit_line(u: Unit) -> str:
    """One unit in a list, indented by its depth below the top units."""
    depth = u.dn.lower().count("antinunitcode=") - 1
    return f"{'  ' * depth}{u.code:<16} {u.name}  ({u.kind.value})"


def group_kind(is_role: bool) -> str:
    return "role" if is_role else "group"


def group_line(g: Group) -> str:
    """One group or role in a list: name, kind, the unit a role applies to, member count, description."""
    scope = f" unit {g.unit_code}" if g.unit_code else ""
    return f"{g.name:<28} {group_kind(g.is_role)}{scope}  {len(g.members)} members  {g.description}"


def show_person(p: Person, as_json: bool) -> None:
    if as_json:
        echo_json(person_to_json(p))
        return
    click.echo(f"{p.uid}  {p.full_name}  [{p.status.value}{', locked' if p.locked else ''}]")
    if p.unit_path:
        click.echo("  unit: " + unit_path_text(p.unit_path))
    for label, value in (
        ("position", p.position),
        ("mail", p.mail),
        ("phone", p.phone),
        ("employee number", p.employee_number),
        ("party card", p.party_card_number),
        ("groups", ", ".join(p.groups)),
        ("entryUUID", p.entry_uuid),
    ):
        if value:
            click.echo(f"  {label}: {value}")
    if p.must_change_password:
        click.echo("  must change the password at the next login")


def print_import_report(report: dict[str, Any], as_json: bool) -> None:
    """What ``antin directory import`` did or would do: counts, the changes of a dry run, the outcome."""
    if as_json:
        echo_json(report)
        return
    verb = "would" if report["dry_run"] else "to"
    click.echo(
        f"{report['file']}: {verb} create {report['create']}, update {report['update']}, "
        f"unchanged {report['unchanged']}, rejected {len(report['rejected'])}; applied {report['applied']}"
    )
    if report["dry_run"]:
        for change in report["changes"]:
            fields = f" ({', '.join(change['fields'])})" if change["fields"] else ""
            click.echo(f"  line {change['line']}: {change['action']} {change['kind']} {change['key']}{fields}")
    click.echo(report["status"])
