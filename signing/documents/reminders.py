"""Deadlines and their reminders: the official whose step is active is reminded ``[documents] remind_before_hours``
before its deadline and once more when it is overdue, by e-mail and in their inbox.

Each reminder is sent once. The ``signing_document_reminder`` row is the claim: it is inserted before anything is
sent and its unique key (step, kind, deadline) lets only one inserter win, so two servers, a server's periodic job
beside a cron run of ``antin documents remind``, or the same run twice, never send it twice. A mail server that is
down loses that one e-mail (logged and audited), never the reminder in the inbox. :func:`send_reminders` is the
one entry point; :class:`ReminderJob` calls it every ``remind_every_minutes`` inside a server process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance
from antin.kernel.mail import Mail, mailer_for
from antin.kernel.periodic import PeriodicJob
from directory.models import Person
from directory.protocol import UserDirectory
from signing.documents.models import (
    Document,
    DocumentReminder,
    DocumentStatus,
    DocumentStep,
    ReminderKind,
    StepKind,
    StepStatus,
)
from signing.documents.settings import DocumentSettings
from signing.documents.unit_bindings import current_units
from signing.models import aware

__all__ = [
    "Due",
    "Reminder",
    "ReminderJob",
    "ReminderRun",
    "due_of",
    "reminder_job",
    "reminders_for",
    "send_reminders",
]

log = logging.getLogger(__name__)

EXTENSION_KEY = "antin.signing.reminders"
VIETNAM = timezone(timedelta(hours=7), "ICT")
BATCH = 500  # steps looked at per query: a backlog after a long stop is sent in rounds, not read whole


@dataclass(frozen=True)
class Reminder:
    """A reminder that was decided (its row inserted): what, to whom."""

    document_id: str
    title: str
    number: str
    step_position: int
    step_kind: str
    kind: ReminderKind
    deadline: datetime
    recipients: tuple[Person, ...]


@dataclass(frozen=True)
class ReminderRun:
    due_soon: int
    overdue: int
    mailed: int  # e-mails queued (officials with an address, mail on)

    def as_dict(self) -> dict[str, int]:
        return {"due_soon": self.due_soon, "overdue": self.overdue, "mailed": self.mailed}


# -- who and when -------------------------------------------------------------------------------------------


def _directory(instance: Instance) -> UserDirectory:
    from directory.instance import directory_service

    return directory_service(instance)


def assignees(instance: Instance, step: DocumentStep) -> tuple[Person, ...]:
    """The officials a step waits for: its one assignee, or the members of its directory group who work in its
    unit (those who may act on it)."""
    directory = _directory(instance)
    if step.assignee:
        person = directory.find_by_uuid(step.assignee)
        return (person,) if person is not None and person.active else ()
    members = getattr(directory, "group_members", None)
    if step.assignee_group and callable(members):
        unit = step.assignee_unit
        if unit is not None and step.assignee_unit_uuid is not None:
            now_uuid = current_units(instance, [unit]).get(unit.casefold())
            if not step.assignee_unit_uuid or now_uuid != step.assignee_unit_uuid:
                return ()  # its unit is gone (a unit given its code since is another): nobody acts on it
        people = (p for p in members(step.assignee_group) if isinstance(p, Person) and p.active)
        return tuple(p for p in people if unit is None or any(u.code == unit for u in p.unit_path))
    return ()


def _kind_due(step: DocumentStep, now: datetime, before: timedelta) -> ReminderKind | None:
    assert step.deadline is not None
    deadline = aware(step.deadline)
    if deadline <= now:
        return ReminderKind.OVERDUE
    if before and deadline - before <= now:
        return ReminderKind.DUE_SOON
    return None


# -- the run ------------------------------------------------------------------------------------------------


def send_reminders(instance: Instance, *, now: datetime | None = None) -> ReminderRun:
    """Remind every active step whose deadline is near or past, once per kind; return what was sent."""
    settings = instance.settings.section(DocumentSettings)
    now = now or instance.clock.now()
    before = timedelta(hours=settings.remind_before_hours)
    counts = {ReminderKind.DUE_SOON: 0, ReminderKind.OVERDUE: 0}
    mailed = 0
    after_id = 0
    while True:
        steps = _active_steps_with_deadlines(instance, now + before, after_id)
        if not steps:
            break
        after_id = steps[-1][0].id
        sent = _sent_already(instance, [step.id for step, _document in steps])
        for step, document in steps:
            kind = _kind_due(step, now, before)
            if kind is None or (step.id, kind.value) in sent:
                continue
            reminder = _claim(instance, step, document, kind, now)
            if reminder is None:
                continue
            counts[kind] += 1
            mailed += _mail(instance, reminder)
            _audit(instance, reminder)
    return ReminderRun(counts[ReminderKind.DUE_SOON], counts[ReminderKind.OVERDUE], mailed)


def _active_steps_with_deadlines(
    instance: Instance, until: datetime, after_id: int
) -> list[tuple[DocumentStep, Document]]:
    with instance.database.reading() as s:
        rows = s.execute(
            select(DocumentStep, Document)
            .join(Document, Document.id == DocumentStep.document_id)
            .where(
                DocumentStep.status == StepStatus.ACTIVE.value,
                DocumentStep.deadline.is_not(None),
                DocumentStep.deadline <= until,
                Document.status == DocumentStatus.IN_PROGRESS.value,
                DocumentStep.id > after_id,
            )
            .order_by(DocumentStep.id)
            .limit(BATCH)
        ).all()
        s.expunge_all()
    return [(step, document) for step, document in rows]


def _sent_already(instance: Instance, step_ids: list[int]) -> set[tuple[int, str]]:
    """The (step, kind) reminders sent for these steps' current deadlines: a later run skips them in one query
    (the unique key still settles a race between two runs)."""
    with instance.database.reading() as s:
        rows = s.execute(
            select(DocumentReminder.step_id, DocumentReminder.kind)
            .join(DocumentStep, DocumentStep.id == DocumentReminder.step_id)
            .where(DocumentReminder.step_id.in_(step_ids), DocumentReminder.deadline == DocumentStep.deadline)
        ).all()
    return {(step_id, kind) for step_id, kind in rows}


def _claim(
    instance: Instance, step: DocumentStep, document: Document, kind: ReminderKind, now: datetime
) -> Reminder | None:
    """Insert the reminder's row; None when another process (or an earlier run) has it already."""
    assert step.deadline is not None
    people = assignees(instance, step)
    try:
        with instance.database.session() as s:
            s.add(
                DocumentReminder(
                    step_id=step.id,
                    document_id=document.id,
                    kind=kind.value,
                    deadline=step.deadline,
                    recipients=" ".join(p.entry_uuid for p in people),
                    sent_at=now,
                )
            )
    except IntegrityError:
        return None
    return Reminder(
        document.id,
        document.title,
        document.number,
        step.position,
        step.kind,
        kind,
        aware(step.deadline),
        people,
    )


def _audit(instance: Instance, reminder: Reminder) -> None:
    instance.audit.record(
        AuditEvent.SIGNING_DOCUMENT_REMIND,
        actor="system",
        subject=f"document:{reminder.document_id}",
        details={
            "step": reminder.step_position,
            "reminder": reminder.kind.value,
            "deadline": reminder.deadline.isoformat(),
            "to": [p.uid for p in reminder.recipients],
        },
    )


# -- the e-mail ---------------------------------------------------------------------------------------------

_SUBJECTS = {
    ReminderKind.DUE_SOON: ("Văn bản sắp đến hạn xử lý", "A document is due soon"),
    ReminderKind.OVERDUE: ("Văn bản đã quá hạn xử lý", "A document is overdue"),
}
_WHAT = {
    StepKind.REVIEW.value: ("cho ý kiến (duyệt)", "your review"),
    StepKind.SIGN.value: ("ký", "your signature"),
    StepKind.SEAL.value: ("đóng dấu", "the unit's seal"),
    StepKind.ISSUE.value: ("ban hành", "issuing"),
}


def compose(reminder: Reminder, person: Person, link: str) -> Mail:
    """The reminder to one official: Vietnamese first, English below (a cron run knows no browser's language)."""
    when = reminder.deadline.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M (UTC+7)")
    vi_what, en_what = _WHAT.get(reminder.step_kind, (reminder.step_kind, reminder.step_kind))
    title = reminder.title + (f" ({reminder.number})" if reminder.number else "")
    if reminder.kind == ReminderKind.OVERDUE:
        vi = f"Văn bản «{title}» chờ đồng chí {vi_what} đã quá hạn lúc {when}."
        en = f"The document “{title}” waiting for {en_what} was due at {when} and is overdue."
    else:
        vi = f"Văn bản «{title}» đang chờ đồng chí {vi_what}. Hạn xử lý: {when}."
        en = f"The document “{title}” is waiting for {en_what}. It is due at {when}."
    body = "\n\n".join(
        (
            "(English below)",
            f"Kính gửi đồng chí {person.full_name},",
            vi,
            f"Mở văn bản: {link}",
            "-" * 40,
            f"Dear {person.full_name},",
            en,
            f"Open the document: {link}",
        )
    )
    vi_subject, en_subject = _SUBJECTS[reminder.kind]
    return Mail(person.mail or "", f"Ấn Tín: {vi_subject}: {reminder.title} / {en_subject}", body)


def _mail(instance: Instance, reminder: Reminder) -> int:
    mailer = mailer_for(instance)
    if not mailer.enabled:
        return 0
    link = f"{instance.settings.core.issuer}/documents/{reminder.document_id}"
    queued = 0
    for person in reminder.recipients:
        if not person.mail:
            continue

        def failed(mail: Mail, error: str | None, who: str = person.uid) -> None:
            if error is not None:
                instance.audit.record(
                    AuditEvent.SIGNING_MAIL_FAILURE,
                    actor="system",
                    subject=f"document:{reminder.document_id}",
                    details={"reminder": reminder.kind.value, "to": who, "error": error[:200]},
                )

        message = compose(reminder, person, link)

        def composed(m: Mail = message) -> Mail:
            return m

        queued += mailer.submit(composed, on_done=failed)
    return queued


# -- in the inbox -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """An active step's deadline as the inbox shows it."""

    deadline: datetime
    overdue: bool
    soon: bool


def due_of(instance: Instance, documents: Iterable[Document]) -> dict[str, Due]:
    """The deadline of each document's active step (the earliest, if several), for the inbox's column."""
    ids = [d.id for d in documents]
    if not ids:
        return {}
    settings = instance.settings.section(DocumentSettings)
    now = instance.clock.now()
    before = timedelta(hours=settings.remind_before_hours)
    with instance.database.reading() as s:
        rows = s.execute(
            select(DocumentStep.document_id, DocumentStep.deadline).where(
                DocumentStep.document_id.in_(ids),
                DocumentStep.status.in_((StepStatus.ACTIVE.value, StepStatus.SIGNING.value)),
                DocumentStep.deadline.is_not(None),
            )
        ).all()
    found: dict[str, Due] = {}
    for document_id, deadline in rows:
        if deadline is None:
            continue
        at = aware(deadline)
        if document_id not in found or at < found[document_id].deadline:
            found[document_id] = Due(at, at <= now, now < at <= now + before)
    return found


def reminders_for(instance: Instance, official: Person, *, limit: int = 20) -> list[tuple[Document, DocumentReminder]]:
    """The reminders sent to the official about steps still waiting for them, newest first."""
    me = official.entry_uuid
    with instance.database.reading() as s:
        rows = s.execute(
            select(Document, DocumentReminder)
            .join(DocumentStep, DocumentStep.id == DocumentReminder.step_id)
            .join(Document, Document.id == DocumentReminder.document_id)
            .where(
                DocumentStep.status == StepStatus.ACTIVE.value,
                DocumentStep.deadline == DocumentReminder.deadline,
                or_(
                    DocumentStep.assignee == me,
                    and_(DocumentStep.assignee.is_(None), DocumentReminder.recipients.contains(me)),
                ),
            )
            .order_by(DocumentReminder.id.desc())
            .limit(limit)
        ).all()
        s.expunge_all()
    latest: dict[str, tuple[Document, DocumentReminder]] = {}
    for document, reminder in rows:
        latest.setdefault(document.id, (document, reminder))  # the newest per document: overdue after due soon
    return list(latest.values())


# -- inside a server process ----------------------------------------------------------------------------------


class ReminderJob(PeriodicJob):
    """A thread per server process that calls :func:`send_reminders` every ``remind_every_minutes``: the claim
    in SQL keeps several processes (gunicorn workers, hosts) from sending one reminder twice."""

    thread_name = "antin-reminders"

    def __init__(self, instance: Instance) -> None:
        super().__init__(instance.settings.section(DocumentSettings).remind_every_minutes * 60.0)
        self.instance = instance
        self.runs = 0
        self._warned = False

    def tick(self) -> None:
        try:
            send_reminders(self.instance)
            self._warned = False
        except SQLAlchemyError as err:
            if not self._warned:  # no tables yet (before `antin db upgrade`): say so once
                log.warning("the documents' reminders cannot be read: %s", type(err).__name__)
            self._warned = True
        except Exception:
            log.exception("sending the documents' reminders failed")
        self.runs += 1


def reminder_job(instance: Instance) -> ReminderJob:
    return instance.service(EXTENSION_KEY, ReminderJob)
