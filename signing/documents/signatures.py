"""An official's signature or the records office's seal on a document's current version, under sole control.

A mixin of :class:`~signing.documents.service.DocumentService` (the service keeps one name for callers): the step is
claimed by one conditional UPDATE (two tabs: one signs), the signed file written beside the others, the step done and
the next one active. A ``seal`` step first takes the number and date in the issuing unit's register
(:mod:`signing.documents.records_office`) and gives them back if the seal fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from antin.kernel.audit.events import AuditEvent
from antin.kernel.instance import Instance
from directory.models import Person
from signing.appearance import VisibleBox
from signing.documents.errors import StepNotActiveError
from signing.documents.models import (
    Document,
    DocumentIssue,
    DocumentStatus,
    DocumentStep,
    DocumentVersion,
    StepKind,
    StepStatus,
)
from signing.documents.placement import Box
from signing.documents.records import DocumentView
from signing.documents.records_office import recipients_of, release_number, reserve_number
from signing.errors import SoleControlRefused
from signing.service import SignOutcome, SignRequest, signing_service
from signing.sole_control import Authorisation, get_sole_control

__all__ = ["DocumentSigning", "document_subject"]


def document_subject(document_id: str) -> str:
    """The document as the audit trail and sole control name it."""
    return f"document:{document_id}"


class DocumentSigning:
    instance: Instance

    if TYPE_CHECKING:  # provided by DocumentService

        def view(self, official: Person, document_id: str) -> DocumentView: ...
        def box(self, view: DocumentView, step: DocumentStep | None = None) -> tuple[Box, bool]: ...
        def file(self, view: DocumentView, version: int | None = None) -> Path: ...
        def _my_active_step(self, view: DocumentView, kinds: tuple[StepKind, ...]) -> DocumentStep: ...
        def _audit(
            self, event: AuditEvent, official: Person, document_id: str, *, ip: str | None, **details: Any
        ) -> None: ...
        def _notify(self, document_id: str, event: str, step: DocumentStep | None) -> None: ...

    def digest(self, view: DocumentView) -> bytes:
        return bytes.fromhex(view.current.sha256)

    def begin_signing(self, official: Person, document_id: str) -> tuple[str, dict[str, Any], bytes]:
        """A sole-control request for the document's current bytes: (authorisation id, WebAuthn options, digest)."""
        view = self.view(official, document_id)
        self._my_active_step(view, (StepKind.SIGN, StepKind.SEAL))
        digest = self.digest(view)
        authorisation_id, options = get_sole_control(self.instance).begin(
            official.entry_uuid, [digest], purpose=document_subject(document_id)
        )
        return authorisation_id, options, digest

    def sign(
        self,
        official: Person,
        document_id: str,
        *,
        authorisation_id: str,
        credential: Mapping[str, Any],
        reason: str,
        location: str,
        number: str = "",
        issued_on: date | None = None,
        ip: str | None = None,
    ) -> SignOutcome:
        """Sign the document's current version with the official's key, once their WebAuthn assertion over its
        digest is checked (:class:`~signing.errors.SoleControlRefused` otherwise, audited on the document too).
        A ``seal`` step is the records office's: it gives the ``number`` and date (``issued_on``) first
        (:class:`RegisterRefusedError`), then applies the issuing unit's seal."""
        view = self.view(official, document_id)
        step = self._my_active_step(view, (StepKind.SIGN, StepKind.SEAL))
        box, _chosen = self.box(view, step)  # checked for covered content on the confirmation page
        sealing = step.kind == StepKind.SEAL.value and view.issue is not None
        shown = None
        if sealing:
            register = reserve_number(self.instance, view.document, number, issued_on)
            day = f"{register.issued_on:%d/%m/%Y}" if register.issued_on else ""
            shown = f"Số: {register.number}, ngày {day}"
            reason = reason.strip() or f"Ban hành văn bản số {register.number} ngày {day}"
        try:
            return self._sign_step(
                official, view, step, box, authorisation_id, credential, reason, location, ip, register=shown
            )
        except BaseException:
            if sealing:
                release_number(self.instance, document_id)
            raise

    def _sign_step(
        self,
        official: Person,
        view: DocumentView,
        step: DocumentStep,
        box: Box,
        authorisation_id: str,
        credential: Mapping[str, Any],
        reason: str,
        location: str,
        ip: str | None,
        *,
        register: str | None = None,
    ) -> SignOutcome:
        document_id = view.id
        try:
            authorisation = get_sole_control(self.instance).complete(
                authorisation_id,
                official.entry_uuid,
                credential,
                [self.digest(view)],
                purpose=document_subject(document_id),  # the same bytes in another document are another decision
                ip=ip or "",
            )
        except SoleControlRefused as refused:
            self._audit(
                AuditEvent.SIGNING_DOCUMENT_REFUSE,
                official,
                document_id,
                ip=ip,
                reason=refused.reason,
                authorisation=authorisation_id,
            )
            raise
        return self._sign_authorised(official, view, step, box, authorisation, reason, location, ip, register=register)

    def _sign_authorised(
        self,
        official: Person,
        view: DocumentView,
        step: DocumentStep,
        box: Box,
        authorisation: Authorisation,
        reason: str,
        location: str,
        ip: str | None,
        *,
        register: str | None = None,
    ) -> SignOutcome:
        """Sign ``step`` with an authorisation sole control granted already (for this document or a batch)."""
        document_id = view.id
        request = SignRequest(
            signer_uid=official.uid,
            reason=reason.strip()[:200] or None,
            location=location.strip()[:200] or None,
            visible=VisibleBox(box.page, box.x, box.y, box.width, box.height),
            document_name=view.document.file_name,
            seal_unit=(view.issue.unit_code if view.issue else view.document.unit_code)
            if step.kind == StepKind.SEAL.value
            else None,
            seal_register=register,
        )
        number = view.current.number + 1
        destination = self.file(view, number)
        service = signing_service(self.instance)
        self._claim_step(step)  # of two signings of one step at once (two tabs), one only goes on
        fd, temp = tempfile.mkstemp(dir=destination.parent, prefix=".signing-")
        try:
            with open(self.file(view), "rb") as source, os.fdopen(fd, "w+b") as out:
                outcome = service.sign(source, out, request, actor=official.uid, authorisation=authorisation)
                out.seek(0)
                signed_digest = hashlib.file_digest(out, "sha256").hexdigest()
                size = out.seek(0, os.SEEK_END)
            os.replace(temp, destination)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            self._release_step(step)
            raise
        self._finish_step(view, step, number, signed_digest, size, outcome, official, reason, location)
        self._audit(
            AuditEvent.SIGNING_DOCUMENT_COMPLETE,
            official,
            document_id,
            ip=ip,
            step=step.position,
            kind=step.kind,
            authorisation=authorisation.id,
            reference=outcome.reference,
            sha256_signed=view.current.sha256,
            sha256_result=signed_digest,
            **self._register_details(step),
        )
        self._notify(document_id, "step.completed", step)
        if self.view(official, document_id).document.status == DocumentStatus.DONE.value:
            self._notify(document_id, "request.finished", None)
        return outcome

    def _register_details(self, step: DocumentStep) -> dict[str, Any]:
        if step.kind != StepKind.SEAL.value:
            return {}
        issue, _recipients = recipients_of(self.instance, step.document_id)
        if issue is None:
            return {}
        day = issue.issued_on.isoformat() if issue.issued_on else None
        return {"number": issue.number, "issued_on": day, "seal_unit": issue.unit_code}

    def _claim_step(self, step: DocumentStep) -> None:
        with self.instance.database.transaction() as conn:
            claimed = conn.execute(
                update(DocumentStep)
                .where(DocumentStep.id == step.id, DocumentStep.status == StepStatus.ACTIVE.value)
                .values(status=StepStatus.SIGNING.value)
            ).rowcount
        if claimed != 1:
            raise StepNotActiveError("not-your-turn", "this step is being signed or is done")

    def _release_step(self, step: DocumentStep) -> None:
        with self.instance.database.transaction() as conn:
            conn.execute(
                update(DocumentStep)
                .where(DocumentStep.id == step.id, DocumentStep.status == StepStatus.SIGNING.value)
                .values(status=StepStatus.ACTIVE.value)
            )

    def _finish_step(
        self,
        view: DocumentView,
        step: DocumentStep,
        number: int,
        digest: str,
        size: int,
        outcome: SignOutcome,
        official: Person,
        reason: str,
        location: str,
    ) -> None:
        now = self.instance.clock.now()
        with self.instance.database.session() as s:
            s.add(
                DocumentVersion(
                    document_id=view.id,
                    number=number,
                    sha256=digest,
                    size=size,
                    signature_reference=outcome.reference,
                    created_by=official.entry_uuid,
                )
            )
            row = s.get(DocumentStep, step.id)
            document = s.get(Document, view.id)
            assert row is not None and document is not None
            row.status, row.acted_at, row.acted_by = StepStatus.DONE.value, now, official.entry_uuid
            row.reason, row.location = reason.strip()[:200], location.strip()[:200]
            following = s.scalars(
                select(DocumentStep)
                .where(DocumentStep.document_id == view.id, DocumentStep.position > step.position)
                .order_by(DocumentStep.position)
            ).first()
            if following is not None:
                following.status = StepStatus.ACTIVE.value
            else:
                document.status = DocumentStatus.DONE.value
            document.current_version, document.updated_at = number, now
            register = s.get(DocumentIssue, view.id) if step.kind == StepKind.SEAL.value else None
            if register is not None and register.number:
                document.number = register.number  # the records office's number replaces the drafter's
