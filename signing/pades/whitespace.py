"""pyHanko's whitespace, comment, token and backwards-line readers, reading a block at a time, not a byte at a time.

pyHanko (0.38) parses a PDF token by token in Python, one ``read(1)`` per byte: the whitespace between tokens
(``misc.read_non_whitespace``, ``skip_over_whitespace``) and comments (``skip_over_comments``), names
(``misc._read_until_class``, then ``generic._decode_name``, byte by byte again), numbers (``misc.read_until_regex``:
16 bytes at a time added to a growing ``bytes``, quadratic), hex strings (``generic.read_hex_string_from_stream``,
one call and one ``bytes`` per digit), and the lines before ``%%EOF`` read backwards
(``reader.read_next_end_line``, each byte kept as an int). Whitespace may go almost anywhere in a PDF (between the
entries of a trailer, in an object stream's header, decoded from 4 KB of Flate into 4 MB), so a 50 MB upload to the
public ``/verify`` page held a worker for about ten seconds, a number of a million digits for 13 s
(docs/security.md, "Whitespace, long tokens and trailing bytes").

The functions here keep pyHanko's exact semantics, checked against the originals on many inputs in
tests/signing/pades/test_whitespace.py: the same whitespace set (``PDF_WHITESPACE``: space, LF, CR, tab, FF and
NUL), the same return values, the same stream position after the call, the same errors at the end of the stream,
the same treatment of comments, ``stop_after_eol`` and CR LF. They only read ahead in blocks (16 bytes first,
growing to 64 KB, so that a single space costs no more than before) and seek back to where pyHanko's loop stops.
Where that cannot be kept for every input (another pattern for ``read_until_regex``, a name with escapes, the
header's ``maxchars``), pyHanko's own function is called.

pyHanko's modules call these functions by the name they imported or through ``misc``, ``generic`` and ``reader``:
each of those names is replaced, once, when this module is imported (by the verifier's reader,
signing/pades/reading/opening.py; the signing path then gets them too).
"""

from __future__ import annotations

import binascii
import os
import re
from typing import IO, Final

from pyhanko.pdf_utils import content_stream_parser, generic, misc, reader
from pyhanko.pdf_utils.misc import PDF_WHITESPACE, PdfReadError, PdfStreamError

__all__ = [
    "read_hex_string_from_stream",
    "read_next_end_line",
    "read_non_whitespace",
    "read_until_regex",
    "skip_over_comments",
    "skip_over_whitespace",
]

FIRST_BLOCK: Final = 16
"""Bytes read first: most calls stop within a byte or two of whitespace."""
LARGEST_BLOCK: Final = 64 * 1024
"""Bytes read at most at a time (each block is four times the previous one)."""

_NOT_WHITESPACE = re.compile(b"[^" + re.escape(PDF_WHITESPACE) + b"]")
_BLANKS = PDF_WHITESPACE.replace(b"\r", b"").replace(b"\n", b"")
_NOT_BLANK = re.compile(b"[^" + re.escape(_BLANKS) + b"]")
_END_OF_LINE = re.compile(b"[\r\n]")
_CLASSES: dict[bytes, re.Pattern[bytes]] = {}
_NUMBER_END = generic.NumberObject.NumberPattern
_ORIGINAL_READ_UNTIL_CLASS: Final = misc._read_until_class
_ORIGINAL_READ_UNTIL_REGEX: Final = misc.read_until_regex
ORIGINAL_DECODE_NAME: Final = generic._decode_name
_HEX_RUN = re.compile(b"[0-9A-Fa-f" + re.escape(PDF_WHITESPACE) + b"]*")
ORIGINAL_READ_HEX_STRING: Final = generic.read_hex_string_from_stream
_PLAIN_NAME = re.compile(rb"[^\x00-\x20\x7f-\xff#()<>\[\]{}/%]*")


def _skip_to(stream: IO[bytes], stop: re.Pattern[bytes], skips: bytes | None = None) -> tuple[int, bytes]:
    """Read up to and including the first byte matching ``stop``: how many bytes came before it, and that byte.

    At the end of the stream the byte is ``b""`` and the stream is left at its end, as pyHanko's ``read(1)`` loops.
    With ``skips`` (the bytes ``stop`` does not match), the first byte is read alone: most calls, between two tokens
    or between the digits of a hex string, stop at once, and cost what pyHanko's loop costs.
    """
    skipped = 0
    if skips is not None:
        first = stream.read(1)
        if not first or first not in skips:
            return 0, first
        skipped = 1
    size = FIRST_BLOCK
    while True:
        block = stream.read(size)
        if not block:
            return skipped, b""
        found = stop.search(block)
        if found is not None:
            at = found.start()
            stream.seek(at + 1 - len(block), os.SEEK_CUR)
            return skipped + at, block[at : at + 1]
        skipped += len(block)
        size = min(size * 4, LARGEST_BLOCK)


def read_non_whitespace(stream: IO[bytes], seek_back: bool = False, allow_eof: bool = False) -> bytes:
    """The next byte that is neither whitespace nor in a comment (pyHanko's ``misc.read_non_whitespace``)."""
    while True:
        _, token = _skip_to(stream, _NOT_WHITESPACE, PDF_WHITESPACE)
        if not token:
            if allow_eof:
                return b""
            raise PdfStreamError("Stream ended prematurely")
        if token != b"%":
            break
        stream.seek(-1, os.SEEK_CUR)
        skip_over_comments(stream)
    if seek_back:
        stream.seek(-1, os.SEEK_CUR)
    return token


def skip_over_whitespace(stream: IO[bytes], stop_after_eol: bool = False, error_on_end_of_stream: bool = True) -> bool:
    """Skip whitespace (up to and including the first end of line with ``stop_after_eol``); whether more than one
    byte was read (pyHanko's ``misc.skip_over_whitespace``, which also says ``True`` at the end of the stream)."""
    if stop_after_eol:
        skipped, token = _skip_to(stream, _NOT_BLANK, _BLANKS)
    else:
        skipped, token = _skip_to(stream, _NOT_WHITESPACE, PDF_WHITESPACE)
    if not token:
        if error_on_end_of_stream:
            raise PdfStreamError("Stream ended prematurely")
        return True
    more_than_one = skipped > 0
    if stop_after_eol:
        if token == b"\n":
            return more_than_one
        if token == b"\r":
            following = stream.read(1)
            if following == b"\n" or not following:
                return more_than_one
            # a CR alone is an end of line too: leave the stream just after it
    stream.seek(-1, os.SEEK_CUR)
    return more_than_one


def skip_over_comments(stream: IO[bytes], error_on_end_of_stream: bool = True) -> bool:
    """Skip comments and the whitespace after each; whether there was one (pyHanko's ``misc.skip_over_comments``)."""
    token = stream.read(1)
    seen = False
    while token == b"%":
        seen = True
        _skip_to(stream, _END_OF_LINE)
        skip_over_whitespace(stream, error_on_end_of_stream=error_on_end_of_stream)
        token = stream.read(1)
    if token:
        stream.seek(-1, os.SEEK_CUR)
    return seen


def _read_until_class(class_chars: bytes, stream: IO[bytes], maxchars: int | None = None) -> tuple[bytes, bool]:
    """The bytes before the first of ``class_chars`` (which is read too), and whether the stream ended first
    (pyHanko's ``misc._read_until_class``, behind ``read_until_delimiter`` and ``read_until_whitespace``).

    pyHanko keeps each byte as a ``bytes`` of its own before joining them: a 4 MB name cost 2 s and 356 MB.
    """
    if maxchars is not None:  # the 20 bytes of the header: pyHanko's own loop
        read: tuple[bytes, bool] = _ORIGINAL_READ_UNTIL_CLASS(class_chars, stream, maxchars=maxchars)
        return read
    stop = _CLASSES.get(class_chars)
    if stop is None:
        stop = _CLASSES.setdefault(class_chars, re.compile(b"[" + re.escape(class_chars) + b"]"))
    parts: list[bytes] = []
    size = FIRST_BLOCK
    while True:
        block = stream.read(size)
        if not block:
            return b"".join(parts), True
        found = stop.search(block)
        if found is not None:
            at = found.start()
            stream.seek(at + 1 - len(block), os.SEEK_CUR)
            parts.append(block[:at])
            return b"".join(parts), False
        parts.append(block)
        size = min(size * 4, LARGEST_BLOCK)


def read_until_regex(stream: IO[bytes], regex: re.Pattern[bytes], ignore_eof: bool = False) -> bytes:
    """The bytes before the first match of ``regex``, left unread (pyHanko's ``misc.read_until_regex``).

    pyHanko reads 16 bytes at a time and adds each to the result with ``+=``: quadratic, 13 s for a number of a
    million digits. For the one pattern pyHanko passes (a number's end: one byte that cannot be in a number) the
    blocks may be of any size; any other pattern gets pyHanko's own function.
    """
    if regex is not _NUMBER_END:
        token: bytes = _ORIGINAL_READ_UNTIL_REGEX(stream, regex, ignore_eof=ignore_eof)
        return token
    parts: list[bytes] = []
    size = FIRST_BLOCK
    while True:
        block = stream.read(size)
        if not block:
            if ignore_eof:
                return b"".join(parts)
            raise PdfStreamError("Stream has ended unexpectedly")
        found = regex.search(block)
        if found is not None:
            parts.append(block[: found.start()])
            stream.seek(found.start() - len(block), os.SEEK_CUR)
            return b"".join(parts)
        parts.append(block)
        size = min(size * 4, LARGEST_BLOCK)


def _decode_name(name_bytes: bytes) -> generic.NameObject:
    """A name from its bytes after the ``/`` (pyHanko's ``generic._decode_name``).

    pyHanko checks and copies a name one byte at a time (0.2 s a MB); a name of plain printable ASCII bytes, with no
    ``#`` escape and no delimiter, is the same name in one step, and any other gets pyHanko's own function (its
    escapes, its errors, its UTF-8 then Latin-1 decoding).
    """
    if _PLAIN_NAME.fullmatch(name_bytes):
        return generic.NameObject("/" + name_bytes.decode("ascii"))
    name: generic.NameObject = ORIGINAL_DECODE_NAME(name_bytes)
    return name


def read_hex_string_from_stream(stream: IO[bytes]) -> generic.ByteStringObject | generic.TextStringObject:
    """A hex string ``<…>`` (pyHanko's ``generic.read_hex_string_from_stream``).

    pyHanko reads each digit with ``read_non_whitespace`` and keeps it as a ``bytes`` of its own: 4 MB of digits
    cost 2.4 s and 356 MB. Here runs of digits and whitespace are taken from blocks; a comment inside is skipped by
    ``skip_over_comments`` as pyHanko does, and any other byte raises pyHanko's error, just after it.
    """
    stream.read(1)
    digits: list[bytes] = []
    size = FIRST_BLOCK
    while True:
        block = stream.read(size)
        if not block:
            raise PdfStreamError("Stream ended prematurely")
        run = _HEX_RUN.match(block)
        end = run.end() if run is not None else 0
        digits.append(block[:end])
        if end == len(block):
            size = min(size * 4, LARGEST_BLOCK)
            continue
        token = block[end : end + 1]
        stream.seek(end + 1 - len(block), os.SEEK_CUR)
        if token == b">":
            break
        if token == b"%":
            stream.seek(-1, os.SEEK_CUR)
            skip_over_comments(stream)
            continue
        raise PdfStreamError("Unexpected token in hex string: " + repr(token))
    hexadecimal = b"".join(digits).translate(None, PDF_WHITESPACE)
    if len(hexadecimal) % 2:
        hexadecimal += b"0"
    return generic.pdf_string(binascii.unhexlify(hexadecimal))


def _last_end_of_line(stream: IO[bytes], start: int) -> int | None:
    """The offset of the last CR or LF at or before ``start``, but after offset 0 (pyHanko stops there)."""
    high = start
    while high >= 1:
        low = max(1, high - LARGEST_BLOCK + 1)
        stream.seek(low)
        block = stream.read(high + 1 - low)
        found = max(block.rfind(b"\n"), block.rfind(b"\r"))
        if found != -1:
            return low + found
        high = low - 1
    return None


def read_next_end_line(stream: IO[bytes]) -> bytes:
    """The line that ends at the stream's position, reading backwards (pyHanko's ``reader.read_next_end_line``).

    pyHanko reads the line one byte at a time backwards, keeping each byte as a Python int (4 MB of spaces after
    ``%%EOF``: 0.8 s and 39 MB), then the run of end-of-line bytes before it, two at a time. The line is found here
    with ``rfind`` on blocks, and the run of end-of-line bytes checked on slices; pyHanko's own loop takes over only
    for the last two bytes of the file, where its seeks may go before the start.
    """
    start = stream.tell()
    if start == 0:
        raise PdfReadError("Could not read malformed PDF file")
    if not stream.read(1):
        raise PdfReadError("EOL marker not found")
    end_of_line = _last_end_of_line(stream, start)
    if end_of_line is None:
        stream.seek(0)
        raise PdfReadError("Could not read malformed PDF file")
    stream.seek(end_of_line + 1)
    line = stream.read(start - end_of_line)
    # pyHanko then looks at the bytes before the end of line, every other one, while they are CR or LF
    examined = end_of_line - 1
    crlf = False
    while examined >= 2:
        low = max(2, examined - 2 * (LARGEST_BLOCK - 1))
        low += (examined - low) % 2
        stream.seek(low)
        every_other = stream.read(examined + 1 - low)[::-2]
        run = len(every_other) - len(every_other.lstrip(b"\r\n"))
        if run < len(every_other):
            crlf = crlf or run > 0
            stream.seek(examined - 2 * run - 1 + (2 if crlf else 1))
            return line
        crlf = True
        examined -= 2 * len(every_other)
    stream.seek(examined)
    byte = b"\n"
    while byte in (b"\n", b"\r"):  # pyHanko's loop for the first two bytes of the file
        before = stream.tell()
        byte = stream.read(1)
        if byte in (b"\n", b"\r"):
            stream.seek(-1, os.SEEK_CUR)
            crlf = True
        if stream.seek(-2, os.SEEK_CUR) == before:
            # a BytesIO stops a seek at 0: pyHanko would read the byte at 0 again, for ever
            break
    stream.seek(2 if crlf else 1, os.SEEK_CUR)
    return line


ORIGINALS: Final = {
    "read_until_regex": misc.read_until_regex,
    "read_non_whitespace": misc.read_non_whitespace,
    "skip_over_whitespace": misc.skip_over_whitespace,
    "skip_over_comments": misc.skip_over_comments,
}
"""pyHanko's own functions (the tests compare with them)."""

_REPLACEMENTS: Final = {
    "read_until_regex": read_until_regex,
    "read_non_whitespace": read_non_whitespace,
    "skip_over_whitespace": skip_over_whitespace,
    "skip_over_comments": skip_over_comments,
}

ORIGINAL_READ_NEXT_END_LINE: Final = reader.read_next_end_line
"""pyHanko's own backwards line reader (the tests compare with it)."""

for _module in (misc, generic, content_stream_parser):
    for _name, _replacement in _REPLACEMENTS.items():
        if vars(_module).get(_name) is ORIGINALS[_name]:
            vars(_module)[_name] = _replacement
if vars(generic)["read_hex_string_from_stream"] is ORIGINAL_READ_HEX_STRING:
    vars(generic)["read_hex_string_from_stream"] = read_hex_string_from_stream
if vars(generic)["_decode_name"] is ORIGINAL_DECODE_NAME:
    vars(generic)["_decode_name"] = _decode_name
if vars(misc)["_read_until_class"] is _ORIGINAL_READ_UNTIL_CLASS:
    vars(misc)["_read_until_class"] = _read_until_class
if vars(reader)["read_next_end_line"] is ORIGINAL_READ_NEXT_END_LINE:
    vars(reader)["read_next_end_line"] = read_next_end_line
