"""Read a signature dictionary with its ``/Contents`` decoded in one step, before pyHanko parses it.

pyHanko reads a hex string one character at a time (``generic.read_hex_string_from_stream``): a signature's
``/Contents`` placeholder is 16–64 KB of hex, which cost more than everything else pyHanko reads in a small
file (4 ms of 16 for a 100 KB PDF). Here the dictionary is parsed by pyHanko with that one string emptied, and the
string itself is decoded with ``bytes.fromhex``; the result goes into pyHanko's object cache, where every later
reader of the object (the signature, the change analysis, the historical revisions) finds it.

The shortcut is taken only when it provably yields the object pyHanko would read: the emptied string must be
the dictionary's ``/Contents`` value and lie exactly in the gap its ``/ByteRange`` leaves, and hold nothing but
hex digits and white space. Anything else is left to pyHanko.
"""

from __future__ import annotations

import io
import re

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import read_object_header

__all__ = ["cache_signature_dictionary"]

_CONTENTS = re.compile(rb"/Contents\s*<(?!<)")
_WHITESPACE = b" \t\r\n\f\x00"
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_HEAD = 16 * 1024
_TAIL = 16 * 1024
_CHUNK = 64 * 1024


def cache_signature_dictionary(reader: PdfFileReader, value: generic.PdfObject, max_contents: int) -> None:
    """Put the signature dictionary ``value`` (an indirect reference) into ``reader``'s cache, if it can be read
    quickly and exactly; otherwise do nothing (pyHanko reads it when asked)."""
    if not isinstance(value, generic.IndirectObject) or reader.security_handler is not None:
        return
    ref = value.reference
    if reader.cache_get_indirect_object(ref.generation, ref.idnum) is not None:
        return
    marker = reader.xrefs[ref]
    if not isinstance(marker, int):
        return  # in an object stream: pyHanko decompresses it anyway
    parsed = _read(reader, ref, marker, max_contents)
    if parsed is not None:
        reader.cache_indirect_object(ref.generation, ref.idnum, parsed)


def _read(
    reader: PdfFileReader, ref: generic.Reference, marker: int, max_contents: int
) -> generic.DictionaryObject | None:
    stream = reader.stream
    stream.seek(marker)
    head = stream.read(_HEAD)
    found = _CONTENTS.search(head)
    if found is None:
        return None
    start = found.end() - 1  # the "<"
    stream.seek(marker + start)
    chunks: list[bytes] = []
    read = 0
    end = -1
    while end == -1:  # read on to the closing ">" in chunks: the string may be megabytes away from a big file's end
        chunk = stream.read(_CHUNK)
        if not chunk or read > max_contents:
            return None
        closing = chunk.find(b">")
        if closing != -1:
            end = read + closing
        chunks.append(chunk)
        read += len(chunk)
    hex_text = b"".join(chunks)[1:end]
    after = marker + start + end + 1
    stream.seek(after)
    tail = stream.read(_TAIL)
    if b"endobj" not in tail:
        return None
    buffer = io.BytesIO(head[:start] + b"<>" + tail)
    try:
        idnum, generation = read_object_header(buffer, strict=False)
        if (idnum, generation) != (ref.idnum, ref.generation):
            return None
        parsed = generic.read_object(buffer, generic.Reference(idnum, generation, reader))
    except Exception:  # not for the shortcut to judge: pyHanko reads and reports it
        return None
    if not isinstance(parsed, generic.DictionaryObject):
        return None
    placeholder = parsed.raw_get("/Contents") if "/Contents" in parsed else None
    if not isinstance(placeholder, generic.ByteStringObject | generic.TextStringObject) or placeholder.original_bytes:
        return None  # the emptied string was not this dictionary's /Contents
    try:
        byte_range = [int(v) for v in parsed.raw_get("/ByteRange")]
    except (KeyError, TypeError, ValueError):
        return None
    if len(byte_range) != 4 or (byte_range[1], byte_range[2]) != (marker + start, after):
        return None  # not exactly the gap the signature leaves
    digits = hex_text.translate(None, _WHITESPACE)
    if not _HEX_DIGITS.issuperset(digits):
        return None
    if len(digits) % 2:
        digits += b"0"  # as pyHanko does with an odd number of digits
    parsed[generic.pdf_name("/Contents")] = generic.pdf_string(bytes.fromhex(digits.decode("ascii")))
    return parsed
