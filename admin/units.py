"""Units as administrators see them: the tree within one's reach, one unit, a unit created, renamed or moved.

Every operation names its :class:`~admin.models.AdminAction` and goes through the delegation first; a unit outside
the caller's subtrees reads like no unit at all. Creating and renaming are audited with the values before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from admin.delegation import Actor, Delegation
from admin.errors import ConflictError, NotPermittedError, TakenError
from admin.models import ROOT_UNIT, AdminAction
from admin.versions import check_version, etag_of
from antin.kernel.audit import AuditEvent, AuditLog
from directory.errors import AlreadyExistsError, InvalidInputError
from directory.models import Unit, UnitKind
from directory.service import LdapDirectory

__all__ = ["UnitTree", "Units", "unit_etag", "unit_json"]


def unit_json(unit: Unit) -> dict[str, Any]:
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind.value,
        "parent": unit.parent_code,
        "description": unit.description,
    }


def unit_etag(unit: Unit) -> str:
    return etag_of(unit_json(unit))


@dataclass(frozen=True)
class UnitTree:
    """A unit and the units under it, for a tree view."""

    unit: Unit
    children: tuple[UnitTree, ...]

    def as_json(self) -> dict[str, Any]:
        return {**unit_json(self.unit), "children": [c.as_json() for c in self.children]}


class Units:
    def __init__(self, directory: LdapDirectory, delegation: Delegation, audit: AuditLog) -> None:
        self.directory = directory
        self.delegation = delegation
        self.audit = audit

    def list_units(self, actor: Actor, under: str | None = None) -> list[Unit]:
        """Every unit within ``actor``'s reach (or ``under`` and its subtree, which must be within it)."""
        tops: list[str] | None
        if under is not None:
            path = self.delegation.authorize_unit(actor, AdminAction.UNITS_READ, under)
            tops = None if path == [ROOT_UNIT] else [path[0]]
        else:
            tops = self.delegation.reach(actor, AdminAction.UNITS_READ)
        if tops is None:
            return self.directory.list_units()
        if not tops:
            raise NotPermittedError(AdminAction.UNITS_READ.value)
        units: list[Unit] = []
        for top in tops:
            units += [self.directory.get_unit(top), *self.directory.list_units(top)]
        return units

    def tree(self, actor: Actor, under: str | None = None) -> list[UnitTree]:
        """The units within reach (or under ``under``) as trees, one per subtree."""
        units = self.list_units(actor, under)
        codes = {u.code for u in units}
        children: dict[str | None, list[Unit]] = {}
        for unit in units:
            parent = unit.parent_code if unit.parent_code in codes else None
            children.setdefault(parent, []).append(unit)

        def build(unit: Unit) -> UnitTree:
            kids = sorted(children.get(unit.code, []), key=lambda u: u.code)
            return UnitTree(unit, tuple(build(k) for k in kids))

        return [build(u) for u in sorted(children.get(None, []), key=lambda u: u.code)]

    def subtree_size(self, actor: Actor, code: str) -> tuple[int, int]:
        """How many units (itself included) and officials a move of ``code`` takes along: its confirmation says."""
        units = self.list_units(actor, code)
        officials = sum(1 for _ in self.directory.iter_people_brief(unit_code=code))
        return len(units), officials

    def get(self, actor: Actor, code: str) -> Unit:
        self.delegation.authorize_unit(actor, AdminAction.UNITS_READ, code)
        return self.directory.get_unit(code)

    def create(
        self, actor: Actor, code: str, name: str, kind: UnitKind | str, parent_code: str | None, description: str = ""
    ) -> Unit:
        """A new unit under ``parent_code`` (None: a new top unit, only for a platform administrator)."""
        self.delegation.authorize_unit(actor, AdminAction.UNITS_WRITE, parent_code or ROOT_UNIT)
        try:
            unit = self.directory.create_unit(code, name, kind, parent_code, description)
        except AlreadyExistsError as err:
            raise TakenError(f"unit code {err.key!r} is already taken") from None
        self.audit.record(
            AuditEvent.DIRECTORY_UNIT_CREATE, actor=actor.name, subject=unit.code, details={"after": unit_json(unit)}
        )
        return unit

    def move(self, actor: Actor, code: str, parent_code: str | None, *, if_match: str | None = None) -> Unit:
        """Move a unit with its whole subtree and its people under another unit (None: to the top, the root's
        only); both the unit and the new parent must be within reach. Officials keep their entryUUID and groups."""
        self.delegation.authorize_unit(actor, AdminAction.UNITS_WRITE, code)
        self.delegation.authorize_unit(actor, AdminAction.UNITS_WRITE, parent_code or ROOT_UNIT)
        unit = self.directory.get_unit(code)
        check_version(unit_etag(unit), if_match)
        try:
            moved = self.directory.move_unit(unit.code, parent_code)
        except InvalidInputError as err:
            raise ConflictError(err.reason) from None
        self.audit.record(
            AuditEvent.DIRECTORY_UNIT_MOVE,
            actor=actor.name,
            subject=unit.code,
            details={"before": {"parent": unit.parent_code}, "after": {"parent": moved.parent_code}},
        )
        return moved

    def rename(
        self,
        actor: Actor,
        code: str,
        *,
        name: str | None = None,
        description: str | None = None,
        if_match: str | None = None,
        required: bool = False,
    ) -> Unit:
        """Rename a unit or change its description; its code (and so its people's paths) stays."""
        self.delegation.authorize_unit(actor, AdminAction.UNITS_WRITE, code)
        unit = self.directory.get_unit(code)
        check_version(unit_etag(unit), if_match, required=required)
        changed = self.directory.modify_unit(unit.code, name=name, description=description)
        before, after = unit_json(unit), unit_json(changed)
        keys = [k for k in before if before[k] != after[k]]
        if keys:
            self.audit.record(
                AuditEvent.DIRECTORY_UNIT_MODIFY,
                actor=actor.name,
                subject=unit.code,
                details={"before": {k: before[k] for k in keys}, "after": {k: after[k] for k in keys}},
            )
        return changed
