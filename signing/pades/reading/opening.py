"""Opening the file and placing its revisions.

The file is read leniently (real signed PDFs use hybrid-reference files, which the strict reader refuses —
leniency in *reading* never softens a verdict, because every signed byte is still hashed and every later change
is still analysed). A file whose cross-reference chain is broken is read with repaired revisions
(:mod:`signing.pades.reading.repair`); failing that, the longest readable prefix is read and the rest reported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
from typing import IO, Any

from pyhanko.pdf_utils.reader import PdfFileReader

from signing.pades import whitespace  # noqa: F401  (pyHanko's byte-at-a-time whitespace skipping replaced)
from signing.pades.decode_budget import BudgetedPdfFileReader, DocumentBudget
from signing.pades.reading.errors import UnusableInputError
from signing.pades.reading.facts import RevisionFacts
from signing.pades.reading.file_digest import CHUNK
from signing.pades.reading.repair import read_repaired

__all__ = ["OpenedFile", "open_reader", "revision_facts"]

logger = logging.getLogger(__name__)


class _PrefixView(io.RawIOBase):
    """The first ``limit`` bytes of a seekable stream, so that a readable prefix can be read on its own."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._limit}[whence]
        if base + offset < 0:
            raise OSError(22, "Invalid argument")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._limit - self._pos)
        if n <= 0:
            return 0
        self._raw.seek(self._pos)
        data = self._raw.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _eof_after(stream: IO[bytes], start: int, size: int) -> int | None:
    """The end of the first ``%%EOF`` marker at or after ``start`` (a revision's trailer is short)."""
    stream.seek(start)
    window = stream.read(min(64 * 1024, max(0, size - start)))
    pos = window.find(b"%%EOF")
    return start + pos + 5 if pos != -1 else None


def _scan(stream: IO[bytes], size: int) -> tuple[list[int], str]:
    """Offsets just past every ``%%EOF`` marker and the file's SHA-256, in one chunked pass.

    Used only when the file must be repaired; readable files place their markers from the xref sections.
    """
    found: list[int] = []
    digest = hashlib.sha256()
    stream.seek(0)
    offset = 0
    tail = b""
    while offset < size:
        chunk = stream.read(min(CHUNK, size - offset))
        if not chunk:
            break
        digest.update(chunk)
        data = tail + chunk
        start = offset - len(tail)
        pos = data.find(b"%%EOF")
        while pos != -1:
            end = start + pos + 5
            if not found or found[-1] != end:
                found.append(end)
            pos = data.find(b"%%EOF", pos + 1)
        tail = data[-4:]
        offset += len(chunk)
    return found, digest.hexdigest()


def _skip_eol(stream: IO[bytes], end: int, size: int) -> int:
    stream.seek(end)
    following = stream.read(2)
    for eol in (b"\r\n", b"\n", b"\r"):
        if following.startswith(eol):
            return min(size, end + len(eol))
    return end


@dataclasses.dataclass(frozen=True)
class OpenedFile:
    """A reader of the file, and how much of the file it could read and how."""

    reader: PdfFileReader
    readable: int
    """How many bytes from the start the reader can use."""

    prefix_warning: str = ""
    """Set when only a prefix could be read."""

    repairs: tuple[str, ...] = ()
    """Set when the whole file could be read only with revisions found by scanning."""


def open_reader(stream: IO[bytes], size: int, budget: DocumentBudget) -> OpenedFile:
    """A lenient reader of the whole file; failing that, one with repaired revisions; else of the longest prefix.

    Every reader tried draws on the same decode ``budget``.
    """
    try:
        reader = BudgetedPdfFileReader(stream, budget)
        _ = reader.root
        return OpenedFile(reader, size)
    except UnusableInputError:
        raise
    except Exception as err:  # pyHanko raises many types on broken files
        first_error = err
    try:
        repaired = read_repaired(stream, size, budget)
        return OpenedFile(
            repaired.reader, size, repairs=(f"{type(first_error).__name__}: {first_error}", *repaired.repairs)
        )
    except Exception:  # not repairable: read what can be read
        logger.info("the file could not be repaired", exc_info=True)
    eofs, _ = _scan(stream, size)
    if not eofs:
        raise UnusableInputError("truncated", "no end-of-file marker was found") from first_error
    for marker in sorted((e for e in eofs if e < size), reverse=True):
        end = _skip_eol(stream, marker, size)
        try:
            view = io.BufferedReader(_PrefixView(stream, end))
            reader = BudgetedPdfFileReader(view, budget)
            _ = reader.root
        except Exception:  # noqa: S112 - try the next shorter prefix
            continue
        warning = f"bytes {end}–{size} (a later update) cannot be read: {type(first_error).__name__}: {first_error}"
        return OpenedFile(reader, end, prefix_warning=warning)
    raise UnusableInputError("unreadable", f"{type(first_error).__name__}: {first_error}") from first_error


def revision_facts(reader: PdfFileReader, stream: IO[bytes], size: int) -> tuple[RevisionFacts, ...]:
    """Where each revision ends (past its ``%%EOF`` and end of line) and how many objects it wrote."""
    out: list[RevisionFacts] = []
    for revision in range(reader.xrefs.total_revisions):
        try:
            xref_end = reader.xrefs.get_xref_container_info(revision).end_location
            end = _eof_after(stream, xref_end, size) or size
            objects = len(reader.xrefs.explicit_refs_in_revision(revision))
        except Exception:  # a revision we cannot place is reported as ending at the file's end
            end, objects = size, 0
        out.append(RevisionFacts(index=revision, end_offset=_skip_eol(stream, end, size), xref_objects=objects))
    return tuple(out)
