"""A reviewer's decision on their active ``review`` step: approve (the next step becomes active) or reject (the
document stops: it is ``rejected``, the steps after it are skipped).

The database half of :meth:`~signing.documents.service.DocumentService.review`, which checks who may act, audits
and tells the listeners. The step is taken with a conditional update, so that of two decisions sent at once (two
tabs) one only counts.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from antin.kernel.instance import Instance
from signing.documents.errors import ReviewRefusedError, StepNotActiveError
from signing.documents.models import Document, DocumentStatus, DocumentStep, StepStatus

__all__ = ["MAX_COMMENT", "decide", "normalise_comment"]

MAX_COMMENT = 2000  # characters: a reviewer's note, not a second document


def normalise_comment(approve: bool, comment: str) -> str:
    """The comment as kept; a rejection needs one (the drafter must learn what to change)."""
    text = comment.strip()
    if not approve and not text:
        raise ReviewRefusedError("comment-required", "a rejection says why: write a comment")
    if len(text) > MAX_COMMENT:
        raise ReviewRefusedError("comment-too-long", f"at most {MAX_COMMENT} characters")
    return text


def decide(instance: Instance, step: DocumentStep, *, approve: bool, comment: str, actor_sub: str) -> DocumentStep:
    """Record the decision on ``step`` (still active, or :class:`StepNotActiveError`) and move the workflow on;
    return the step as it is now."""
    now = instance.clock.now()
    with instance.database.session() as s:
        taken = cast(
            CursorResult[Any],
            s.execute(
                update(DocumentStep)
                .where(DocumentStep.id == step.id, DocumentStep.status == StepStatus.ACTIVE.value)
                .values(
                    status=(StepStatus.DONE if approve else StepStatus.REJECTED).value,
                    comment=comment,
                    acted_at=now,
                    acted_by=actor_sub,
                )
            ),
        ).rowcount
        if taken != 1:
            raise StepNotActiveError("not-your-review", "this review is decided already or not open yet")
        document = s.get(Document, step.document_id)
        assert document is not None
        later = s.scalars(
            select(DocumentStep)
            .where(DocumentStep.document_id == step.document_id, DocumentStep.position > step.position)
            .order_by(DocumentStep.position)
        ).all()
        if approve:
            if later:
                later[0].status = StepStatus.ACTIVE.value
            else:
                document.status = DocumentStatus.DONE.value
        else:
            for following in later:
                following.status = StepStatus.SKIPPED.value
            document.status = DocumentStatus.REJECTED.value
        document.updated_at = now
        s.flush()
        decided = s.get(DocumentStep, step.id)
        assert decided is not None
        s.refresh(decided)
        s.expunge(decided)
    return decided
