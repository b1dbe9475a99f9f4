"""pyHanko's whitespace skipping, read a block at a time (signing/pades/whitespace.py).

The replacements are compared with pyHanko's own functions, from a pristine copy of its ``misc`` module (the
loaded one has the replacements in place), on many inputs: every whitespace byte, comments, ends of line, the end
of the stream, runs across the block sizes. A hostile PDF full of whitespace is then verified with its verdict
unchanged, and the reads it costs counted (pyHanko read one byte per call: millions).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import random
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from pyhanko.pdf_utils import generic, misc, reader

from signing.pades import whitespace
from signing.validation import verify_bytes
from signing.validation.service import verify_stream
from tests.signing.bombs import object_stream_bomb_pdf, with_whitespace_update
from tests.signing.signed_pdfs import ThrowawayPki, blank_pdf, pki_fixture, sign

pki = pki_fixture()

MiB = 1024 * 1024
ALPHABET = b" \n\r\t\f\x00%ab/(<09.-"
# where the blocks read end: 16, then four times as much each time up to 64 KB (16 + 64 + … + 65,536 = 87,376)
BLOCK_EDGES = [0, 1, 2, 15, 16, 17, 79, 80, 81, 335, 336, 337, 1360, 1361, 5456, 21840, 87376, 87377, 152_912]


def _pristine_misc() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pristine_pyhanko_misc", misc.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PRISTINE = _pristine_misc()


class CountingStream(io.BytesIO):
    """A BytesIO that counts its ``read`` calls."""

    reads = 0

    def read(self, size: int | None = -1) -> bytes:
        type(self).reads += 1
        return super().read(size)


def _outcome(function: Callable[..., Any], data: bytes, start: int, **flags: bool) -> tuple[Any, int]:
    stream = io.BytesIO(data)
    stream.seek(start)
    try:
        result = function(stream, **flags)
    except Exception as err:  # the same error, with the same words, is part of the semantics
        result = (type(err).__name__, str(err))
    return result, stream.tell()


def _inputs() -> list[tuple[bytes, int]]:
    rng = random.Random(14)
    cases = [(b"", 0), (b" ", 0), (b" ", 1), (b"%", 0), (b"%\r", 0), (b"%\r\n", 0), (b"\r", 0), (b"\r\n", 0)]
    for _ in range(3000):
        data = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        cases.append((data, rng.randint(0, len(data))))
    for run in BLOCK_EDGES:
        # pyHanko's own functions take about a microsecond a byte: the long runs with fewer variants
        fillers = (b" ", b"\x00", b"\n", b"\r", b"\t\f") if run < 2000 else (b"\x00", b"\r")
        endings = (b"", b"x", b"\rx", b"\r\nx", b"%c\n x", b"%c", b"% c\r\r\n\x00y") if run < 2000 else (b"", b"\r\nx")
        for filler in fillers:
            for ending in endings:
                cases.append(((filler * run)[:run] + ending, 0))
                cases.append((b"a" + (filler * run)[:run] + ending, 1))
    cases.append((b"%" + b"c" * 90_000 + b"\n" + b" " * 90_000 + b"%d\r" + b"\x00" * 70_000 + b"e", 0))
    return cases


CASES = _inputs()
FLAG_SETS: dict[str, list[dict[str, bool]]] = {
    "read_non_whitespace": [
        {"seek_back": seek_back, "allow_eof": allow_eof} for seek_back in (False, True) for allow_eof in (False, True)
    ],
    "skip_over_whitespace": [
        {"stop_after_eol": stop, "error_on_end_of_stream": error} for stop in (False, True) for error in (False, True)
    ],
    "skip_over_comments": [{"error_on_end_of_stream": error} for error in (False, True)],
    "read_until_regex": [
        {"regex": generic.NumberObject.NumberPattern, "ignore_eof": ignore} for ignore in (False, True)
    ],
}


@pytest.mark.parametrize("name", sorted(FLAG_SETS))
def test_each_replacement_answers_as_pyhankos_own_function(name: str) -> None:
    original = getattr(PRISTINE, name)
    replacement = getattr(whitespace, name)
    compared = 0
    for data, start in CASES:
        for flags in FLAG_SETS[name]:
            expected = _outcome(original, data, start, **flags)
            assert _outcome(replacement, data, start, **flags) == expected, (name, data[:60], start, flags)
            compared += 1
    assert compared > 8_000


def test_tokens_are_read_as_pyhanko_reads_them() -> None:
    classes = (misc.PDF_WHITESPACE, misc.PDF_WHITESPACE + misc.PDF_DELIMITERS)
    long_tokens = [(b"n" * run + ending, 0) for run in BLOCK_EDGES for ending in (b"", b" ", b"/x", b"\x00")]
    for data, start in CASES + long_tokens:
        for class_chars in classes:
            expected = _outcome(functools.partial(PRISTINE._read_until_class, class_chars), data, start)
            assert _outcome(functools.partial(misc._read_until_class, class_chars), data, start) == expected
        expected = _outcome(PRISTINE.read_until_delimiter, data, start)
        assert _outcome(misc.read_until_delimiter, data, start) == expected
    assert misc._read_until_class is not PRISTINE._read_until_class
    other = re.compile(b"ab")  # a pattern pyHanko's chunks of 16 bytes may split: its own function reads it
    split = _outcome(PRISTINE.read_until_regex, b"x" * 15 + b"ab", 0, regex=other)
    assert split == (("PdfStreamError", "Stream has ended unexpectedly"), 17)
    assert _outcome(whitespace.read_until_regex, b"x" * 15 + b"ab", 0, regex=other) == split


def test_names_are_decoded_as_pyhanko_decodes_them() -> None:
    original = whitespace.ORIGINAL_DECODE_NAME  # uses nothing this module replaces
    rng = random.Random(16)
    names = [b"", b"Type", b"A#20B", b"#", b"#4", b"#zz", b"a b", b"\xc3\xa9", b"\xe9", b"a(b", b"~!", b"\x7f"]
    names += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    names += [bytes(rng.choice(b"az09#~!-_.()\x80") for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    for name in names:
        expected = _outcome(lambda _: original(name), b"", 0)  # noqa: B023  (called at once)
        got = _outcome(lambda _: generic._decode_name(name), b"", 0)  # noqa: B023
        assert got == expected, name
        assert type(got[0]).__name__ == type(expected[0]).__name__, name


def test_hex_strings_are_read_as_pyhanko_reads_them() -> None:
    # pyHanko's own function calls read_non_whitespace and skip_over_comments: put its own ones back for it
    original = whitespace.ORIGINAL_READ_HEX_STRING
    rng = random.Random(17)
    cases = [b"<>", b"<", b"<a", b"<abc>", b"<4142>", b"<41 4 2>", b"<41%c\n42>", b"<41%c>", b"<4g>", b"<feff0041>"]
    cases += [b"<" + bytes(rng.choice(b"0af9F \n\x00%g>") for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    cases += [
        b"<" + b"ab" * (run // 2) + b" " * (run % 3) + ending for run in BLOCK_EDGES for ending in (b">", b"", b"%x\n>")
    ]
    for data in cases:
        with _pyhankos_own_skipping():
            expected = _outcome(original, data, 0)
        got = _outcome(whitespace.read_hex_string_from_stream, data, 0)
        assert got == expected, data[:60]
        assert type(got[0]).__name__ == type(expected[0]).__name__, data[:60]


@contextlib.contextmanager
def _pyhankos_own_skipping() -> Iterator[None]:
    replaced = {name: vars(generic)[name] for name in ("read_non_whitespace",)}
    vars(generic)["read_non_whitespace"] = PRISTINE.read_non_whitespace
    try:
        yield
    finally:
        vars(generic).update(replaced)


def test_a_number_of_a_million_digits_is_read_in_few_reads() -> None:
    CountingStream.reads = 0
    stream = CountingStream(b"1" * MiB + b".5 0 R")
    assert generic.NumberObject.read_from_stream(stream) == generic.FloatObject("1" * MiB + ".5")
    assert stream.read(2) == b" 0"
    assert CountingStream.reads < 100  # 65,536 before, each adding to a growing result: 13 s


def _end_line_inputs() -> list[tuple[bytes, int]]:
    rng = random.Random(15)
    cases = [(b"", 0), (b"", 3), (b"a", 0), (b"ab", 1), (b"\n", 0), (b"a\n", 1), (b"\na", 1), (b"ab", 5)]
    for _ in range(4000):
        data = bytes(rng.choice(b"\r\n a%") for _ in range(rng.randint(0, 30)))
        cases.append((data, rng.randint(0, len(data) + 1)))
    for run in BLOCK_EDGES[:-1]:
        for body in (b" " * run, b"\n" * run, b"\r\n" * (run // 2), b"x\r" * (run // 2)):
            for head in (b"", b"\n", b"%%EOF\r\n", b"x\n\r"):
                data = head + body + b"%%EOF"
                cases.append((data, len(data) - 1))
                cases.append((data + b"\n" + b" " * run, len(data) + run))
    return cases


class EndlessLoopError(Exception):
    """pyHanko's backwards reader read far more than the stream holds."""


class BoundedStream(io.BytesIO):
    """A BytesIO that stops a reader looping for ever over it."""

    def read(self, size: int | None = -1) -> bytes:
        self.reads = getattr(self, "reads", 0) + 1
        if self.reads > 3 * len(self.getvalue()) + 10:
            raise EndlessLoopError
        return super().read(size)


def test_the_backwards_line_reader_answers_as_pyhankos_own() -> None:
    endless = 0
    for data, start in _end_line_inputs():
        stream = BoundedStream(data)
        stream.seek(start)
        try:
            whitespace.ORIGINAL_READ_NEXT_END_LINE(stream)
        except EndlessLoopError:
            # CR/LF bytes from offset 0 on: pyHanko's seek back stops at 0 and it reads the same byte for ever
            endless += 1
            _outcome(whitespace.read_next_end_line, data, start)  # returns or raises, at once
            continue
        except Exception:  # the same error is expected of the replacement, just below
            pass
        expected = _outcome(whitespace.ORIGINAL_READ_NEXT_END_LINE, data, start)
        assert _outcome(whitespace.read_next_end_line, data, start) == expected, (data[:60], start)
    assert 0 < endless < 1000


def test_pyhankos_modules_call_the_replacements() -> None:
    from pyhanko.pdf_utils import content_stream_parser

    assert misc.read_non_whitespace is whitespace.read_non_whitespace
    assert vars(generic)["read_non_whitespace"] is whitespace.read_non_whitespace
    assert vars(generic)["skip_over_whitespace"] is whitespace.skip_over_whitespace
    assert vars(content_stream_parser)["skip_over_comments"] is whitespace.skip_over_comments
    assert misc.skip_over_comments is whitespace.skip_over_comments
    assert vars(reader)["read_next_end_line"] is whitespace.read_next_end_line
    assert vars(generic)["_decode_name"].__module__ == whitespace.__name__
    assert vars(generic)["read_hex_string_from_stream"] is whitespace.read_hex_string_from_stream


def test_ten_megabytes_of_whitespace_take_a_few_hundred_reads() -> None:
    CountingStream.reads = 0
    stream = CountingStream(b"\x00 \n\r\t\f" * (10 * MiB // 6) + b"%c\n" + b" " * MiB + b"x")
    assert whitespace.read_non_whitespace(stream) == b"x"
    assert stream.tell() == len(stream.getvalue())
    assert CountingStream.reads < 400  # one per byte before: 11.5 million


@pytest.fixture(scope="module")
def signed(pki: ThrowawayPki) -> bytes:
    pdf: bytes = sign(pki, blank_pdf(), level="B-LT")
    return pdf


@pytest.mark.parametrize("padding", [b" ", b"\x00", b"\n"])
def test_a_signed_pdf_padded_with_whitespace_keeps_its_verdict_in_few_reads(
    pki: ThrowawayPki, signed: bytes, padding: bytes
) -> None:
    padded = with_whitespace_update(signed, padding * (8 * MiB))
    plain = verify_bytes(with_whitespace_update(signed, b" "), pki.trusted())
    assert plain.indication.value == "TOTAL_PASSED"

    CountingStream.reads = 0
    report = _verify_counting(padded, pki)
    assert (report.indication, report.sub_indication) == (plain.indication, plain.sub_indication)
    assert [signature.indication.value for signature in report.signatures] == ["TOTAL_PASSED"]
    assert CountingStream.reads < 10_000  # pyHanko alone read the padding in 8.4 million calls


def test_object_streams_of_whitespace_are_read_in_few_reads(monkeypatch: pytest.MonkeyPatch, pki: ThrowawayPki) -> None:
    hostile = object_stream_bomb_pdf(7, 4_000_000, whitespace=b"\x00")
    # pyHanko reads each decoded object stream from a BytesIO of its own: count those reads
    monkeypatch.setattr(reader, "BytesIO", CountingStream)
    CountingStream.reads = 0
    report = verify_bytes(hostile, pki.trusted())
    assert report.indication.value == "NO_SIGNATURE"
    assert len(report.signatures) == 0
    assert 0 < CountingStream.reads < 10_000  # 28 million before


def _verify_counting(pdf: bytes, pki: ThrowawayPki) -> Any:
    return verify_stream(CountingStream(pdf), len(pdf), pki.trusted(), file_name="padded.pdf")


def test_whitespace_after_the_end_marker_is_read_backwards_in_few_reads(pki: ThrowawayPki, signed: bytes) -> None:
    # past the last 1 KB pyHanko finds no %%EOF and the file is read by repairing it: the verdict it had before the
    # replacement (read the same way, byte by byte: 0.85 s and +39 MB for 4 MB)
    CountingStream.reads = 0
    report = _verify_counting(signed + b" " * (8 * MiB), pki)
    assert (report.indication.value, report.sub_indication) == ("TOTAL_FAILED", "FORMAT_FAILURE")
    assert any("EOF marker not found" in warning for warning in report.warnings)
    assert CountingStream.reads < 10_000  # 8.4 million before
