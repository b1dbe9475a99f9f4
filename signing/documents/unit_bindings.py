"""Which unit a document's register entry and group steps belong to: its code and its entryUUID (why:
:mod:`directory.unit_identity`). A unit deleted and a new one created with the same code gets neither the old one's
register (its numbers of the year), its leaders' and records office's pending steps (orphaned: nobody acts on them),
its documents nor what was issued to it. Rows of earlier versions are bound once per instance, at first use, to the
unit that has their code."""

from __future__ import annotations

from collections.abc import Iterable

from antin.kernel.instance import Instance
from directory.instance import directory_service
from directory.models import Person
from directory.unit_identity import UNIT_GONE, UnitIdentities
from signing.documents.models import Document, DocumentIssue, DocumentRecipient, DocumentStep, RecipientKind
from signing.unit_binding import bind_legacy_rows

__all__ = ["UNIT_GONE", "current_units", "path_identities", "same_unit"]

_BOUND = "antin.signing.documents.units_bound"


def current_units(instance: Instance, codes: Iterable[str]) -> dict[str, str]:
    """Each code's unit's entryUUID now (by casefolded code; "" for none), after binding the rows of earlier
    versions (once per instance)."""
    identities = UnitIdentities(directory_service(instance))
    instance.service(_BOUND, lambda i: _bind_legacy(i, identities))
    return identities.current(codes)


def path_identities(instance: Instance, official: Person) -> dict[str, str]:
    """The entryUUIDs of the units on ``official``'s path (by casefolded code): the group steps they may act on are
    those planned for these very units."""
    path = official.unit_path or ((official.unit,) if official.unit else ())
    return current_units(instance, (unit.code for unit in path))


def _bind_legacy(instance: Instance, identities: UnitIdentities) -> bool:
    database = instance.database
    bind_legacy_rows(database, DocumentIssue.unit_code, DocumentIssue.unit_uuid, identities.current)
    grouped = DocumentStep.assignee_group.is_not(None)
    bind_legacy_rows(database, DocumentStep.assignee_unit, DocumentStep.assignee_unit_uuid, identities.current, grouped)
    bind_legacy_rows(database, Document.unit_code, Document.unit_uuid, identities.current, Document.unit_code != "")
    to_units = DocumentRecipient.kind == RecipientKind.UNIT.value
    bind_legacy_rows(database, DocumentRecipient.reference, DocumentRecipient.unit_uuid, identities.current, to_units)
    return True


def same_unit(unit_uuid: str | None, own_uuid: str | None) -> bool:
    """Whether a row bound to ``unit_uuid`` (None: not bound yet) is of the official's own unit now."""
    return unit_uuid is None or (bool(unit_uuid) and unit_uuid == own_uuid)
