"""Steps for a directory group rather than one official: a unit's leaders (lãnh đạo) reviewing or signing, the
records office (văn thư) sealing and issuing.

A unit's leaders are the group ``<prefix>-<unit code in lower case>`` (``[signing] leaders_group_prefix``, ``lanh-dao``
by default: ``lanh-dao-bnh`` for the unit ``BNH``), named as the records office's ``van-thu-<code>`` is. A group step
keeps its unit (``assignee_unit``): any active member of the group whose unit path contains that unit may act, and
whoever does is kept in ``acted_by``; a member working elsewhere (a group is a directory object anyone may be put in)
neither acts nor sees the document. The step waits in every such member's "awaiting" box.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from antin.kernel.instance import Instance
from directory.errors import InvalidInputError, NotFoundError
from directory.instance import directory_service
from directory.models import Person, UnitRef
from signing.documents.errors import UploadRefusedError
from signing.documents.models import DocumentStep
from signing.settings import SigningSettings

__all__ = [
    "Assignee",
    "GroupAssignee",
    "Planned",
    "acts_for_group",
    "assigned_to",
    "group_steps",
    "is_leaders_name",
    "leaders_group",
    "leaders_named",
    "named",
    "planned",
    "planned_deadlines",
]


@dataclass(frozen=True)
class GroupAssignee:
    """A directory group whose members working in ``unit`` may act on a step."""

    group: str
    unit: UnitRef


Assignee = Person | GroupAssignee


@dataclass(frozen=True)
class Planned:
    """A review or signature step as the drafter asks it: who, and by when (none: the document's deadline)."""

    assignee: Assignee
    deadline: datetime | None = None


def planned(step: Assignee | Planned) -> Planned:
    return step if isinstance(step, Planned) else Planned(step)


def named(step: Assignee | Planned) -> str:
    """How the audit trail names a step's official (login) or group."""
    who = planned(step).assignee
    return who.group if isinstance(who, GroupAssignee) else who.uid


def planned_deadlines(reviewers: Sequence[Assignee | Planned], signers: Sequence[Assignee | Planned]) -> dict[str, str]:
    """The deadlines given step by step, by kind and who (``sign:lanh-dao-bnh``), for the audit trail."""
    kinds = (("review", reviewers), ("sign", signers))
    return {
        f"{kind}:{named(p)}": p.deadline.isoformat() for kind, steps in kinds for p in map(planned, steps) if p.deadline
    }


def assigned_to(who: Assignee, unit_uuids: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A step's assignee columns: one official, or a group (any member working in its unit acts; ``unit_uuids``:
    the units' entryUUIDs by casefolded code, which the step is bound to)."""
    if isinstance(who, GroupAssignee):
        return {
            "assignee_group": who.group,
            "assignee_unit": who.unit.code,
            "assignee_unit_uuid": (unit_uuids or {}).get(who.unit.code.casefold()),
            "assignee_name": who.unit.name[:200],
        }
    return {"assignee": who.entry_uuid, "assignee_login": who.uid, "assignee_name": who.full_name}


def _prefix(instance: Instance) -> str:
    return instance.settings.section(SigningSettings).leaders_group_prefix or "lanh-dao"


def leaders_group(instance: Instance, unit_code: str) -> str:
    """The name of a unit's leaders' group: ``lanh-dao-bnh`` for ``BNH``."""
    return f"{_prefix(instance)}-{unit_code.lower()}"


def is_leaders_name(instance: Instance, name: str) -> bool:
    """Whether a name a drafter typed is a leaders' group (``lanh-dao-…``) rather than an official's login."""
    return name.lower().startswith(_prefix(instance) + "-")


def leaders_named(instance: Instance, name: str) -> GroupAssignee:
    """The leaders' group ``name`` with its unit; :class:`UploadRefusedError` ``unknown-group`` when no unit has that
    code or the directory has no such group."""
    code = name[len(_prefix(instance)) + 1 :]
    directory = directory_service(instance)
    try:
        unit = directory.get_unit(code.upper())
        group = leaders_group(instance, unit.code)
        scoped = directory.get_group(group).unit_uuid
    except (NotFoundError, InvalidInputError):
        raise UploadRefusedError("unknown-group", f"no leaders' group {name!r} in the directory") from None
    if scoped is not None and unit.entry_uuid and scoped != unit.entry_uuid:  # a deleted unit's, that had its code
        raise UploadRefusedError("unknown-group", f"the group {name!r} belongs to a unit that is gone")
    return GroupAssignee(group, unit.ref)


def acts_for_group(
    person: Person, step: DocumentStep, issuing_unit: str | None = None, path_uuids: Mapping[str, str] | None = None
) -> bool:
    """Whether ``person`` may act on a group step: an active member of its group working in its unit (a records
    office's step made before steps kept their unit falls back to the register's issuing unit) — that very unit:
    given ``path_uuids`` (the entryUUIDs of the person's units now, by casefolded code), not a deleted unit that
    had its code (:mod:`signing.documents.unit_bindings`)."""
    unit = step.assignee_unit or issuing_unit
    if step.assignee_group is None or unit is None or not person.active:
        return False
    if step.assignee_group not in person.groups:
        return False
    if not any(u.code == unit for u in person.unit_path):
        return False
    bound = step.assignee_unit_uuid
    if path_uuids is None or bound is None:  # no identities asked, or a step not bound yet
        return True
    return bool(bound) and path_uuids.get(unit.casefold()) == bound  # "": its unit was gone when bound


def group_steps(official: Person, path_uuids: Mapping[str, str]) -> ColumnElement[bool]:
    """:func:`acts_for_group` in SQL: the group steps the official may act on."""
    units = []
    for unit in official.unit_path:
        unbound = DocumentStep.assignee_unit_uuid.is_(None)
        uuid = path_uuids.get(unit.code.casefold())
        same = or_(unbound, DocumentStep.assignee_unit_uuid == uuid) if uuid else unbound
        units.append(and_(DocumentStep.assignee_unit == unit.code, same))
    return and_(DocumentStep.assignee_group.in_(official.groups), or_(false(), *units))
