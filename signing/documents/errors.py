"""The documents' errors: each says what the official can do about it (``reason`` is stable, for pages and tests)."""

from __future__ import annotations

__all__ = [
    "BatchRefusedError",
    "DocumentError",
    "DocumentNotFoundError",
    "PreviewError",
    "RegisterRefusedError",
    "ResendRefusedError",
    "ReviewRefusedError",
    "StepNotActiveError",
    "UploadRefusedError",
]


class DocumentError(Exception):
    """Base of the documents package's errors."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


class UploadRefusedError(DocumentError):
    """An upload that cannot become a document: ``too-large``, ``empty``, ``not-pdf``, ``encrypted``, ``damaged``,
    ``truncated``, ``locked`` (a signature or certification forbids any change), ``too-many-pages``; for a document
    the records office seals and issues: ``no-records-office`` (no unit on the drafter's path has one),
    ``no-recipients``."""


class DocumentNotFoundError(DocumentError):
    """No such document, or one the official may not see (the same answer, so that ids cannot be probed)."""

    def __init__(self, document_id: str) -> None:
        super().__init__("not-found", document_id)


class StepNotActiveError(DocumentError):
    """The official has nothing to do on this document now (not their turn, or done already)."""


class ReviewRefusedError(DocumentError):
    """A review decision that cannot be kept: ``comment-required`` (a rejection says why), ``comment-too-long``."""


class PreviewError(DocumentError):
    """A page could not be rendered in the time and memory allowed (``timeout``, ``failed``, ``no-page``)."""


class ResendRefusedError(DocumentError):
    """A re-send that cannot be done: ``not-rejected`` (only a rejected document goes round again),
    ``not-drafter`` (only who sent it may), ``note-required`` (re-sent as it was, a note says what was done),
    ``note-too-long``."""


class RegisterRefusedError(DocumentError):
    """A number or date the records office cannot give: ``bad-number``, ``number-taken`` (the unit used it this
    year), ``bad-date`` (before the upload or after today), ``numbered`` (the document has its number)."""


class BatchRefusedError(DocumentError):
    """A batch that cannot be confirmed as a whole: ``empty`` (nothing chosen), ``too-many`` (over the setting
    ``documents.batch_max``), ``twice`` (a document chosen twice), ``not-signable`` (a chosen document is not
    waiting for the official's own signature: ``detail`` names it)."""
