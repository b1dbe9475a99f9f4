"""One decode budget per examined document, proportionate to its size, shared by every reader and revision.

pyHanko (0.38) bounds what a document's streams may inflate to with a budget of ``max(256 MiB, 100 × size)``
(``DocumentDecodeBudget``), and gives every historical revision a fresh copy of it. Decoded streams stay cached
on their objects while the document is examined, so the budget is also roughly the peak memory: about 5 GB for a
50 MB upload, more with many revisions. Real signed PDFs decode far less (their images and page content are never
decoded for verification; see docs/security.md for the corpus figures), so the budget here is
``max(BASE_ALLOWANCE, RATIO × size)`` for the whole document: every reader opened on it (the lenient one, the
repairing one, each prefix tried) and every revision draws on the same account. A document that needs more is
refused as a whole (:attr:`DocumentBudget.exhausted`), rather than judged on the streams that fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from pyhanko.pdf_utils.decode_limits import DecodeContext, DecodeLimits
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = ["BASE_ALLOWANCE", "RATIO", "BudgetedDecodeContext", "BudgetedPdfFileReader", "DocumentBudget"]

MiB = 1024 * 1024
BASE_ALLOWANCE = 32 * MiB
"""Decoded bytes any document may use, whatever its size (a large CRL in a small file)."""
RATIO = 4
"""Decoded bytes per byte of input beyond that."""


@dataclass
class DocumentBudget:
    """What the streams of one document may still inflate to, and whether one of them was refused for it."""

    total: int
    remaining: int
    exhausted: bool = False
    _refusable: bool = False  # the last decode was capped by this budget and has not finished yet

    @classmethod
    def for_size(cls, size: int) -> DocumentBudget:
        total = max(BASE_ALLOWANCE, RATIO * size)
        return cls(total=total, remaining=total)

    def cap(self, stream_cap: int | None) -> int:
        if self._refusable:
            self.exhausted = True  # the previous capped decode never reported its output: the cap stopped it
        left = max(0, self.remaining)
        self._refusable = stream_cap is None or left < stream_cap
        return left if self._refusable or stream_cap is None else stream_cap

    def charge(self, size: int) -> None:
        self._refusable = False
        self.remaining -= size

    def finish(self) -> bool:
        """Whether the budget stopped a decode (call once the document has been examined)."""
        if self._refusable:
            self.exhausted = True
            self._refusable = False
        return self.exhausted


class BudgetedDecodeContext(DecodeContext):
    """pyHanko's decode context with the document's shared budget in place of its per-reader one."""

    def __init__(self, limits: DecodeLimits, budget: DocumentBudget) -> None:
        super().__init__(limits, input_size=None)
        self.budget = budget

    @property
    def remaining_budget(self) -> int | None:
        return self.budget.remaining

    def fresh(self) -> BudgetedDecodeContext:
        # pyHanko gives each historical revision a full budget of its own; here they share the document's
        return BudgetedDecodeContext(self.limits, self.budget)

    def stage_output_cap(self, stream_cap: int | None) -> int | None:
        return self.budget.cap(stream_cap)

    def record_output(self, size: int) -> None:
        self.budget.charge(size)


class BudgetedPdfFileReader(PdfFileReader):
    """A lenient pyHanko reader whose stream decoding draws on ``budget``."""

    def __init__(self, stream: IO[bytes], budget: DocumentBudget) -> None:
        self._budgeted_context = BudgetedDecodeContext(DecodeLimits(), budget)
        super().__init__(stream, strict=False)

    @property
    def decode_context(self) -> DecodeContext:
        return self._budgeted_context
