"""The files of an import or export: CSV (UTF-8, officials) and LDIF (units, officials, groups).

Reading turns a file into :class:`Row` records, each with the line it starts on, and :class:`Rejection` for what
cannot be read; :mod:`directory.transfer` plans and applies them. Writing gives back files that reading accepts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from directory.errors import DirectoryError
from directory.ldap_client import explode_dn, read_ldif, write_ldif
from directory.models import Person
from directory.names import search_keys

if TYPE_CHECKING:
    from directory.service import LdapDirectory

__all__ = ["CSV_COLUMNS", "Rejection", "Row", "export_csv", "export_ldif", "read_rows"]

CSV_COLUMNS = ("uid", "name", "unit", "mail", "employee_number", "position", "phone", "party_card", "status")


@dataclass(frozen=True)
class Row:
    """One record of an import file: a unit, an official or a group, with the line it starts on."""

    line: int
    kind: Literal["unit", "person", "group"]
    values: dict[str, str]
    members: tuple[str, ...] = ()  # groups: member uids, or "group:<name>"


@dataclass(frozen=True)
class Rejection:
    line: int
    key: str
    reason: str


# -- reading files ----------------------------------------------------------------------------------------


def read_rows(text: str, fmt: Literal["csv", "ldif"]) -> tuple[list[Row], list[Rejection]]:
    """Rows of a CSV or LDIF text; records that cannot even be read are rejected with their line."""
    return _read_csv(text) if fmt == "csv" else _read_ldif(text)


def _read_csv(text: str) -> tuple[list[Row], list[Rejection]]:
    # newline="" as the csv module asks: quoted fields may hold line breaks, and a lone CR ends a line
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _csv_rows(reader)
    except csv.Error as err:  # a stray quote or NUL: the file is refused whole, at the line the reader reached
        return [], [Rejection(reader.line_num, "file", f"not a readable CSV file: {err}")]


def _csv_rows(reader: csv.DictReader[str]) -> tuple[list[Row], list[Rejection]]:
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("uid", "name") if c not in header]
    if missing:
        return [], [Rejection(1, "header", f"missing column(s): {', '.join(missing)}")]
    unknown = [h for h in header if h not in (*CSV_COLUMNS, "password")]
    if unknown:
        return [], [Rejection(1, "header", f"unknown column(s): {', '.join(unknown)}")]
    reader.fieldnames = header
    rows: list[Row] = []
    rejections: list[Rejection] = []
    for record in reader:
        line = reader.line_num
        if None in record:
            rejections.append(Rejection(line, record.get("uid") or "?", "more fields than columns"))
            continue
        values = {k: (v or "") for k, v in record.items() if k is not None}
        rows.append(Row(line, "person", values))
    return rows, rejections


def _read_ldif(text: str) -> tuple[list[Row], list[Rejection]]:
    try:
        records = read_ldif(text)
    except DirectoryError as err:
        return [], [Rejection(0, "file", str(err))]
    rows: list[Row] = []
    rejections: list[Rejection] = []
    for record in records:
        classes = {c.lower() for c in record.attrs.get("objectClass", ())} | {
            c.lower() for k, vs in record.attrs.items() if k.lower() == "objectclass" for c in vs
        }

        lowered = {key.lower(): values for key, values in record.attrs.items()}

        def first(name: str, lowered: dict[str, tuple[str, ...]] = lowered) -> str:
            values = lowered.get(name.lower(), ())
            return values[0] if values else ""

        try:
            above = [v for a, v in explode_dn(record.dn)[1:2] if a.lower() == "antinunitcode"]
        except DirectoryError:
            rejections.append(Rejection(record.line, record.dn, "not a valid DN"))
            continue
        parent = above[0] if above else ""
        if "antinunit" in classes:
            values = {
                "code": first("antinUnitCode"),
                "name": first("ou"),
                "kind": first("antinUnitKind"),
                "parent": parent,
                "description": first("description"),
            }
            rows.append(Row(record.line, "unit", values))
        elif "inetorgperson" in classes:
            if first("userPassword"):
                rejections.append(
                    Rejection(record.line, first("uid") or record.dn, "userPassword cannot be imported from LDIF")
                )
                continue
            values = {
                "uid": first("uid"),
                "name": first("cn"),
                "unit": parent,
                "mail": first("mail"),
                "employee_number": first("employeeNumber"),
                "position": first("antinPosition"),
                "phone": first("telephoneNumber"),
                "party_card": first("antinPartyCardNumber"),
                "status": first("antinStatus"),
            }
            rows.append(Row(record.line, "person", values))
        elif "groupofnames" in classes:
            members: list[str] = []
            for key, vals in record.attrs.items():
                if key.lower() != "member":
                    continue
                for dn in vals:
                    try:
                        attr, value = explode_dn(dn)[0]
                    except (DirectoryError, IndexError):  # not a DN, or the empty one
                        continue
                    if attr.lower() == "uid":
                        members.append(value)
                    elif attr.lower() == "cn" and "ou=groups" in dn.lower():
                        members.append(f"group:{value}")
            values = {
                "name": first("cn"),
                "description": first("description"),
                "kind": first("antinGroupKind"),
                "unit": first("antinScopeUnitCode"),
            }
            rows.append(Row(record.line, "group", values, tuple(members)))
        else:
            rejections.append(Rejection(record.line, record.dn, "neither a unit, an official nor a group"))
    return rows, rejections


# -- export ----------------------------------------------------------------------------------------------------


def export_csv(people: Iterable[Person]) -> Iterator[str]:
    """CSV lines (header first) that :func:`read_rows` reads back."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for p in people:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                p.uid,
                p.full_name,
                p.unit.code if p.unit else "",
                p.mail or "",
                p.employee_number or "",
                p.position or "",
                p.phone or "",
                p.party_card_number or "",
                p.status.value,
            ]
        )
        yield buffer.getvalue()


def export_ldif(directory: LdapDirectory) -> str:
    """Units (parents first), officials and groups, in the project's schema; no password hashes."""
    entries: list[tuple[str, dict[str, list[str]]]] = []
    for unit in directory.list_units():
        attrs = {
            "objectClass": ["antinUnit"],
            "antinUnitCode": [unit.code],
            "ou": [unit.name],
            "antinUnitKind": [unit.kind.value],
        }
        if unit.description:
            attrs["description"] = [unit.description]
        entries.append((unit.dn, attrs))
    for p in directory.iter_people():
        attrs = {
            "objectClass": ["inetOrgPerson", "antinOfficial"],
            "uid": [p.uid],
            "cn": [p.full_name],
            "sn": [p.surname],
            "givenName": [p.given_name],
            "displayName": [p.display_name or p.full_name],
            "antinStatus": [p.status.value],
            "antinSearchKey": search_keys(p.full_name, p.uid),
        }
        for name_, attr in (
            ("mail", "mail"),
            ("phone", "telephoneNumber"),
            ("employee_number", "employeeNumber"),
            ("party_card_number", "antinPartyCardNumber"),
            ("position", "antinPosition"),
        ):
            value = getattr(p, name_)
            if value:
                attrs[attr] = [value]
        entries.append((p.dn, attrs))
    for g in directory.list_groups():
        attrs = {
            "objectClass": ["groupOfNames", "antinGroup"],
            "cn": [g.name],
            "member": list(g.members) or [directory.names.placeholder],
            "antinGroupKind": ["role" if g.is_role else "group"],
        }
        if g.description:
            attrs["description"] = [g.description]
        if g.unit_code:
            attrs["antinScopeUnitCode"] = [g.unit_code]
        entries.append((g.dn, attrs))
    return write_ldif(entries)
