"""Value types of the documents package: a document as an official sees it, a page of the inbox, a placement,
an entry of a document's history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from signing.documents.models import Document, DocumentIssue, DocumentRecipient, DocumentStep, DocumentVersion
from signing.documents.placement import Box, covers_content
from signing.documents.previews import PageSize

__all__ = ["DocumentView", "HistoryEntry", "InboxPage", "Placement"]


@dataclass(frozen=True)
class DocumentView:
    """A document as an official sees it, with its steps in order and the step that is theirs now, if any."""

    document: Document
    steps: tuple[DocumentStep, ...]
    versions: tuple[DocumentVersion, ...]
    my_step: DocumentStep | None
    issue: DocumentIssue | None = None  # the register entry, when the records office seals and issues it
    recipients: tuple[DocumentRecipient, ...] = ()
    received: bool = False  # issued to the official or their unit
    only_received: bool = False  # and that is the only reason they see it: the internal history is not theirs

    @property
    def id(self) -> str:
        return self.document.id

    @property
    def current(self) -> DocumentVersion:
        return self.versions[-1]

    @property
    def signed(self) -> bool:
        return self.current.signature_reference is not None


@dataclass(frozen=True)
class InboxPage:
    items: tuple[Document, ...]
    total: int
    page: int
    pages: int
    rejections: Mapping[str, str] = field(default_factory=dict)  # a rejected item's id → the reviewer's comment


@dataclass(frozen=True)
class Placement:
    box: Box
    size: PageSize
    ink: float  # share of the box over existing content, on the preview
    chosen: bool  # the official (or the workflow) chose it; else the default place

    @property
    def covers_content(self) -> bool:
        return covers_content(self.ink)


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    at: datetime
    event: str
    actor: str | None
    details: dict[str, Any]
    entry_hash: str
