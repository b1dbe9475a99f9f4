"""Write the verification report as a PDF with pyHanko's own writer and an embedded Unicode font.

No extra dependency (reportlab is not needed): pyHanko's OpenType engine embeds a subset of DejaVu Sans (or
Noto Sans), so Vietnamese diacritics render in every viewer. The layout is deliberately plain: lines of text
on A4 pages, with a coloured band beside each verdict (green, amber, red).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pyHanko's writer and fontTools load when a PDF report is written, not with `antin verify`
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PdfFileWriter

__all__ = ["FONT_CANDIDATES", "ReportLine", "write_report_pdf"]

# fontTools narrates every subset at INFO level: one line per table per report.
logging.getLogger("fontTools").setLevel(logging.WARNING)

# Noto first: pyHanko 0.38 writes glyph widths in font units, right only for fonts with 1000 units per em
# (Noto); DejaVu's 2048 units would double the spacing.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)
_WIDTH, _HEIGHT = 595.0, 842.0
_MARGIN = 48.0
_FONT_SIZE = 10
_LEADING = 13
_LINES_PER_PAGE = int((_HEIGHT - 2 * _MARGIN) // _LEADING)
_COLOURS = {"green": (0.13, 0.55, 0.13), "amber": (0.85, 0.55, 0.0), "red": (0.75, 0.1, 0.1)}


@dataclass(frozen=True)
class ReportLine:
    """One line of the report; ``band`` paints a coloured mark in the margin (a verdict)."""

    text: str
    band: str = ""


def _font(path: Path | None) -> Path:
    for candidate in ([path] if path else []) + list(FONT_CANDIDATES):
        if candidate is not None and candidate.is_file():
            return candidate
    raise FileNotFoundError("no Unicode font found (install fonts-dejavu-core)")


def _page(writer: PdfFileWriter, contents: generic.IndirectObject, resources: generic.PdfObject) -> None:
    from pyhanko.pdf_utils import generic

    page = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Page"),
            generic.pdf_name("/MediaBox"): generic.ArrayObject(
                [
                    generic.NumberObject(0),
                    generic.NumberObject(0),
                    generic.FloatObject(_WIDTH),
                    generic.FloatObject(_HEIGHT),
                ]
            ),
            generic.pdf_name("/Resources"): resources,
            generic.pdf_name("/Contents"): contents,
        }
    )
    writer.insert_page(page)


def write_report_pdf(lines: Sequence[ReportLine], *, title: str, font: Path | None = None) -> bytes:
    """The report as PDF bytes."""
    from pyhanko.pdf_utils import generic, layout
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.text import TextBox, TextBoxStyle
    from pyhanko.pdf_utils.writer import PdfFileWriter

    writer = PdfFileWriter()
    writer.set_info(generic.DictionaryObject({generic.pdf_name("/Title"): generic.TextStringObject(title)}))
    factory = GlyphAccumulatorFactory(str(_font(font)), font_size=_FONT_SIZE)
    style = TextBoxStyle(
        font=factory,
        font_size=_FONT_SIZE,
        leading=_LEADING,
        box_layout_rule=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MAX,
            inner_content_scaling=layout.InnerScaling.NO_SCALING,
        ),
    )
    chunks = [lines[i : i + _LINES_PER_PAGE] for i in range(0, len(lines), _LINES_PER_PAGE)] or [[]]
    for chunk in chunks:
        box = layout.BoxConstraints(width=_WIDTH - 2 * _MARGIN, height=_HEIGHT - 2 * _MARGIN)
        text = TextBox(style, writer, box=box)
        text.content = "\n".join(line.text for line in chunk) or " "
        bands = []
        for index, line in enumerate(chunk):
            if line.band in _COLOURS:
                r, g, b = _COLOURS[line.band]
                y = _HEIGHT - _MARGIN - (index + 1) * _LEADING + 2
                bands.append(b"q %g %g %g rg %g %g 6 %g re f Q" % (r, g, b, _MARGIN - 12, y, _LEADING - 2))
        body = text.render()
        stream = b" ".join([*bands, b"q 1 0 0 1 %g %g cm" % (_MARGIN, _MARGIN), body, b"Q"])
        _page(writer, writer.add_object(generic.StreamObject(stream_data=stream)), text.resources.as_pdf_object())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
