"""The officials' documents in SQL: a document, its versions (each file it has been) and its ordered steps.

A workflow is the list of steps (``review``, ``sign``, ``seal``, ``issue``) in ``position`` order; one is
``active`` at a time. The single-signer journey is a document with one ``sign`` step; reviews, the records
office's seal and issuing are more rows of the same table, so a workflow adds rows, not columns. The files are
on disk (``<data_dir>/documents/<id>/v<number>.pdf``); a version row keeps their digest.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from antin.kernel.database import Base, utcnow

__all__ = [
    "Document",
    "DocumentIssue",
    "DocumentRecipient",
    "DocumentReminder",
    "DocumentStatus",
    "DocumentStep",
    "DocumentVersion",
    "RecipientKind",
    "ReminderKind",
    "StepKind",
    "StepStatus",
]


class DocumentStatus(enum.StrEnum):
    DRAFT = "draft"  # uploaded, no step started
    IN_PROGRESS = "in_progress"  # a step is active
    DONE = "done"  # every step done
    REJECTED = "rejected"  # a reviewer rejected it
    CANCELLED = "cancelled"


class StepKind(enum.StrEnum):
    REVIEW = "review"
    SIGN = "sign"
    SEAL = "seal"
    ISSUE = "issue"


class StepStatus(enum.StrEnum):
    WAITING = "waiting"  # an earlier step is not done
    ACTIVE = "active"  # the assignee's turn
    SIGNING = "signing"  # the assignee confirmed; the signature is being made (back to active if it fails)
    DONE = "done"
    REJECTED = "rejected"
    SKIPPED = "skipped"


class RecipientKind(enum.StrEnum):
    UNIT = "unit"  # every official whose own unit it is
    OFFICIAL = "official"


class Document(Base):
    __tablename__ = "signing_document"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, URL-safe
    unit_code: Mapped[str] = mapped_column(String(64), index=True)  # the unit it belongs to (its drafter's)
    unit_uuid: Mapped[str | None] = mapped_column(String(64), default=None)  # that unit's entryUUID at upload
    title: Mapped[str] = mapped_column(String(255))
    number: Mapped[str] = mapped_column(String(64), default="")  # số, ký hiệu (given at issue, or by the drafter)
    file_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.DRAFT.value, index=True)
    created_by: Mapped[str] = mapped_column(String(64), index=True)  # the drafter's sub (entryUUID)
    created_by_name: Mapped[str] = mapped_column(String(200))
    pages: Mapped[int] = mapped_column(Integer)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)  # ngày ban hành
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class DocumentVersion(Base):
    """One file the document has been: the upload (1), then one per signature or seal applied."""

    __tablename__ = "signing_document_version"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("signing_document.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    signature_reference: Mapped[str | None] = mapped_column(String(36), default=None)  # SignatureRecord.id
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DocumentStep(Base):
    """One step of the document's workflow, for one official (``assignee``) or a group (``assignee_group``)."""

    __tablename__ = "signing_document_step"
    __table_args__ = (UniqueConstraint("document_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("signing_document.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    # one official (their sub, login and name)…
    assignee: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    assignee_login: Mapped[str] = mapped_column(String(64), default="")
    assignee_name: Mapped[str] = mapped_column(String(200), default="")
    # …or any member of a directory group (a unit's records office, its leaders, see groups.py): who acts is in acted_by
    assignee_group: Mapped[str | None] = mapped_column(String(128), index=True, default=None)
    # the group's unit: only members working in it (their unit path contains it) act; the records office's issuing unit
    assignee_unit: Mapped[str | None] = mapped_column(String(64), default=None)
    # that unit's entryUUID when planned: a new unit given a deleted unit's code does not act on its steps
    assignee_unit_uuid: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.WAITING.value, index=True)
    # where the visible signature goes (PDF points, 1-based page); none: the default place
    page: Mapped[int | None] = mapped_column(Integer, default=None)
    x: Mapped[float | None] = mapped_column(Float, default=None)
    y: Mapped[float | None] = mapped_column(Float, default=None)
    width: Mapped[float | None] = mapped_column(Float, default=None)
    height: Mapped[float | None] = mapped_column(Float, default=None)
    reason: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")  # a reviewer's approval or rejection note
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None, index=True)
    # 1, then one more each time the drafter re-sends a rejected document (the steps are copied, the old kept)
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    acted_by: Mapped[str | None] = mapped_column(String(64), default=None)  # the sub of who did it
    acted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class ReminderKind(enum.StrEnum):
    DUE_SOON = "due_soon"  # ``[documents] remind_before_hours`` before the deadline
    OVERDUE = "overdue"  # the deadline passed with the step still active


class DocumentReminder(Base):
    """A reminder sent about one step's deadline. The row is the claim: the unique key lets one process (or run)
    only insert it, so that two servers, or a cron run beside a server, never send the same reminder twice."""

    __tablename__ = "signing_document_reminder"
    __table_args__ = (UniqueConstraint("step_id", "kind", "deadline"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("signing_document_step.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("signing_document.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # a deadline moved later is reminded again
    recipients: Mapped[str] = mapped_column(Text, default="")  # the subs reminded, space-separated
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DocumentIssue(Base):
    """The register entry (sổ văn bản đi) of a document the records office seals and issues: the issuing unit, its
    records-office group, and — once the seal step gives them — the number and date, unique per unit and year."""

    __tablename__ = "signing_document_issue"
    # one register per unit and year: a unit's code reused by a new unit starts a new register (unit_uuid)
    __table_args__ = (UniqueConstraint("unit_code", "unit_uuid", "year", "number_key"),)

    document_id: Mapped[str] = mapped_column(ForeignKey("signing_document.id", ondelete="CASCADE"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)  # the unit whose seal it bears
    unit_name: Mapped[str] = mapped_column(String(255))
    unit_uuid: Mapped[str | None] = mapped_column(String(64), default=None)  # its entryUUID at upload
    records_office: Mapped[str] = mapped_column(String(128))  # the directory group that seals and issues
    number: Mapped[str | None] = mapped_column(String(64), default=None)  # số, ký hiệu as written: 12/QĐ-TU
    number_key: Mapped[str | None] = mapped_column(String(64), default=None)  # the same, folded for uniqueness
    year: Mapped[int | None] = mapped_column(Integer, default=None)  # of the date of issue
    issued_on: Mapped[date | None] = mapped_column(Date, default=None)  # ngày ban hành
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)  # sent to recipients


class DocumentRecipient(Base):
    """Who an issued document goes to: a unit (its officials) or one official; they read it, nothing more."""

    __tablename__ = "signing_document_recipient"
    __table_args__ = (UniqueConstraint("document_id", "kind", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("signing_document.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64), index=True)  # the unit's code or the official's sub
    unit_uuid: Mapped[str | None] = mapped_column(String(64), default=None)  # a unit's entryUUID when addressed
    label: Mapped[str] = mapped_column(String(255))  # the unit's or official's name, as shown
