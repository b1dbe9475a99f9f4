"""One decode budget per examined document, proportionate to its size, shared by every reader and revision.

pyHanko (0.38) bounds what a document's streams may inflate to with a budget of ``max(256 MiB, 100 × size)``
(``DocumentDecodeBudget``), and gives every historical revision a fresh copy of it. Decoded streams stay cached
on their objects while the document is examined, so the budget is also roughly the peak memory: about 5 GB for a
50 MB upload, more with many revisions. Real signed PDFs decode far less (their images and page content are never
decoded for verification; see docs/security.md for the corpus figures), so the budget here is
``max(BASE_ALLOWANCE, RATIO × size)`` for the whole document: every reader opened on it (the lenient one, the
repairing one, each prefix tried) and every revision draws on the same account. A document that needs more is
refused as a whole (:attr:`DocumentBudget.exhausted`), rather than judged on the streams that fitted. To tell a
decode stopped by the budget from a corrupt stream, pyHanko's output check in its filters module is wrapped.

A cross-reference stream is charged too, for the entries it declares (``/Size`` or ``/Index``): pyHanko's lenient
reader gives every declared entry a default when the stream's data runs out, and keeps them all, so a 10 KB file
declaring a billion entries took more than 20 GB and minutes (the fuzzer found one). Each declared entry is charged
:data:`XREF_ENTRY_COST` bytes before any is read; a stream whose rows have no width at all is unreadable.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from pyhanko.pdf_utils import filters, generic, misc, xref
from pyhanko.pdf_utils.decode_limits import DecodeContext, DecodeLimits, check_output_size
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = [
    "BASE_ALLOWANCE",
    "RATIO",
    "XREF_ENTRY_COST",
    "BudgetedDecodeContext",
    "BudgetedPdfFileReader",
    "DocumentBudget",
]

MiB = 1024 * 1024
BASE_ALLOWANCE = 32 * MiB
"""Decoded bytes any document may use, whatever its size (a large CRL in a small file)."""
RATIO = 4
"""Decoded bytes per byte of input beyond that."""
XREF_ENTRY_COST = 256
"""Bytes charged per declared cross-reference entry (what pyHanko keeps for one: ~200 bytes in its tables)."""


@dataclass
class DocumentBudget:
    """What the streams of one document may still inflate to, and whether a decode was stopped for it."""

    total: int
    remaining: int
    exhausted: bool = False
    budget_cap: int | None = None  # the cap last handed out, when it was the budget (not the stream) that set it

    @classmethod
    def for_size(cls, size: int) -> DocumentBudget:
        total = max(BASE_ALLOWANCE, RATIO * size)
        return cls(total=total, remaining=total)

    def cap(self, stream_cap: int | None) -> int:
        left = max(0, self.remaining)
        limited = stream_cap is None or left < stream_cap
        self.budget_cap = left if limited else None
        _last_budget.set(self)
        return left if limited or stream_cap is None else stream_cap

    def charge(self, size: int) -> None:
        self.remaining -= size

    def finish(self) -> bool:
        """Whether the budget stopped a decode (call once the document has been examined)."""
        return self.exhausted


_last_budget: contextvars.ContextVar[DocumentBudget | None] = contextvars.ContextVar("antin_budget", default=None)
_check_output_size = check_output_size


def _check_output_size_noting_the_budget(size: int, cap: int | None) -> None:
    """pyHanko's check after each filter, which also tells the budget that *it* stopped a decode.

    A failed decode may be a corrupt stream or a stream over its own limit; only output past a cap that the budget
    set makes the document ``decode-limit``.
    """
    budget = _last_budget.get()
    if cap is not None and size > cap and budget is not None and budget.budget_cap == cap:
        budget.exhausted = True
    _check_output_size(size, cap)


# pyHanko's filters call the name they imported: replace it there (pyHanko 0.38; the function is unchanged for
# every reader without a DocumentBudget, such as the signing path's)
vars(filters)["check_output_size"] = _check_output_size_noting_the_budget


_parse_xref_stream = xref.parse_xref_stream


def _declared_entries(xref_stream: generic.StreamObject) -> tuple[int, int] | None:
    """(entries declared, bytes per row) of a cross-reference stream; None when pyHanko should judge it.

    Every ``/Index`` pair whose count is a number counts, even beside a malformed one: pyHanko reads the pairs in
    order until one fails, so ``/Index [5 1e121 /x 9]`` had it make entries for 30 s and 2.7 GB (the fuzzer found
    it) before the name stopped it. A ``/W`` that is not all numbers gives the rows no width.
    """
    try:
        pairs: list[Any] = list(xref_stream.get("/Index", [0, xref_stream.get("/Size")]))
        widths: list[Any] = list(xref_stream.get("/W") or ())
    except (KeyError, TypeError, ValueError):
        return None
    count = sum(max(0, size) for size in pairs[1::2] if isinstance(size, int) and not isinstance(size, bool))
    width = sum(widths) if all(isinstance(w, int) and not isinstance(w, bool) for w in widths) else 0
    return count, width


def _parse_xref_stream_within_the_budget(
    xref_stream: generic.StreamObject, strict: bool = True
) -> Iterator[xref.XRefEntry]:
    """pyHanko's parser, once the entries the stream declares are charged to its document's budget (if any)."""
    container = getattr(xref_stream, "container_ref", None)
    reader = container.get_pdf_handler() if container is not None else None
    context = getattr(reader, "_budgeted_context", None)
    declared = _declared_entries(xref_stream)
    if isinstance(context, BudgetedDecodeContext) and declared is not None:
        count, width = declared
        if count > 0 and width <= 0:
            raise misc.PdfReadError("cross-reference stream: its /W gives its rows no bytes")
        budget = context.budget
        if count * XREF_ENTRY_COST > budget.remaining:
            budget.exhausted = True
            raise misc.PdfReadError(f"cross-reference stream: {count} entries declared, past the decode budget")
        budget.charge(count * XREF_ENTRY_COST)
    return _parse_xref_stream(xref_stream, strict)


# pyHanko's cross-reference builder calls the name in its module: replace it there (pyHanko 0.38)
vars(xref)["parse_xref_stream"] = _parse_xref_stream_within_the_budget


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
