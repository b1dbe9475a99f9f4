"""Read a PDF whose chain of cross-reference sections is broken, without changing a byte of it.

pyHanko finds a file's revisions by following ``startxref`` and each trailer's ``/Prev`` back from the end. When
one link is wrong (``/Prev 0`` in ``pades-5-signatures-and-1-document-timestamp.pdf``, or a ``startxref`` and
entry offsets shifted by a writer's bug) it stops, and whatever the later revisions hold — a document time-stamp,
say — goes unseen. Here every revision is found the way repairing readers find them: it ends at a
``startxref N %%EOF`` marker, its cross-reference section is the one ``startxref`` names when that lies inside the
revision, else the last one written in it, and an entry whose offset does not hold the object it names is pointed
at that object's header inside the same revision. pyHanko then gets a reader over the unchanged bytes with those
sections, so every digest is still computed over exactly the bytes that were signed.

A repaired reading is an interpretation: what another reader shows may differ. The caller reports every repair and
no signature of a repaired file can pass (``signing.validation.checks.check_repaired_document``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.decode_limits import DecodeLimits
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import XRefBuilder, XRefCache, XRefSection

from signing.pades.decode_budget import BudgetedDecodeContext, BudgetedPdfFileReader, DocumentBudget

__all__ = ["RepairedReading", "read_repaired"]

_REVISION_END = re.compile(rb"startxref\s+(\d+)\s*%%EOF")
_TABLE = re.compile(rb"(?:^|[\r\n])xref[\s]")
_XREF_STREAM_TYPE = re.compile(rb"/Type\s*/XRef\b")
_OBJ_HEADER = re.compile(rb"(?<![0-9])(\d+)\s+(\d+)\s+obj\b")
_HEADER = re.compile(rb"%PDF-(\d)\.(\d)")


@dataclass(frozen=True)
class RepairedReading:
    """A reader over the unchanged file, with the revisions found by scanning, and what had to be repaired."""

    reader: PdfFileReader
    repairs: tuple[str, ...]


@dataclass(frozen=True)
class _Revision:
    start: int
    """Offset where the revision's bytes begin (the end of the previous revision)."""

    keyword: int
    """Offset of its ``startxref`` keyword."""

    end: int
    """Offset just past its ``%%EOF`` marker."""

    declared_startxref: int


def _revisions(data: bytes) -> list[_Revision]:
    out: list[_Revision] = []
    start = 0
    for match in _REVISION_END.finditer(data):
        out.append(_Revision(start, match.start(), match.end(), int(match.group(1))))
        start = match.end()
    return out


def _locate_section(data: bytes, rev: _Revision) -> tuple[int, bool, str]:
    """Where this revision's cross-reference section starts, whether it is a table, and how it was found."""
    declared = rev.declared_startxref
    if rev.start <= declared < rev.keyword:
        head = data[declared : declared + 32].lstrip(b" \t\r\n\f\x00")
        if head.startswith(b"xref"):
            return declared + data[declared:].index(b"xref"), True, ""
        if _OBJ_HEADER.match(head) and _XREF_STREAM_TYPE.search(data, declared, min(rev.keyword, declared + 4096)):
            return declared, False, ""
    tables = [m.end() - 5 for m in _TABLE.finditer(data, rev.start, rev.keyword)]
    if tables:
        found = tables[-1]
        return found, True, f"startxref {declared} does not point into this revision; its xref table is at {found}"
    kinds = [m.start() for m in _XREF_STREAM_TYPE.finditer(data, rev.start, rev.keyword)]
    if kinds:
        headers = [m.start() for m in _OBJ_HEADER.finditer(data, max(rev.start, kinds[-1] - 4096), kinds[-1])]
        if headers:
            found = headers[-1]
            return (
                found,
                False,
                f"startxref {declared} does not point into this revision; its xref stream is at {found}",
            )
    raise misc.PdfReadError(f"no cross-reference section in bytes {rev.start}–{rev.end}")


def _fix_offsets(data: bytes, section: XRefSection, rev: _Revision, body_end: int) -> int:
    """Point entries that do not hold the object they name at its header in this revision; how many were fixed."""
    headers: dict[tuple[int, int], int] | None = None
    fixed = 0
    sections = [section.xref_data]
    if section.xref_data.hybrid is not None:
        sections.append(section.xref_data.hybrid.xref_data)
    for xref_data in sections:
        for idnum, (generation, offset) in list(xref_data.standard_xrefs.items()):
            found = _OBJ_HEADER.match(data, offset) if 0 <= offset < len(data) else None
            if found is not None and (int(found.group(1)), int(found.group(2))) == (idnum, generation):
                continue
            if headers is None:
                # The last definition in the revision's body wins, as in any incremental update.
                headers = {
                    (int(m.group(1)), int(m.group(2))): m.start()
                    for m in _OBJ_HEADER.finditer(data, rev.start, body_end)
                }
            located = headers.get((idnum, generation))
            if located is not None:
                xref_data.standard_xrefs[idnum] = (generation, located)
                fixed += 1
    return fixed


class _ScannedPdfReader(BudgetedPdfFileReader):
    """A pyHanko reader whose cross-reference sections come from :func:`read_repaired`, not from ``/Prev`` links.

    Mirrors ``PdfFileReader.__init__`` of pyHanko 0.38–0.39, minus the xref reading; everything else (object
    resolution, historical revisions, signatures) is pyHanko's own.
    """

    def __init__(self, stream: IO[bytes], data: bytes, budget: DocumentBudget) -> None:  # no base xref reading
        header = _HEADER.match(data[:1024].lstrip())
        if header is None:
            raise misc.PdfReadError("Illegal PDF header")
        self._security_handler = None
        self.strict = False
        self._budgeted_context = BudgetedDecodeContext(DecodeLimits(), budget)
        self.resolved_objects: dict[tuple[int, int], generic.PdfObject] = {}
        self._header_version = (int(header.group(1)), int(header.group(2)))
        self._input_version = None
        self._historical_resolver_cache = {}
        self.stream = stream
        self._embedded_signatures = None
        self.repairs: list[str] = []
        self.section_starts: list[int] = []
        revisions = _revisions(data)
        if not revisions:
            raise misc.PdfReadError("no startxref/%%EOF marker")
        builder = XRefBuilder(
            handler=self, stream=stream, strict=False, last_startxref=revisions[-1].declared_startxref
        )
        for number, rev in reversed(list(enumerate(revisions))):
            location, is_table, note = _locate_section(data, rev)
            stream.seek(location)
            if is_table:
                stream.read(4)
                builder._read_xref_table(rev.declared_startxref)
            else:
                builder._read_xref_stream(rev.declared_startxref)
            self.section_starts.insert(0, location)
            if note:
                self.repairs.append(f"revision {number + 1}: {note}")
            fixed = _fix_offsets(data, builder.sections[-1], rev, location)
            if fixed:
                self.repairs.append(
                    f"revision {number + 1}: {fixed} cross-reference entries did not point at their objects"
                )
        self.xrefs = XRefCache(self, list(reversed(builder.sections)))
        self.last_startxref = revisions[-1].declared_startxref
        self.trailer = builder.trailer
        self.has_xref_stream = builder.has_xref_stream


def read_repaired(stream: IO[bytes], size: int, budget: DocumentBudget | None = None) -> RepairedReading:
    """A reader of the whole file with revisions found by scanning.

    Raises ``PdfReadError`` when that fails too, or when bytes other than white space follow the last revision
    (a truncated file is not repaired: its readable prefix is reported instead).
    """
    stream.seek(0)
    data = stream.read(size)
    reader = _ScannedPdfReader(stream, data, budget or DocumentBudget.for_size(size))
    last_end = max(m.end() for m in _REVISION_END.finditer(data))
    if data[last_end:].strip(b" \t\r\n\f\x00"):
        raise misc.PdfReadError("bytes after the last revision")
    _ = reader.root
    return RepairedReading(reader, tuple(_broken_links(reader) + reader.repairs))


def _broken_links(reader: _ScannedPdfReader) -> list[str]:
    """The ``/Prev`` links that do not name the previous revision's section (why pyHanko could not read on)."""
    out: list[str] = []
    for revision in range(1, reader.xrefs.total_revisions):
        try:
            prev: int | None = int(reader.trailer.raw_get("/Prev", revision=revision))
        except (KeyError, TypeError, ValueError):
            prev = None
        expected = reader.section_starts[revision - 1]
        if prev != expected:
            out.append(f"revision {revision + 1}: its trailer says /Prev {prev}, not {expected}")
    return out
