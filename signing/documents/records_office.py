"""The records office (văn thư): who gives an issued document its number and date, applies the unit's seal and
sends it to its recipients (Decree 30/2020).

Roles come from the directory by name. The records office of a unit is the group ``<prefix>-<unit code in lower
case>`` (``[signing] seal_group_prefix``, ``van-thu`` by default: ``van-thu-bnh`` for the unit ``BNH``); a unit
without such a group is served by the nearest unit above it that has one, and that unit *issues* the document: its
seal goes on it, its register numbers it. Any member of the group (nested groups count) whose unit path contains the
issuing unit may act on the ``seal`` and ``issue`` steps; whoever does is kept in ``acted_by``.

The number (số, ký hiệu, e.g. ``12/QĐ-TU`` or ``12-QĐ/TU``) is unique per issuing unit and year of issue, compared
without regard to case; it is taken by one conditional UPDATE before the seal is made, so two clerks giving the same
number at once get one document each and one refusal, and given back if the seal fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from antin.kernel.instance import Instance
from directory.errors import InvalidInputError, NotFoundError
from directory.instance import directory_service
from directory.models import Person, UnitRef
from signing.documents.errors import RegisterRefusedError, StepNotActiveError, UploadRefusedError
from signing.documents.groups import acts_for_group
from signing.documents.models import (
    Document,
    DocumentIssue,
    DocumentRecipient,
    DocumentStatus,
    DocumentStep,
    RecipientKind,
    StepKind,
    StepStatus,
)
from signing.documents.unit_bindings import current_units, same_unit
from signing.settings import SigningSettings

__all__ = [
    "MAX_RECIPIENTS",
    "Issuing",
    "Recipient",
    "acts_for_records_office",
    "find_records_office",
    "parse_number",
    "records_office_of_unit",
    "release_number",
    "reserve_number",
    "send_to_recipients",
]

MAX_RECIPIENTS = 50
VIETNAM_TIME = timezone(timedelta(hours=7))
# digits, a separator, then the symbol (letters of any script, digits, dots, hyphens, slashes): 12/QĐ-TU, 05-CT/TW
NUMBER = re.compile(r"^[0-9]{1,6}[-/][^\W_][\w.\-/]*$")


@dataclass(frozen=True)
class Recipient:
    """A unit (every official whose own unit it is) or one official the issued document goes to."""

    kind: RecipientKind
    reference: str  # the unit's code or the official's sub
    label: str


@dataclass(frozen=True)
class Issuing:
    """The records office that will seal and issue a document, and to whom."""

    group: str
    unit: UnitRef
    recipients: tuple[Recipient, ...]


def records_office_group(instance: Instance, unit_code: str) -> str:
    prefix = instance.settings.section(SigningSettings).seal_group_prefix or "van-thu"
    return f"{prefix}-{unit_code.lower()}"


def find_records_office(instance: Instance, drafter: Person) -> tuple[str, UnitRef]:
    """The records-office group serving the drafter's unit and the unit that issues: the drafter's own unit if it
    has a records office, else the nearest above it that has one."""
    path = list(drafter.unit_path) or ([drafter.unit] if drafter.unit else [])
    directory = directory_service(instance)
    uuids = current_units(instance, (unit.code for unit in path))
    for unit in path:
        name = records_office_group(instance, unit.code)
        try:
            scoped = directory.get_group(name).unit_uuid
        except (NotFoundError, InvalidInputError):  # none, or a unit code no group name can carry
            continue
        if scoped is not None and scoped != uuids.get(unit.code.casefold()):
            continue  # the records office of a deleted unit that had this code: not this unit's
        return name, unit
    raise UploadRefusedError("no-records-office", "no unit on the drafter's path has a records-office group")


def records_office_of_unit(instance: Instance, unit_code: str) -> tuple[str, UnitRef]:
    """As :func:`find_records_office`, from a unit named by code (an application's request has no drafter):
    :class:`UploadRefusedError` ``unknown-unit`` or ``no-records-office``."""
    directory = directory_service(instance)
    code: str | None = unit_code
    seen = 0
    while code is not None and seen < 64:  # a unit tree is never that deep: a loop in the data stops here
        try:
            unit = directory.get_unit(code)
        except (NotFoundError, InvalidInputError):
            raise UploadRefusedError("unknown-unit", f"no unit {code!r}") from None
        name = records_office_group(instance, unit.code)
        try:
            scoped = directory.get_group(name).unit_uuid
            if scoped is None or not unit.entry_uuid or scoped == unit.entry_uuid:  # not a deleted unit's
                return name, unit.ref
        except (NotFoundError, InvalidInputError):
            pass
        code, seen = unit.parent_code, seen + 1
    raise UploadRefusedError("no-records-office", f"no unit from {unit_code!r} up has a records-office group")


def acts_for_records_office(person: Person, step: DocumentStep, issue: DocumentIssue | None) -> bool:
    """Whether ``person`` may act on a records-office step: a member of its group working in the issuing unit."""
    return acts_for_group(person, step, issue.unit_code if issue is not None else None)


def parse_number(text: str) -> tuple[str, str]:
    """The number as written and its key for uniqueness (case folded); :class:`RegisterRefusedError` if malformed."""
    number = " ".join(text.split())
    if not number or len(number) > 64 or not NUMBER.match(number):
        raise RegisterRefusedError("bad-number", "a number and symbol such as 12/QĐ-TU")
    return number, number.casefold()


def check_issue_date(issued_on: date | None, document: Document, today: date) -> date:
    """The date of issue: given, not before the document was uploaded, not after today (Vietnam time)."""
    if issued_on is None:
        raise RegisterRefusedError("bad-date", "the date of issue is required")
    uploaded = document.created_at
    if uploaded.tzinfo is not None:
        uploaded = uploaded.astimezone(VIETNAM_TIME)
    if issued_on > today or issued_on < uploaded.date():
        raise RegisterRefusedError("bad-date", "the date of issue is between the upload and today")
    return issued_on


def reserve_number(instance: Instance, document: Document, number: str, issued_on: date | None) -> DocumentIssue:
    """Give the document its number and date in the issuing unit's register; ``number-taken`` when that unit used
    the number already that year (checked by the database's unique constraint)."""
    written, key = parse_number(number)
    today = instance.clock.now().astimezone(VIETNAM_TIME).date()
    day = check_issue_date(issued_on, document, today)
    try:
        with instance.database.session() as s:
            taken = cast(
                CursorResult[Any],
                s.execute(
                    update(DocumentIssue)
                    .where(DocumentIssue.document_id == document.id, DocumentIssue.number_key.is_(None))
                    .values(number=written, number_key=key, year=day.year, issued_on=day)
                ),
            ).rowcount
            if taken != 1:
                raise RegisterRefusedError("numbered", "the document has its number already")
            row = s.get(DocumentIssue, document.id)
            assert row is not None
            s.expunge(row)
    except IntegrityError:
        raise RegisterRefusedError("number-taken", f"{written} is used already this year by this unit") from None
    return row


def release_number(instance: Instance, document_id: str) -> None:
    """Give the number back (the seal was not made)."""
    with instance.database.session() as s:
        s.execute(
            update(DocumentIssue)
            .where(DocumentIssue.document_id == document_id)
            .values(number=None, number_key=None, year=None, issued_on=None)
        )


def add_issuing(
    instance: Instance, document_id: str, issuing: Issuing, unit_uuids: Mapping[str, str] | None = None
) -> None:
    """Keep the register entry (no number yet) and the recipients of a new document (in the caller's upload); the
    entry is in the register of the issuing unit with that entryUUID (a new unit given its code has another)."""
    with instance.database.session() as s:
        s.add(
            DocumentIssue(
                document_id=document_id,
                unit_code=issuing.unit.code,
                unit_uuid=(unit_uuids or {}).get(issuing.unit.code.casefold()),
                unit_name=issuing.unit.name[:255],
                records_office=issuing.group,
            )
        )
        for recipient in issuing.recipients:
            s.add(
                DocumentRecipient(
                    document_id=document_id,
                    kind=recipient.kind.value,
                    reference=recipient.reference,
                    unit_uuid=(unit_uuids or {}).get(recipient.reference.casefold())
                    if recipient.kind == RecipientKind.UNIT
                    else None,
                    label=recipient.label[:255],
                )
            )


def records_office_steps(issuing: Issuing) -> list[tuple[StepKind, str]]:
    return [(StepKind.SEAL, issuing.group), (StepKind.ISSUE, issuing.group)]


def send_to_recipients(instance: Instance, step: DocumentStep, actor_sub: str) -> None:
    """The issue step done: the document is finished and its recipients find it under "received"."""
    now = instance.clock.now()
    with instance.database.session() as s:
        taken = cast(
            CursorResult[Any],
            s.execute(
                update(DocumentStep)
                .where(DocumentStep.id == step.id, DocumentStep.status == StepStatus.ACTIVE.value)
                .values(status=StepStatus.DONE.value, acted_at=now, acted_by=actor_sub)
            ),
        ).rowcount
        if taken != 1:
            raise StepNotActiveError("not-your-issue", "this document is issued already or not ready")
        document = s.get(Document, step.document_id)
        issue = s.get(DocumentIssue, step.document_id)
        assert document is not None and issue is not None
        document.status, document.issued_at, document.updated_at = DocumentStatus.DONE.value, now, now
        issue.issued_at = now


def recipients_of(instance: Instance, document_id: str) -> tuple[DocumentIssue | None, tuple[DocumentRecipient, ...]]:
    with instance.database.reading() as s:
        issue = s.get(DocumentIssue, document_id)
        recipients = tuple(
            s.scalars(
                select(DocumentRecipient)
                .where(DocumentRecipient.document_id == document_id)
                .order_by(DocumentRecipient.id)
            )
        )
        s.expunge_all()
    return issue, recipients


def received_by(
    person: Person, issue: DocumentIssue | None, recipients: Sequence[DocumentRecipient], own_uuid: str | None = None
) -> bool:
    """Whether the issued document went to ``person`` (by name) or to their own unit (that very unit, given
    ``own_uuid``: its entryUUID now; not a deleted unit that had its code)."""
    if issue is None or issue.issued_at is None:
        return False
    unit = person.unit.code if person.unit else None
    return any(
        (r.kind == RecipientKind.OFFICIAL.value and r.reference == person.entry_uuid)
        or (
            r.kind == RecipientKind.UNIT.value
            and unit is not None
            and r.reference == unit
            and (own_uuid is None or same_unit(r.unit_uuid, own_uuid))
        )
        for r in recipients
    )
