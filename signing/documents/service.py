"""The officials' documents: upload, what an official may see, their inbox, placement, signing, history.

Reached with :func:`document_service`. Pure of Flask: the portal's views turn HTTP into these calls. Every change
is written to the audit trail with the subject ``document:<id>``; the history page reads those entries back,
with their place in the hash chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from antin.kernel.audit.events import AuditEvent
from antin.kernel.database import log_failure
from antin.kernel.instance import Instance
from directory.models import Person
from signing.documents.errors import DocumentNotFoundError, StepNotActiveError, UploadRefusedError
from signing.documents.groups import Assignee, Planned, acts_for_group, assigned_to, named, planned, planned_deadlines
from signing.documents.models import (
    Document,
    DocumentStatus,
    DocumentStep,
    DocumentVersion,
    RecipientKind,
    StepKind,
    StepStatus,
)
from signing.documents.notifications import CREATED, mail_workflow_event
from signing.documents.placement import Box, clamp_box, default_box, default_seal_box, ink_under
from signing.documents.previews import Limits, PageSize, PreviewRenderer, page_sizes
from signing.documents.queries import BOXES, DocumentQueries, person_unit
from signing.documents.records import DocumentView, HistoryEntry, InboxPage, Placement
from signing.documents.records_office import (
    Issuing,
    Recipient,
    add_issuing,
    find_records_office,
    received_by,
    recipients_of,
    send_to_recipients,
)
from signing.documents.reviews import decide, normalise_comment
from signing.documents.settings import DocumentSettings
from signing.documents.signatures import DocumentSigning, document_subject
from signing.documents.unit_bindings import UNIT_GONE, current_units, path_identities, same_unit
from signing.errors import InvalidDocumentError

__all__ = [
    "BOXES",
    "DocumentService",
    "DocumentView",
    "HistoryEntry",
    "InboxPage",
    "Placement",
    "Recipient",
    "Sender",
    "document_service",
]

EXTENSION_KEY = "antin.signing.documents"
CHUNK = 1 << 16

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sender:
    """Who a document comes from: an official (their sub) or an application (``client:<id>``)."""

    id: str
    name: str
    unit_code: str  # the unit whose officials see it; none for an application's request (its signers only)
    actor: str  # as the audit trail names them


_purpose = document_subject


class DocumentService(DocumentQueries, DocumentSigning):
    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.root = instance.data_dir / "documents"
        # called with (document id, event, step) when a step is done or the document finished or cancelled: the
        # requests API turns these into webhooks; the workflow's e-mails are queued first
        self.listeners: list[Callable[[str, str, DocumentStep | None], None]] = [self._mail]

    @cached_property
    def settings(self) -> DocumentSettings:
        return self.instance.settings.section(DocumentSettings)

    @cached_property
    def renderer(self) -> PreviewRenderer:
        s = self.settings
        return PreviewRenderer(pixels=s.preview_pixels, seconds=s.preview_seconds, memory_mb=s.preview_memory_mb)

    @property
    def max_bytes(self) -> int:
        return self.settings.upload_max_mb * 1024 * 1024

    # -- upload ----------------------------------------------------------------------------------------

    def upload(
        self,
        drafter: Person,
        stream: IO[bytes],
        *,
        file_name: str,
        title: str = "",
        number: str = "",
        signer: Person | None = None,
        signers: Sequence[Assignee | Planned] = (),
        reviewers: Sequence[Assignee | Planned] = (),
        recipients: Sequence[Recipient] | None = None,
        deadline: datetime | None = None,
        ip: str | None = None,
    ) -> DocumentView:
        """Keep an official's PDF as a new document: the ``reviewers``' reviews in order, then the ``signers``'
        signatures (or ``signer``'s; the drafter's own by default) — each an official or a unit's leaders' group, due by
        its own deadline or the document's —, then — with ``recipients`` — the records
        office's seal and issue to them; each step due by ``deadline`` if given. :class:`UploadRefusedError` says
        why a file cannot be signed."""
        chosen = list(signers) or [signer or drafter]
        issuing = None
        if recipients is not None:
            if not recipients:
                raise UploadRefusedError("no-recipients", "name the units or officials the document is issued to")
            group, unit = find_records_office(self.instance, drafter)
            issuing = Issuing(group, unit, tuple(recipients))
        document_id = self.create(
            stream,
            file_name=file_name,
            title=title,
            number=number,
            sender=Sender(drafter.entry_uuid, drafter.full_name, person_unit(drafter), drafter.uid),
            signers=chosen,
            reviewers=reviewers,
            deadline=deadline,
            issuing=issuing,
            ip=ip,
        )
        return self.view(drafter, document_id)

    def create(
        self,
        stream: IO[bytes],
        *,
        file_name: str,
        title: str,
        number: str,
        sender: Sender,
        signers: Sequence[Assignee | Planned],
        reviewers: Sequence[Assignee | Planned] = (),
        deadline: datetime | None = None,
        issuing: Issuing | None = None,
        ip: str | None = None,
    ) -> str:
        """Keep a PDF as a new document whose steps are the ``reviewers``' reviews then the ``signers``'
        signatures, in that order (the first active; each an official or a group, due by its own deadline or by
        ``deadline``), then with ``issuing`` the records office's seal and issue steps;
        return its id. The sender is an official (the portal) or an
        application (the requests API)."""
        if not signers:
            raise ValueError("a document needs at least one signer")
        document_id = secrets.token_urlsafe(16)
        folder = self.root / document_id
        folder.mkdir(parents=True, exist_ok=True)
        try:
            path, digest, size = self._store(stream, folder / "v1.pdf")
            facts = self._inspect(path)
            sizes = page_sizes(path, facts.pages, self._limits)
            (folder / "pages.json").write_text(json.dumps([[s.width, s.height] for s in sizes]))
        except BaseException:
            for leftover in folder.glob("*"):
                leftover.unlink()
            folder.rmdir()
            raise
        now = self.instance.clock.now()
        name = Path(file_name).name[:255] or "document.pdf"
        document = Document(
            id=document_id,
            unit_code=sender.unit_code,
            title=(title.strip() or Path(name).stem)[:255],
            number=number.strip()[:64],
            file_name=name,
            status=DocumentStatus.IN_PROGRESS.value,
            created_by=sender.id,
            created_by_name=sender.name,
            pages=facts.pages,
            current_version=1,
            created_at=now,
            updated_at=now,
        )
        steps = [(StepKind.REVIEW, planned(p)) for p in reviewers] + [(StepKind.SIGN, planned(p)) for p in signers]
        # group steps and the register are bound to their units' entryUUIDs now (one search for them all)
        codes = [p.assignee.unit.code for _, p in steps if not isinstance(p.assignee, Person)]
        if issuing is not None:
            codes += [issuing.unit.code, *(r.reference for r in issuing.recipients if r.kind == RecipientKind.UNIT)]
        units = current_units(self.instance, [*codes, *([sender.unit_code] if sender.unit_code else [])])
        document.unit_uuid = units.get(sender.unit_code.casefold()) if sender.unit_code else None
        with self.instance.database.session() as s:
            s.add(document)
            s.flush()
            s.add(DocumentVersion(document_id=document_id, number=1, sha256=digest, size=size, created_by=sender.id))
            for position, (kind, plan) in enumerate(steps, start=1):
                s.add(
                    DocumentStep(
                        document_id=document_id,
                        position=position,
                        kind=kind.value,
                        **assigned_to(plan.assignee, units),
                        status=(StepStatus.ACTIVE if position == 1 else StepStatus.WAITING).value,
                        deadline=plan.deadline or deadline,
                    )
                )
            if issuing is not None:
                for position, kind in enumerate((StepKind.SEAL, StepKind.ISSUE), start=len(steps) + 1):
                    s.add(
                        DocumentStep(
                            document_id=document_id,
                            position=position,
                            kind=kind.value,
                            assignee_group=issuing.group,
                            assignee_unit=issuing.unit.code,
                            assignee_unit_uuid=units.get(issuing.unit.code.casefold(), UNIT_GONE),
                            assignee_name=issuing.unit.name[:200],
                            status=StepStatus.WAITING.value,
                            deadline=deadline,
                        )
                    )
        if issuing is not None:
            add_issuing(self.instance, document_id, issuing, units)
        self.instance.audit.record(
            AuditEvent.SIGNING_DOCUMENT_UPLOAD,
            actor=sender.actor,
            subject=_purpose(document_id),
            ip=ip,
            details={
                "title": document.title,
                "file": name,
                "sha256": digest,
                "bytes": size,
                "pages": facts.pages,
                "signer": named(signers[0]) if len(signers) == 1 else [named(p) for p in signers],
                **({"reviewers": [named(p) for p in reviewers]} if reviewers else {}),
                **({"step_deadlines": deadlines} if (deadlines := planned_deadlines(reviewers, signers)) else {}),
                **({"deadline": deadline.isoformat()} if deadline else {}),
                **(
                    {
                        "records_office": issuing.group,
                        "issuing_unit": issuing.unit.code,
                        "recipients": [f"{r.kind.value}:{r.label}" for r in issuing.recipients],
                    }
                    if issuing
                    else {}
                ),
            },
        )
        self._mail(document_id, CREATED, None)  # the first step's official is told (no webhook has this event)
        return document_id

    def cancel(self, document_id: str, *, actor: str, ip: str | None = None) -> bool:
        """Stop a document that is not finished: its waiting and active steps are skipped (out of every inbox).
        False when it was finished (done, rejected or cancelled) already."""
        now = self.instance.clock.now()
        with self.instance.database.session() as s:
            document = s.get(Document, document_id)
            if document is None or document.status not in (DocumentStatus.IN_PROGRESS, DocumentStatus.DRAFT):
                return False
            steps = s.scalars(select(DocumentStep).where(DocumentStep.document_id == document_id)).all()
            if any(st.status == StepStatus.SIGNING.value for st in steps):
                return False  # a signature is being made this very moment: it finishes first
            for st in steps:
                if st.status in (StepStatus.WAITING.value, StepStatus.ACTIVE.value):
                    st.status = StepStatus.SKIPPED.value
            document.status, document.updated_at = DocumentStatus.CANCELLED.value, now
        self.instance.audit.record(
            AuditEvent.SIGNING_DOCUMENT_CANCEL, actor=actor, subject=_purpose(document_id), ip=ip
        )
        self._notify(document_id, "request.cancelled", None)
        return True

    def _mail(self, document_id: str, event: str, step: DocumentStep | None) -> None:
        mail_workflow_event(self.instance, document_id, event, step)

    def _notify(self, document_id: str, event: str, step: DocumentStep | None) -> None:
        for listener in self.listeners:
            try:
                listener(document_id, event, step)
            except Exception as err:  # a listener's failure (a webhook queue) never undoes the official's signature
                log_failure(log, err, "a document listener failed on %s for %s", event, document_id)

    def _store(self, stream: IO[bytes], destination: Path) -> tuple[Path, str, int]:
        digest = hashlib.sha256()
        size = 0
        fd, temp = tempfile.mkstemp(dir=destination.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in iter(lambda: stream.read(CHUNK), b""):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadRefusedError("too-large", f"the limit is {self.settings.upload_max_mb} MB")
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise UploadRefusedError("empty", "the file is empty")
            os.replace(temp, destination)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return destination, digest.hexdigest(), size

    def _inspect(self, path: Path) -> Any:
        from signing.pades import inspect_pdf

        try:
            with open(path, "rb") as fh:
                facts = inspect_pdf(fh)
        except InvalidDocumentError as err:
            raise UploadRefusedError(err.reason, str(err)) from None
        if facts.locked:
            raise UploadRefusedError("locked", "a signature on it forbids any change: a new one would break it")
        if facts.pages < 1:
            raise UploadRefusedError("damaged", "the PDF has no pages")
        if facts.pages > self.settings.max_pages:
            raise UploadRefusedError("too-many-pages", f"the limit is {self.settings.max_pages} pages")
        return facts

    @property
    def _limits(self) -> Limits:
        return Limits(self.settings.preview_seconds, self.settings.preview_memory_mb)

    # -- what an official sees -------------------------------------------------------------------------

    def view(self, official: Person, document_id: str) -> DocumentView:
        """The document if ``official`` may see it: their unit's, or one with a step of theirs; else not found."""
        with self.instance.database.reading() as s:
            document = s.get(Document, document_id) if len(document_id) <= 32 else None
            if document is None:
                raise DocumentNotFoundError(document_id)
            steps = tuple(
                s.scalars(
                    select(DocumentStep).where(DocumentStep.document_id == document_id).order_by(DocumentStep.position)
                )
            )
            versions = tuple(
                s.scalars(
                    select(DocumentVersion)
                    .where(DocumentVersion.document_id == document_id)
                    .order_by(DocumentVersion.number)
                )
            )
            s.expunge_all()
        issue, recipients = (
            recipients_of(self.instance, document_id) if any(st.assignee_group for st in steps) else (None, ())
        )
        own = person_unit(official)
        unit_named = bool(own) and (document.unit_code == own or any(r.reference == own for r in recipients))
        wanted = unit_named or any(st.assignee_group for st in steps)
        path_uuids = path_identities(self.instance, official) if wanted else {}
        own_uuid = path_uuids.get(own.casefold()) if own else None
        issuing_unit = issue.unit_code if issue else None
        mine = [
            st
            for st in steps
            if st.assignee == official.entry_uuid or acts_for_group(official, st, issuing_unit, path_uuids)
        ]
        # their own unit's document: that very unit's, not a deleted unit's that had its code
        unit_document = document.unit_code == own and same_unit(document.unit_uuid, own_uuid)
        mine_by_unit = bool(document.unit_code) and unit_document
        received = received_by(official, issue, recipients, own_uuid)
        involved = mine_by_unit or bool(mine) or document.created_by == official.entry_uuid
        if not (involved or received):
            raise DocumentNotFoundError(document_id)
        active = next((st for st in mine if st.status == StepStatus.ACTIVE.value), None)
        return DocumentView(document, steps, versions, active, issue, recipients, received, received and not involved)

    # -- files and previews ----------------------------------------------------------------------------

    def file(self, view: DocumentView, version: int | None = None) -> Path:
        number = version or view.current.number
        return self.root / view.id / f"v{number}.pdf"

    def sizes(self, view: DocumentView) -> list[PageSize]:
        raw = json.loads((self.root / view.id / "pages.json").read_text())
        return [PageSize(float(w), float(h)) for w, h in raw]

    def preview(self, view: DocumentView, page: int) -> Path:
        """The PNG of ``page`` of the document's current version (cached); DocumentNotFoundError past its end."""
        if not 1 <= page <= view.document.pages:
            raise DocumentNotFoundError(f"{view.id}/{page}")
        number = view.current.number
        cache = self.root / view.id / "previews" / f"v{number}-p{page}-{self.settings.preview_pixels}.png"
        return self.renderer.render(self.file(view), page, cache)

    # -- placement -------------------------------------------------------------------------------------

    def placement(self, view: DocumentView, step: DocumentStep | None = None) -> Placement:
        """Where the step's signature goes (:meth:`box`) and how much of the page's content it would cover."""
        box, chosen = self.box(view, step)
        size = self.sizes(view)[box.page - 1]
        return Placement(box, size, ink_under(box, size, self.preview(view, box.page)), chosen)

    def box(self, view: DocumentView, step: DocumentStep | None = None) -> tuple[Box, bool]:
        """The place chosen for the step's signature (and True), else the default: the bottom of the last page."""
        sizes = self.sizes(view)
        step = step or view.my_step
        if step is not None and step.page is not None:
            chosen = Box(step.page, step.x or 0, step.y or 0, step.width or 0, step.height or 0)
            return clamp_box(chosen, sizes), True
        if step is not None and step.kind == StepKind.SEAL.value:
            return default_seal_box(sizes), False
        return default_box(sizes), False

    def place(self, official: Person, document_id: str, box: Box, *, ip: str | None = None) -> Placement:
        """Keep where the official put the signature box (moved onto the page if it was off it)."""
        view = self.view(official, document_id)
        step = self._my_active_step(view, (StepKind.SIGN, StepKind.SEAL))
        box = clamp_box(box, self.sizes(view))
        with self.instance.database.session() as s:
            row = s.get(DocumentStep, step.id)
            assert row is not None
            row.page, row.x, row.y, row.width, row.height = box.page, box.x, box.y, box.width, box.height
        placed = self.placement(self.view(official, document_id))
        self._audit(
            AuditEvent.SIGNING_DOCUMENT_PLACE,
            official,
            document_id,
            ip=ip,
            page=box.page,
            box=[box.x, box.y, box.width, box.height],
            covers_content=placed.covers_content,
        )
        return placed

    def _my_active_step(self, view: DocumentView, kinds: tuple[StepKind, ...]) -> DocumentStep:
        step = view.my_step
        if step is None or step.kind not in kinds:
            if kinds == (StepKind.REVIEW,):
                raise StepNotActiveError("not-your-review", "nothing to review on this document now")
            raise StepNotActiveError("not-your-turn", "nothing to sign on this document now")
        return step

    # -- review ----------------------------------------------------------------------------------------

    def review(
        self, official: Person, document_id: str, approve: bool, comment: str, *, ip: str | None = None
    ) -> DocumentStep:
        """The official's decision on their active review step: approve (the next step becomes active) or
        reject (the document is ``rejected``, the later steps skipped; a comment is required). Out of turn:
        :class:`StepNotActiveError`; no comment to a rejection: :class:`ReviewRefusedError`."""
        view = self.view(official, document_id)
        step = self._my_active_step(view, (StepKind.REVIEW,))
        text = normalise_comment(approve, comment)
        decided = decide(self.instance, step, approve=approve, comment=text, actor_sub=official.entry_uuid)
        self._audit(
            AuditEvent.SIGNING_DOCUMENT_REVIEW,
            official,
            document_id,
            ip=ip,
            step=step.position,
            decision="approved" if approve else "rejected",
            comment=text,
        )
        self._notify(document_id, "step.completed" if approve else "request.rejected", decided)
        return decided

    # -- issue -----------------------------------------------------------------------------------------

    def issue(self, official: Person, document_id: str, *, ip: str | None = None) -> DocumentView:
        """The records office sends the sealed document to its recipients (the ``issue`` step, after the seal):
        they find it under "received", read-only. Out of turn or not of the records office:
        :class:`StepNotActiveError`."""
        view = self.view(official, document_id)
        step = view.my_step
        if step is None or step.kind != StepKind.ISSUE.value:
            raise StepNotActiveError("not-your-issue", "nothing to issue on this document now")
        send_to_recipients(self.instance, step, official.entry_uuid)
        self._audit(
            AuditEvent.SIGNING_DOCUMENT_ISSUE,
            official,
            document_id,
            ip=ip,
            step=step.position,
            number=view.document.number,
            recipients=[f"{r.kind}:{r.label}" for r in view.recipients],
        )
        self._notify(document_id, "step.completed", step)
        self._notify(document_id, "request.finished", None)
        return self.view(official, document_id)

    def record_download(self, official: Person, view: DocumentView, *, ip: str | None = None) -> None:
        self._audit(
            AuditEvent.SIGNING_DOCUMENT_DOWNLOAD,
            official,
            view.id,
            ip=ip,
            version=view.current.number,
            sha256=view.current.sha256,
        )

    def _audit(self, event: AuditEvent, official: Person, document_id: str, *, ip: str | None, **details: Any) -> None:
        self.instance.audit.record(event, actor=official.uid, subject=f"document:{document_id}", ip=ip, details=details)


def document_service(instance: Instance) -> DocumentService:
    return instance.service(EXTENSION_KEY, DocumentService)
