"""The workflow's e-mails: an official is told when a document awaits them (review, signature, number and seal,
issue), its drafter when it is rejected (with the reviewer's comment) or finished, and each official named as a
recipient when it is issued.

A unit named as a recipient gets no e-mail: a mass mail to every official of a unit would drown the one that
matters, and the inbox's "received" box is their notice. Everything after the workflow's change happens on the
mailer's thread: the service only queues one job per event (:meth:`Mailer.submit`, which never blocks nor raises),
and that job reads the document, finds the officials (a group step's members working in its unit, as reminders
do) and sends. The job may run well after the event (a busy machine): what it announces is decided by what the
event did, never by how far the workflow has gone since — a reviewer who reviewed before her letter was composed
still gets it (she got none, and no failure was audited, when the job looked for a step still waiting). A server
that refuses a message loses that e-mail — logged and audited ``signing:mail:failure`` —, never the workflow.
``[documents] notify_by_mail = false`` turns them off.
"""

from __future__ import annotations

import enum
import logging
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from antin.kernel.audit.events import AuditEvent
from antin.kernel.database import log_failure
from antin.kernel.instance import Instance
from antin.kernel.mail import Mail, mailer_for
from directory.models import Person
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
from signing.documents.reminders import VIETNAM, assignees
from signing.documents.settings import DocumentSettings
from signing.models import aware

__all__ = ["CREATED", "Notice", "WorkflowMail", "letters_for", "mail_workflow_event"]

log = logging.getLogger(__name__)

CREATED = "document.created"  # told to this module only: the requests API's webhooks have no such event


class Notice(enum.StrEnum):
    AWAITS = "awaits"  # a step became active: its official, or its group's members
    REJECTED = "rejected"  # to the drafter, with the comment
    FINISHED = "finished"  # signed (or issued): to the drafter
    RECEIVED = "received"  # issued: to an official named as a recipient


@dataclass(frozen=True)
class WorkflowMail:
    notice: Notice
    person: Person
    mail: Mail


def mail_workflow_event(instance: Instance, document_id: str, event: str, step: DocumentStep | None) -> None:
    """Queue the e-mails an event of the workflow calls for; returns at once, never raises."""
    try:
        if not instance.settings.section(DocumentSettings).notify_by_mail:
            return
        mailer = mailer_for(instance)
        step_id = step.id if step is not None else None

        def send_all() -> None:  # on the mailer's thread: composes and sends each; None: nothing more to send
            for letter in letters_for(instance, document_id, event, step_id):
                _send(instance, document_id, letter)

        mailer.submit(send_all)
    except Exception:  # an e-mail is never worth an error page after the official's action was recorded
        log.exception("the e-mails of %s for document %s could not be queued", event, document_id)


def _send(instance: Instance, document_id: str, letter: WorkflowMail) -> None:
    try:
        mailer_for(instance).deliver(letter.mail)
    except (OSError, smtplib.SMTPException) as err:
        reason = f"{type(err).__name__}: {err}"
        log.warning("the %s e-mail of document %s was not sent: %s", letter.notice.value, document_id, reason)
        try:
            instance.audit.record(
                AuditEvent.SIGNING_MAIL_FAILURE,
                actor="system",
                subject=f"document:{document_id}",
                details={"notice": letter.notice.value, "to": letter.person.uid, "error": reason[:200]},
            )
        except Exception as audit_err:  # the warning above stands; the event's other letters are still sent
            log_failure(log, audit_err, "the failure of the %s e-mail of document %s", letter.notice.value, document_id)


# -- who is told what ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    document: Document
    steps: list[DocumentStep]
    issue: DocumentIssue | None
    recipients: list[DocumentRecipient]

    @property
    def number(self) -> str:
        return (self.issue.number if self.issue is not None and self.issue.number else "") or self.document.number


def _facts(instance: Instance, document_id: str) -> _Facts | None:
    with instance.database.reading() as s:
        document = s.get(Document, document_id)
        if document is None:
            return None
        steps = list(
            s.scalars(
                select(DocumentStep).where(DocumentStep.document_id == document_id).order_by(DocumentStep.position)
            )
        )
        issue = s.get(DocumentIssue, document_id)
        recipients = list(s.scalars(select(DocumentRecipient).where(DocumentRecipient.document_id == document_id)))
        s.expunge_all()
    return _Facts(document, steps, issue, recipients)


def letters_for(instance: Instance, document_id: str, event: str, step_id: int | None) -> Iterator[WorkflowMail]:
    """The e-mails an event calls for, to officials who have an address."""
    facts = _facts(instance, document_id)
    if facts is None:
        return
    link = f"{instance.settings.core.issuer}/documents/{document_id}"
    done = next((st for st in facts.steps if st.id == step_id), None)
    if event in (CREATED, "request.resent", "step.completed"):
        for activated in _activated(facts, event, done):
            for person in assignees(instance, activated):
                yield from _letter(Notice.AWAITS, person, _awaits(facts, activated, person, link))
    elif event == "request.rejected":
        drafter = _drafter(instance, facts.document)
        if drafter is not None and done is not None:
            by = _official(instance, done.acted_by)
            rejecter = by.full_name if by is not None else done.assignee_name or ""
            yield from _letter(Notice.REJECTED, drafter, _rejected(facts, drafter, rejecter, done.comment or "", link))
    elif event == "request.finished" and facts.document.status == DocumentStatus.DONE.value:
        drafter = _drafter(instance, facts.document)
        last = facts.steps[-1] if facts.steps else None
        if drafter is not None and (last is None or last.acted_by != drafter.entry_uuid):  # who signed last knows
            yield from _letter(Notice.FINISHED, drafter, _finished(facts, drafter, link))
        if facts.issue is not None and facts.issue.issued_at is not None:
            for person in _named_recipients(instance, facts):
                yield from _letter(Notice.RECEIVED, person, _received(facts, person, link))


def _activated(facts: _Facts, event: str, done: DocumentStep | None) -> list[DocumentStep]:
    """The step this event made active, found by position (fixed: a new round's steps come after the old ones). The
    job may read it after its official has acted (done or rejected: still announced, the event did make it their
    turn); a step skipped since (the document cancelled) or still waiting is not announced."""
    if event == "step.completed":
        if done is None:
            return []
        later = [st for st in facts.steps if st.position > done.position]
        candidate = later[0] if later else None
    elif event == "request.resent" and done is not None:
        candidate = done
    else:  # the upload: the first step
        candidate = facts.steps[0] if facts.steps else None
    never_active = (StepStatus.WAITING.value, StepStatus.SKIPPED.value)
    return [candidate] if candidate is not None and candidate.status not in never_active else []


def _drafter(instance: Instance, document: Document) -> Person | None:
    if document.created_by.startswith("client:"):
        return None  # an application's request: its webhook tells it
    return _official(instance, document.created_by)


def _official(instance: Instance, sub: str | None) -> Person | None:
    from directory.instance import directory_service

    person = directory_service(instance).find_by_uuid(sub) if sub else None
    return person if person is not None and person.active else None


def _named_recipients(instance: Instance, facts: _Facts) -> list[Person]:
    from directory.instance import directory_service

    directory = directory_service(instance)
    found = (directory.find_by_uuid(r.reference) for r in facts.recipients if r.kind == RecipientKind.OFFICIAL.value)
    return [p for p in found if p is not None and p.active]


def _letter(notice: Notice, person: Person, parts: tuple[str, str, str, str]) -> Iterator[WorkflowMail]:
    if not person.mail:
        return
    vi_subject, en_subject, vi, en = parts
    yield WorkflowMail(notice, person, Mail(person.mail, f"Ấn Tín: {vi_subject} / {en_subject}", _body(person, vi, en)))


# -- the words ----------------------------------------------------------------------------------------------

_AWAITS = {
    StepKind.REVIEW.value: ("Văn bản chờ đồng chí cho ý kiến", "A document awaits your review"),
    StepKind.SIGN.value: ("Văn bản chờ đồng chí ký", "A document awaits your signature"),
    StepKind.SEAL.value: ("Văn bản chờ cấp số và đóng dấu", "A document awaits its number and seal"),
    StepKind.ISSUE.value: ("Văn bản chờ ban hành", "A document awaits issue"),
}


def _when(at: datetime) -> str:
    return aware(at).astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M (UTC+7)")


def _named(facts: _Facts) -> str:
    return facts.document.title + (f" ({facts.number})" if facts.number else "")


def _body(person: Person, vi: str, en: str) -> str:
    return "\n\n".join(
        ("(English below)", f"Kính gửi đồng chí {person.full_name},", vi, "-" * 40, f"Dear {person.full_name},", en)
    )


def _awaits(facts: _Facts, step: DocumentStep, person: Person, link: str) -> tuple[str, str, str, str]:
    vi_subject, en_subject = _AWAITS.get(step.kind, (step.kind, step.kind))
    title, drafter = _named(facts), facts.document.created_by_name
    vi = [f"{vi_subject}: «{title}».", f"Người soạn thảo: {drafter}."]
    en = [f"{en_subject}: “{title}”.", f"Drafted by: {drafter}."]
    if step.deadline is not None:
        vi.append(f"Hạn xử lý: {_when(step.deadline)}.")
        en.append(f"Due by: {_when(step.deadline)}.")
    vi.append(f"Mở văn bản: {link}")
    en.append(f"Open the document: {link}")
    return f"{vi_subject}: {facts.document.title}", en_subject, "\n".join(vi), "\n".join(en)


def _rejected(facts: _Facts, person: Person, by: str, comment: str, link: str) -> tuple[str, str, str, str]:
    title = _named(facts)
    vi_by, en_by = (f" bởi {by}", f" by {by}") if by else ("", "")
    vi = f"Văn bản «{title}» bị trả lại{vi_by}.\nÝ kiến: {comment}\nMở văn bản: {link}"
    en = f"The document “{title}” was rejected{en_by}.\nComment: {comment}\nOpen the document: {link}"
    return f"Văn bản bị trả lại: {facts.document.title}", "A document was rejected", vi, en


def _finished(facts: _Facts, person: Person, link: str) -> tuple[str, str, str, str]:
    title = _named(facts)
    if facts.issue is not None and facts.issue.issued_at is not None:
        vi = f"Văn bản «{title}» đã được ban hành.\nMở văn bản: {link}"
        en = f"The document “{title}” has been issued.\nOpen the document: {link}"
        return f"Văn bản đã ban hành: {facts.document.title}", "A document was issued", vi, en
    vi = f"Văn bản «{title}» đã được ký xong.\nMở văn bản: {link}"
    en = f"The document “{title}” is signed.\nOpen the document: {link}"
    return f"Văn bản đã ký xong: {facts.document.title}", "A document is signed", vi, en


def _received(facts: _Facts, person: Person, link: str) -> tuple[str, str, str, str]:
    title, unit = _named(facts), facts.issue.unit_name if facts.issue is not None else ""
    vi = f"Đồng chí nhận được văn bản «{title}» do {unit} ban hành.\nMở văn bản: {link}"
    en = f"You have received the document “{title}” issued by {unit}.\nOpen the document: {link}"
    return f"Văn bản đến: {facts.document.title}", "A document was sent to you", vi, en
