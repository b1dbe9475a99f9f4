"""Re-sending a rejected document: its sender uploads a corrected version (or sends it again as it is, with a
note), and the workflow starts again from its first step, the first review.

Nothing is rewritten: the rejected round's steps keep their decisions and comments, the new round's steps are
copies of them (``round`` one more, positions after them, the first active), a new file is a new version beside
the earlier ones, and the audit entry ``signing:document:resend`` carries the note. The document is taken with a
conditional update (``rejected`` → ``in_progress``), so that of two re-sends at once one only counts; the new file
is moved into place while that update holds the row, so the loser never overwrites the winner's file.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import CursorResult, inspect, select, update

from antin.kernel.audit.events import AuditEvent
from directory.models import Person
from signing.documents.errors import DocumentNotFoundError, ResendRefusedError
from signing.documents.models import Document, DocumentStatus, DocumentStep, DocumentVersion, StepStatus
from signing.documents.previews import page_sizes
from signing.documents.records import DocumentView
from signing.documents.service import DocumentService
from signing.models import aware

__all__ = ["MAX_NOTE", "Resent", "resend", "resend_as"]

MAX_NOTE = 2000

# what a new round starts afresh; every other column of a step (kind, assignee, group, and any added later) is
# copied, so that the new round is the same workflow
_FRESH = frozenset(
    {"id", "position", "status", "round", "comment", "acted_by", "acted_at", "deadline", "reason", "location"}
    | {"page", "x", "y", "width", "height"}  # a corrected file may have other pages: the signers place again
)


class Resent:
    """What a re-send did: the new round, its first step, and the new version (None: sent as it was)."""

    def __init__(self, round_number: int, first: DocumentStep, version: int | None) -> None:
        self.round = round_number
        self.first = first
        self.version = version


def normalise_note(note: str, *, new_file: bool) -> str:
    text = note.strip()
    if not text and not new_file:
        raise ResendRefusedError("note-required", "sent again unchanged: say in a note what was done")
    if len(text) > MAX_NOTE:
        raise ResendRefusedError("note-too-long", f"at most {MAX_NOTE} characters")
    return text


def resend(
    service: DocumentService,
    drafter: Person,
    document_id: str,
    *,
    stream: IO[bytes] | None = None,
    file_name: str = "",
    note: str = "",
    deadline: datetime | None = None,
    ip: str | None = None,
) -> Resent:
    """The drafter re-sends their rejected document (:class:`ResendRefusedError` says why not)."""
    view = service.view(drafter, document_id)  # not found for whoever may not see it
    if view.document.created_by != drafter.entry_uuid:
        raise ResendRefusedError("not-drafter", "only the official who sent the document re-sends it")
    return resend_as(
        service,
        view,
        actor=drafter.uid,
        actor_id=drafter.entry_uuid,
        stream=stream,
        file_name=file_name,
        note=note,
        deadline=deadline,
        ip=ip,
    )


def resend_as(
    service: DocumentService,
    view: DocumentView,
    *,
    actor: str,
    actor_id: str,
    stream: IO[bytes] | None,
    file_name: str,
    note: str,
    deadline: datetime | None,
    ip: str | None,
) -> Resent:
    """Start the document's workflow again, as its sender (an official, or an application: ``client:<id>``)."""
    if view.document.status != DocumentStatus.REJECTED.value:
        raise ResendRefusedError("not-rejected", "only a rejected document is re-sent")
    text = normalise_note(note, new_file=stream is not None)
    deadline = deadline.astimezone(UTC) if deadline is not None else None  # SQLite keeps no offset
    staged = _stage(service, view, stream) if stream is not None else None
    try:
        resent = _restart(service, view, staged, file_name, deadline, actor_id)
    finally:
        if staged is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged[0])
    details: dict[str, Any] = {"round": resent.round, "note": text}
    if staged is not None:
        details |= {"version": resent.version, "sha256": staged[1], "bytes": staged[2], "pages": staged[3]}
        details["file"] = _name(file_name, view)
    if deadline is not None:
        details["deadline"] = deadline.isoformat()
    service.instance.audit.record(
        AuditEvent.SIGNING_DOCUMENT_RESEND, actor=actor, subject=f"document:{view.id}", ip=ip, details=details
    )
    service._notify(view.id, "request.resent", resent.first)
    return resent


def _name(file_name: str, view: DocumentView) -> str:
    return Path(file_name).name[:255] or view.document.file_name


Staged = tuple[Path, str, int, int, list[list[float]]]  # the file, its digest, size, pages, page sizes


def _stage(service: DocumentService, view: DocumentView, stream: IO[bytes]) -> Staged:
    """The corrected file, kept under a temporary name and checked as an upload is."""
    folder = service.root / view.id
    staging = folder / f".resend-{os.getpid()}-{id(stream)}.pdf"
    path, digest, size = service._store(stream, staging)
    try:
        facts = service._inspect(path)
        sizes = page_sizes(path, facts.pages, service._limits)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest, size, facts.pages, [[s.width, s.height] for s in sizes]


def _restart(
    service: DocumentService,
    view: DocumentView,
    staged: Staged | None,
    file_name: str,
    deadline: datetime | None,
    actor_id: str,
) -> Resent:
    instance = service.instance
    now = instance.clock.now()
    with instance.database.session() as s:
        taken = cast(
            CursorResult[Any],
            s.execute(
                update(Document)
                .where(Document.id == view.id, Document.status == DocumentStatus.REJECTED.value)
                .values(status=DocumentStatus.IN_PROGRESS.value, updated_at=now)
            ),
        ).rowcount
        if taken != 1:
            raise ResendRefusedError("not-rejected", "only a rejected document is re-sent")
        document = s.get(Document, view.id)
        if document is None:
            raise DocumentNotFoundError(view.id)
        steps = list(
            s.scalars(select(DocumentStep).where(DocumentStep.document_id == view.id).order_by(DocumentStep.position))
        )
        last_round = max(st.round for st in steps)
        copied = [st for st in steps if st.round == last_round]
        version: int | None = None
        if staged is not None:
            version = document.current_version + 1
            path, digest, size, pages, sizes = staged
            # the row is held by the update above: no other re-send (and no signature: nothing is active) writes it
            os.replace(path, service.root / view.id / f"v{version}.pdf")
            (service.root / view.id / "pages.json").write_text(json.dumps(sizes))
            s.add(DocumentVersion(document_id=view.id, number=version, sha256=digest, size=size, created_by=actor_id))
            document.current_version, document.pages = version, pages
            document.file_name = _name(file_name, view)
        columns = [c.key for c in inspect(DocumentStep).column_attrs if c.key not in _FRESH]
        position = max(st.position for st in steps)
        fresh: list[DocumentStep] = []
        for index, old in enumerate(copied):
            position += 1
            step = DocumentStep(
                **{c: getattr(old, c) for c in columns},
                position=position,
                round=last_round + 1,
                status=(StepStatus.ACTIVE if index == 0 else StepStatus.WAITING).value,
                # none given: each step keeps the deadline it had (its own, or the document's) while it is ahead
                deadline=deadline if deadline is not None else _still_ahead(old.deadline, now),
            )
            s.add(step)
            fresh.append(step)
        s.flush()
        first = fresh[0]
        s.refresh(first)
        s.expunge(first)
    return Resent(last_round + 1, first, version)


def _still_ahead(deadline: datetime | None, now: datetime) -> datetime | None:
    return deadline if deadline is not None and aware(deadline) > now else None
