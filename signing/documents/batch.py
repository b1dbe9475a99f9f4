"""Batch signing: an official approves several documents with one WebAuthn assertion, then each is signed in turn.

:func:`begin_batch` checks that every chosen document waits for the official's own ``sign`` step (a review or the
records office's seal is decided one by one), then begins one sole-control authorisation over the ordered list of
the documents' current digests, bound to the purpose :func:`batch_subject` (a hash of the ordered ids): an
authorisation begun for one document, or for another batch, does not complete here. :func:`sign_batch` completes
it once, then signs each document with it; a document changed or acted on since the page was shown is refused
alone (its reason kept), the others are signed. Each signature or refusal is audited on its document, as single
signatures are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from antin.kernel.audit.events import AuditEvent
from directory.models import Person
from signing.documents.errors import BatchRefusedError, DocumentError, StepNotActiveError
from signing.documents.models import StepKind
from signing.documents.records import DocumentView, Placement
from signing.documents.settings import DocumentSettings
from signing.errors import SigningError, SoleControlRefused
from signing.sole_control import Authorisation, get_sole_control

if TYPE_CHECKING:
    from signing.documents.service import DocumentService

__all__ = ["BatchItem", "BatchResult", "batch_subject", "begin_batch", "sign_batch"]


@dataclass(frozen=True)
class BatchItem:
    """A chosen document as the confirmation page shows it: the digest of its current bytes and where the box goes."""

    view: DocumentView
    digest: bytes
    placement: Placement


@dataclass(frozen=True)
class BatchResult:
    """One document's outcome: signed, or refused with a stable ``reason`` (``changed``, ``not-your-turn``, …)."""

    document_id: str
    title: str
    number: str
    signed: bool
    reason: str = ""


def batch_subject(document_ids: Sequence[str]) -> str:
    """The purpose sole control binds the batch's authorisation to (fits its 64 characters)."""
    joined = "\n".join(document_ids).encode()
    return "batch:" + hashlib.sha256(joined).hexdigest()[:40]


def _chosen(service: DocumentService, document_ids: Sequence[str]) -> list[str]:
    ids = [i.strip() for i in document_ids if i.strip()]
    if not ids:
        raise BatchRefusedError("empty", "no document chosen")
    if len(ids) > service.instance.settings.section(DocumentSettings).batch_max:
        raise BatchRefusedError("too-many", f"{len(ids)} documents")
    if len(set(ids)) != len(ids):
        raise BatchRefusedError("twice", "a document is chosen twice")
    return ids


def signable(view: DocumentView) -> bool:
    """The document waits for the official's own signature (not a review, not the records office's seal)."""
    return view.my_step is not None and view.my_step.kind == StepKind.SIGN.value


def batch_items(service: DocumentService, official: Person, document_ids: Sequence[str]) -> list[BatchItem]:
    items = []
    for document_id in _chosen(service, document_ids):
        view = service.view(official, document_id)  # DocumentNotFoundError for one the official may not see
        if not signable(view):
            raise BatchRefusedError("not-signable", view.document.title)
        items.append(BatchItem(view, service.digest(view), service.placement(view)))
    return items


def begin_batch(
    service: DocumentService, official: Person, document_ids: Sequence[str]
) -> tuple[str, dict[str, Any], list[BatchItem]]:
    """One sole-control request over the chosen documents' digests, in order: (authorisation id, options, items)."""
    items = batch_items(service, official, document_ids)
    authorisation_id, options = get_sole_control(service.instance).begin(
        official.entry_uuid, [i.digest for i in items], purpose=batch_subject([i.view.id for i in items])
    )
    return authorisation_id, options, items


def sign_batch(
    service: DocumentService,
    official: Person,
    document_ids: Sequence[str],
    digests: Sequence[bytes],
    *,
    authorisation_id: str,
    credential: Mapping[str, Any],
    reason: str,
    location: str,
    ip: str | None = None,
) -> list[BatchResult]:
    """Complete the batch's authorisation (``digests``: those the page showed, in order), then sign each document.

    A refused assertion (:class:`SoleControlRefused`) signs nothing and is audited on every document; after it,
    one document's refusal does not undo the others.
    """
    ids = _chosen(service, document_ids)
    try:
        authorisation = get_sole_control(service.instance).complete(
            authorisation_id, official.entry_uuid, credential, digests, purpose=batch_subject(ids), ip=ip or ""
        )
    except SoleControlRefused as refused:
        for document_id in ids:
            service._audit(
                AuditEvent.SIGNING_DOCUMENT_REFUSE,
                official,
                document_id,
                ip=ip,
                reason=refused.reason,
                authorisation=authorisation_id,
                batch=len(ids),
            )
        raise
    return [
        _sign_one(service, official, document_id, approved, authorisation, reason, location, ip)
        for document_id, approved in zip(ids, authorisation.digests, strict=True)
    ]


def _sign_one(
    service: DocumentService,
    official: Person,
    document_id: str,
    approved: bytes,
    authorisation: Authorisation,
    reason: str,
    location: str,
    ip: str | None,
) -> BatchResult:
    title = number = ""
    try:
        view = service.view(official, document_id)
        title, number = view.document.title, view.document.number or ""
        if not signable(view):
            raise StepNotActiveError("not-your-turn", "nothing to sign on this document now")
        if service.digest(view) != approved:
            raise StepNotActiveError("changed", "the document changed since it was approved")
        step = view.my_step
        assert step is not None
        box, _chosen_box = service.box(view, step)
        service._sign_authorised(official, view, step, box, authorisation, reason, location, ip)
    except (DocumentError, SigningError) as err:
        code = err.reason if isinstance(err, DocumentError) else err.code
        service._audit(
            AuditEvent.SIGNING_DOCUMENT_REFUSE,
            official,
            document_id,
            ip=ip,
            reason=code,
            authorisation=authorisation.id,
            batch=len(authorisation.digests),
        )
        return BatchResult(document_id, title, number, False, code)
    return BatchResult(document_id, title, number, True)
