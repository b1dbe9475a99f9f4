"""Small, valid sample PDFs of any size, for the demo, the tests and the benchmarks.

Written by hand (a classic xref table, one page per ``pages``), with an optional incompressible image per page to
reach a target size, so nothing outside the standard library is needed to make them.
"""

from __future__ import annotations

import io
import os

__all__ = ["sample_pdf"]


def _obj(number: int, body: bytes) -> bytes:
    return b"%d 0 obj\n%s\nendobj\n" % (number, body)


def _stream(number: int, header: bytes, data: bytes) -> bytes:
    return _obj(number, b"<< %s /Length %d >>\nstream\n%s\nendstream" % (header, len(data), data))


def sample_pdf(*, pages: int = 1, size: int = 0, title: str = "Sample document") -> bytes:
    """A PDF of ``pages`` A4 pages with a line of text each, padded with images to about ``size`` bytes."""
    pages = max(pages, 1)
    filler_per_page = max(size - 2000 * pages, 0) // pages
    side = int((filler_per_page / 3) ** 0.5) if filler_per_page else 0
    objects: dict[int, bytes] = {}
    page_numbers = []
    next_number = 4
    for index in range(pages):
        page_no, content_no = next_number, next_number + 1
        image_no = next_number + 2 if side else None
        next_number += 3 if side else 2
        text = f"{title} - page {index + 1} of {pages}".encode("latin-1", "replace")
        draw = b"BT /F1 16 Tf 72 770 Td (%s) Tj ET" % text.replace(b"(", b"[").replace(b")", b"]")
        resources = b"/Font << /F1 3 0 R >>"
        if image_no is not None:
            draw += b" q 200 0 0 200 72 400 cm /Im1 Do Q"
            resources += b" /XObject << /Im1 %d 0 R >>" % image_no
            pixels = os.urandom(side * side * 3)
            objects[image_no] = _stream(
                image_no,
                b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8"
                % (side, side),
                pixels,
            )
        objects[page_no] = _obj(
            page_no,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << %s >> /Contents %d 0 R >>"
            % (resources, content_no),
        )
        objects[content_no] = _stream(content_no, b"", draw)
        page_numbers.append(page_no)
    objects[1] = _obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = b" ".join(b"%d 0 R" % n for n in page_numbers)
    objects[2] = _obj(2, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages))
    objects[3] = _obj(3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(objects[number])
    xref_at = out.tell()
    count = max(objects) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % count)
    for number in range(1, count):
        out.write(b"%010d 00000 n \n" % offsets[number])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref_at))
    return out.getvalue()
