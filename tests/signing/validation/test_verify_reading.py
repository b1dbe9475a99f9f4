"""The shortcuts the verifier takes when reading PDFs give exactly what pyHanko's own reading gives."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from signing.pades.reading.repair import read_repaired
from signing.pades.reading.signature_dictionary_cache import cache_signature_dictionary
from signing.validation import Indication, UnusableInputError, ValidationPolicy, verify_file
from tests.signing.signed_pdfs import ThrowawayPki, add_dss_crl, blank_pdf, pki_fixture, sign, verify
from tests.signing.validation.test_verify_corpus import CORPUS, ROWS

pki = pki_fixture()

READABLE = [r for r in ROWS if r.cls != "malformed"]


def _reader(data: bytes) -> PdfFileReader:
    """The reader the verifier uses: pyHanko's lenient one, else the one over scanned revisions."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        _ = reader.root
        return reader
    except Exception:
        return read_repaired(io.BytesIO(data), len(data)).reader


def _dictionaries(data: bytes, *, shortcut: bool) -> list[tuple[str, dict[str, object]]]:
    reader = _reader(data)
    out = []
    for name, value, _ in enumerate_sig_fields(reader, filled_status=True):
        if shortcut:
            cache_signature_dictionary(reader, value, 4 << 20)
        sig = value.get_object()
        flat = {key: sig.raw_get(key).original_bytes if key == "/Contents" else repr(sig.raw_get(key)) for key in sig}
        out.append((name, flat))
    return out


def _cached(data: bytes) -> list[bool]:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    out = []
    for _, value, _ in enumerate_sig_fields(reader, filled_status=True):
        cache_signature_dictionary(reader, value, 4 << 20)
        out.append(reader.cache_get_indirect_object(value.generation, value.idnum) is not None)
    return out


@pytest.mark.parametrize("row", READABLE, ids=[r.file.rsplit("/", 1)[-1] for r in READABLE])
def test_signature_dictionaries_read_fast_are_the_ones_pyhanko_reads(row: object) -> None:
    data = (CORPUS / row.file).read_bytes()  # type: ignore[attr-defined]
    try:
        expected = _dictionaries(data, shortcut=False)
    except Exception:
        # Neither reading works: the verifier refuses the file, so no signature of it is read at all.
        with pytest.raises(UnusableInputError):
            verify_file(CORPUS / row.file, ValidationPolicy())  # type: ignore[attr-defined]
        return
    assert expected, "every readable corpus file has a signature"
    assert _dictionaries(data, shortcut=True) == expected


def test_the_shortcut_is_taken_for_an_ordinary_signature(pki: ThrowawayPki) -> None:
    assert _cached(sign(pki, blank_pdf(), level="B-B")) == [True]


def test_a_contents_string_outside_the_gap_is_left_to_pyhanko(pki: ThrowawayPki) -> None:
    # Signature wrapping: the /Contents value no longer lies in the ByteRange gap.
    assert _cached((CORPUS / "dss/siwa.pdf").read_bytes()) == [False]


def test_a_contents_string_with_a_comment_is_left_to_pyhanko(pki: ThrowawayPki, tmp_path: Path) -> None:
    signed = sign(pki, blank_pdf(), level="B-B")
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    # Padding zeros at the end of the placeholder: put a comment there (still the same value for pyHanko).
    end = signed.index(b">", start)
    commented = signed[: end - 8] + b"%0000\n00" + signed[end:]
    assert _cached(commented) == [False]
    assert _dictionaries(commented, shortcut=True) == _dictionaries(commented, shortcut=False)
    report = verify(commented, pki.trusted())
    assert report.signatures[0].integrity["intact"] is True
    assert not report.signatures[0].coverage["gap_is_signature_value"]  # only hex digits belong in the gap


def test_generic_reading_is_unchanged_for_other_strings() -> None:
    # The shortcut never touches pyHanko's own parser: a hex string elsewhere reads as before.
    stream = io.BytesIO(b"<48 65 6c6c6f2>")
    assert generic.read_object(stream, None).original_bytes == b"Hello "  # type: ignore[arg-type]


def test_certificate_facts_are_per_certificate_and_junk_is_refused(pki: ThrowawayPki) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.pades.reading import certificate_facts_from_der

    root = certificate_facts_from_der(pki.root_der)
    signer = certificate_facts_from_der(pki.signer.public_bytes(Encoding.DER))
    assert (root.common_name, signer.common_name) == ("Ấn Tín Test Root CA", "Nguyễn Thị Hồng Nhung")
    assert root.self_signed and not signer.self_signed
    with pytest.raises(ValueError):
        certificate_facts_from_der(b"\x30\x03\x02\x01\x00")


def test_trust_lists_do_not_leak_between_policies(pki: ThrowawayPki) -> None:
    signed = sign(pki, blank_pdf(), level="B-LT")
    assert verify(signed, pki.trusted()).signatures[0].trust_anchor is not None
    assert verify(signed, pki.untrusted()).signatures[0].trust_anchor is None
    assert verify(signed, pki.trusted()).signatures[0].trust_anchor is not None


# -- snapshots identify stream data by place first, and hash it only when places differ ------------------------


def _rewrite_content_stream(pdf: bytes) -> bytes:
    """An update that writes the page's content stream again, byte for byte, at a new place."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0]
    writer.mark_update(page.raw_get("/Contents"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_content_rewritten_unchanged_elsewhere_is_no_change(pki: ThrowawayPki) -> None:
    signed = sign(pki, blank_pdf(), level="B-B")
    rewritten = _rewrite_content_stream(signed)
    assert len(rewritten) > len(signed) + 50  # the stream really was written again
    sig = verify(rewritten, pki.trusted()).signatures[0]
    assert not [m for m in sig.modifications if m["kind"] == "page-content"]


def _raw_pdf_with_indirect_length(content: bytes) -> bytes:
    """A one-page PDF whose content stream takes its /Length from another object (object 5)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
        b"<< /Length 5 0 R >>\nstream\n" + content + b"\nendstream",
        str(len(content)).encode(),
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _append_update(pdf: bytes, number: int, body: bytes) -> bytes:
    """An incremental update, written by hand, that redefines object ``number``."""
    import re

    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = max(int(v) for v in re.findall(rb"/Size (\d+)", pdf))
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    out = bytearray(pdf)
    offset = len(out)
    out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n%d 1\n%010d 00000 n \n" % (number, offset)
    out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, prev, xref)
    return bytes(out)


SHOWN = b"BT /F1 14 Tf 72 760 Td (So tien: 1.000.000 dong) Tj ET"
CONDITION = b"BT /F1 14 Tf 72 700 Td (Chi ap dung trong nam 2026) Tj ET"


def test_indirect_length_cut_after_signing_is_a_content_change(pki: ThrowawayPki) -> None:
    # The content holds a stray "endstream" after the amount; readers skip the unknown operator and show the
    # condition after it. Cutting /Length (another object) to end there hides the condition, and pyHanko reads
    # every revision's stream with the newest /Length: only the length itself tells the revisions apart.
    content = SHOWN + b"\nendstream\n" + CONDITION
    signed = add_dss_crl(sign(pki, _raw_pdf_with_indirect_length(content), level="B-B"), pki.crl())
    assert verify(signed, pki.trusted()).signatures[0].indication is Indication.TOTAL_PASSED
    sig = verify(_append_update(signed, 5, str(len(SHOWN)).encode()), pki.trusted()).signatures[0]
    assert sig.integrity["intact"] is True
    assert sig.indication is Indication.TOTAL_FAILED
    assert any(m["kind"] == "page-content" and m["severity"] == "failure" for m in sig.modifications), sig.modifications


@pytest.mark.parametrize("delta", [-20, 5])
def test_indirect_length_that_breaks_the_stream_never_passes(pki: ThrowawayPki, delta: int) -> None:
    content = SHOWN + b"\n" + CONDITION
    signed = add_dss_crl(sign(pki, _raw_pdf_with_indirect_length(content), level="B-B"), pki.crl())
    sig = verify(_append_update(signed, 5, str(len(content) + delta).encode()), pki.trusted()).signatures[0]
    assert sig.indication is not Indication.TOTAL_PASSED
    assert any(m["kind"] == "unreadable-object" for m in sig.modifications), sig.modifications


def test_any_pdf_white_space_may_separate_the_signature_digits(pki: ThrowawayPki) -> None:
    signed = add_dss_crl(sign(pki, blank_pdf(), level="B-B"), pki.crl())
    end = signed.index(b">", signed.index(b"/Contents <"))
    spaced = signed[: end - 4] + b"\x00\x0c" + signed[end - 2 :]  # one padding byte becomes NUL and form feed
    sig = verify(spaced, pki.trusted()).signatures[0]
    assert sig.coverage["gap_is_signature_value"] is True  # not taken for signature wrapping
    assert sig.integrity["intact"] is True
    # (pyHanko's coverage check counts two digits per byte, so it still calls such a gap non-contiguous.)
