"""The officials' documents as lists: the inbox's boxes and the history and activity read from the audit chain.

Read-only queries of :class:`~signing.documents.service.DocumentService` (a mixin, so that the service keeps
one name for callers): who may see what is the service's :meth:`view`; these lists apply the same rule.
"""

from __future__ import annotations

import json

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from antin.kernel.audit.models import AuditEntry
from antin.kernel.instance import Instance
from directory.models import Person
from signing.documents.groups import group_steps
from signing.documents.models import (
    Document,
    DocumentIssue,
    DocumentRecipient,
    DocumentStatus,
    DocumentStep,
    RecipientKind,
    StepStatus,
)
from signing.documents.records import DocumentView, HistoryEntry, InboxPage
from signing.documents.settings import DocumentSettings
from signing.documents.unit_bindings import path_identities
from signing.models import aware

__all__ = ["BOXES", "DocumentQueries", "person_unit"]

BOXES = ("awaiting", "sent", "received", "done")


def person_unit(person: Person) -> str:
    return person.unit.code if person.unit else ""


def same_unit_sql(column: InstrumentedAttribute[str | None], own_uuid: str | None) -> ColumnElement[bool]:
    """A row bound to the official's own unit now (or not bound yet): not a deleted unit's that had its code."""
    return or_(column.is_(None), column == own_uuid) if own_uuid else column.is_(None)


def received_documents(official: Person, own_uuid: str | None = None) -> Select[str]:
    """Ids of the documents issued to the official by name or to their own unit (that very unit: ``own_uuid``)."""
    unit = person_unit(official)
    addressed = and_(
        DocumentRecipient.kind == RecipientKind.OFFICIAL.value, DocumentRecipient.reference == official.entry_uuid
    )
    if unit:
        addressed = or_(
            addressed,
            and_(
                DocumentRecipient.kind == RecipientKind.UNIT.value,
                DocumentRecipient.reference == unit,
                same_unit_sql(DocumentRecipient.unit_uuid, own_uuid),
            ),
        )
    return (
        select(DocumentRecipient.document_id)
        .join(DocumentIssue, DocumentIssue.document_id == DocumentRecipient.document_id)
        .where(addressed, DocumentIssue.issued_at.is_not(None))
    )


class DocumentQueries:
    instance: Instance

    def inbox(self, official: Person, box: str, *, query: str = "", page: int = 1) -> InboxPage:
        """``awaiting`` (a step of theirs, or of a group of theirs — their unit's leaders, its records office — is
        active), ``sent`` (they drafted it),
        ``received`` (issued to them or their unit) or ``done`` (finished or rejected, and drafted by them, reached
        a step of theirs, or their unit's); newest first, filtered by title or number."""
        me = official.entry_uuid
        path_uuids = path_identities(self.instance, official)
        own_uuid = path_uuids.get(person_unit(official).casefold())
        my_steps = select(DocumentStep.document_id).where(
            or_(DocumentStep.assignee == me, group_steps(official, path_uuids))
        )
        where: ColumnElement[bool]
        if box == "awaiting":
            active = my_steps.where(DocumentStep.status == StepStatus.ACTIVE.value)
            where = Document.id.in_(active)
        elif box == "sent":
            where = Document.created_by == me
        elif box == "received":
            where = Document.id.in_(received_documents(official, own_uuid))
        else:
            # the steps they reached: a signer after a rejection never had the document before them
            reached = my_steps.where(DocumentStep.status.not_in((StepStatus.WAITING.value, StepStatus.SKIPPED.value)))
            mine = or_(Document.created_by == me, Document.id.in_(reached))
            unit = person_unit(official)
            where = and_(
                Document.status.in_((DocumentStatus.DONE.value, DocumentStatus.REJECTED.value)),
                or_(mine, and_(Document.unit_code == unit, same_unit_sql(Document.unit_uuid, own_uuid)))
                if unit
                else mine,
            )
        if query.strip():
            pattern = "%" + query.strip().lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
            where = and_(
                where, or_(func.lower(Document.title).like(pattern), func.lower(Document.number).like(pattern))
            )
        size = self.instance.settings.section(DocumentSettings).page_size
        with self.instance.database.reading() as s:
            total = s.scalar(select(func.count()).select_from(Document).where(where)) or 0
            pages = max(1, -(-total // size))
            page = min(max(1, page), pages)
            items = tuple(
                s.scalars(
                    select(Document)
                    .where(where)
                    .order_by(Document.updated_at.desc())
                    .offset((page - 1) * size)
                    .limit(size)
                )
            )
            rejected = [d.id for d in items if d.status == DocumentStatus.REJECTED.value]
            rejecting = select(DocumentStep.document_id, DocumentStep.comment).where(
                DocumentStep.document_id.in_(rejected), DocumentStep.status == StepStatus.REJECTED.value
            )
            rejections = {document_id: comment for document_id, comment in s.execute(rejecting)}
            s.expunge_all()
        return InboxPage(items, total, page, pages, rejections)

    def history(self, view: DocumentView) -> list[HistoryEntry]:
        """The audit entries about the document, oldest first, with their place in the hash chain."""
        with self.instance.database.reading() as s:
            rows = s.scalars(
                select(AuditEntry).where(AuditEntry.subject == f"document:{view.id}").order_by(AuditEntry.seq)
            ).all()
            return [
                HistoryEntry(r.seq, aware(r.occurred_at), r.event, r.actor, json.loads(r.details), r.entry_hash)
                for r in rows
            ]

    def recent_activity(self, official: Person, *, limit: int = 8) -> list[tuple[Document, HistoryEntry]]:
        """What the official did last on documents they may still see: (document, entry), newest first."""
        with self.instance.database.reading() as s:
            rows = s.scalars(
                select(AuditEntry)
                .where(AuditEntry.actor == official.uid, AuditEntry.subject.like("document:%"))
                .order_by(AuditEntry.seq.desc())
                .limit(limit)
            ).all()
            ids = {(r.subject or "").removeprefix("document:") for r in rows}
            documents = {d.id: d for d in s.scalars(select(Document).where(Document.id.in_(ids)))}
            s.expunge_all()
            return [
                (
                    documents[(r.subject or "").removeprefix("document:")],
                    HistoryEntry(r.seq, aware(r.occurred_at), r.event, r.actor, json.loads(r.details), r.entry_hash),
                )
                for r in rows
                if (r.subject or "").removeprefix("document:") in documents
            ]
