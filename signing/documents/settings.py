"""The ``[documents]`` settings section (``ANTIN_DOCUMENTS_*``): officials' uploads, their page previews, and the
reminders of steps' deadlines, the workflow's e-mails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from antin.kernel.settings import doc

__all__ = ["DocumentSettings"]


@dataclass(frozen=True)
class DocumentSettings:
    SECTION: ClassVar[str] = "documents"

    upload_max_mb: int = doc("largest PDF an official may upload on the portal, in MB", 20)
    max_pages: int = doc("most pages a PDF uploaded on the portal may have", 500)
    preview_pixels: int = doc("longest side of a page preview, in pixels (a readable A4 page is about 1200)", 1200)
    preview_seconds: int = doc("CPU seconds one page preview may take before its renderer is stopped", 10)
    preview_memory_mb: int = doc("memory one page preview's renderer may use, in MB", 512)
    page_size: int = doc("documents listed on one page of the inbox", 20)
    batch_max: int = doc("most documents an official signs at once (one security-key confirmation over all)", 20)
    remind_before_hours: int = doc(
        "hours before a step's deadline that its official is reminded (e-mail and inbox); 0: only when overdue", 24
    )
    remind_every_minutes: int = doc(
        "how often each server process looks for reminders to send; 0: only `antin documents remind` (cron)", 10
    )

    notify_by_mail: bool = doc(
        "e-mail officials when a document awaits them, and its drafter when it is rejected, signed or issued"
        " (through `[mail]`); the inbox shows it either way",
        True,
    )

    def problems(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if not 0 < self.upload_max_mb <= 1024:
            problems["upload_max_mb"] = "must be between 1 and 1024"
        if not 1 <= self.batch_max <= 100:  # sole control approves at most 100 digests at once
            problems["batch_max"] = "must be between 1 and 100"
        if not 0 < self.max_pages <= 10_000:
            problems["max_pages"] = "must be between 1 and 10000"
        if not 300 <= self.preview_pixels <= 4000:
            problems["preview_pixels"] = "must be between 300 and 4000"
        if not 1 <= self.preview_seconds <= 120:
            problems["preview_seconds"] = "must be between 1 and 120"
        if not 64 <= self.preview_memory_mb <= 8192:
            problems["preview_memory_mb"] = "must be between 64 and 8192"
        if not 5 <= self.page_size <= 200:
            problems["page_size"] = "must be between 5 and 200"
        if not 0 <= self.remind_before_hours <= 24 * 30:
            problems["remind_before_hours"] = "must be between 0 and 720"
        if not 0 <= self.remind_every_minutes <= 24 * 60:
            problems["remind_every_minutes"] = "must be between 0 and 1440"
        return problems
