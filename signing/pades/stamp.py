"""Draws an :class:`~signing.appearance.Appearance` as a signature field's appearance stream.

Layout, inside the field's box: the image (signature or seal) on the left, the QR code on the right, the text lines
between them, scaled to fit. Text is shaped by HarfBuzz and drawn with the embedded (subset) OpenType font, with a
ToUnicode map, so Vietnamese diacritics render and ``pdftotext`` extracts them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import qrcode
from PIL import Image
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.qr import PdfStreamQRImage
from pyhanko.pdf_utils.text import TextBox, TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter, init_xobject_dictionary
from pyhanko.stamp import BaseStamp, BaseStampStyle

from signing.appearance import Appearance

__all__ = ["AppearanceStampStyle"]

PAD = 3.0
FONT_SIZE = 10
LEADING = 13


class _ThousandUnitGlyphs(GlyphAccumulator):
    """pyHanko 0.38 writes glyph widths and TJ offsets in font units, but PDF reads them in 1/1000 em: right
    for 1000-unit fonts (Noto), 2.048 times too wide for 2048-unit ones (DejaVu). Shaping at 1000 units per em
    and scaling the widths makes both right."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._em_scale = 1000 / self.units_per_em
        self._glyphs = {gid: (cid, round(w * self._em_scale)) for gid, (cid, w) in self._glyphs.items()}
        self._scaled_ids = set(self._glyphs)
        self.hb_font.scale = (1000, 1000)
        self.units_per_em = 1000

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        if glyph_id in self._scaled_ids:
            return self._glyphs[glyph_id]
        cid, width = super()._get_cid_and_width(glyph_id)
        self._glyphs[glyph_id] = result = (cid, round(width * self._em_scale))
        self._scaled_ids.add(glyph_id)
        return result


@dataclass(frozen=True)
class _FontFactory(GlyphAccumulatorFactory):
    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return _ThousandUnitGlyphs(
            writer=writer,
            font_handle=open(self.font_file, "rb"),
            font_size=self.font_size,
            obj_stream=obj_stream,
        )


@dataclass(frozen=True)
class AppearanceStampStyle(BaseStampStyle):
    appearance: Appearance | None = None
    border_width: int = 1
    background: Any = field(default=None)

    def create_stamp(
        self, writer: BasePdfFileWriter, box: layout.BoxConstraints, text_params: dict[str, Any]
    ) -> AppearanceStamp:
        return AppearanceStamp(writer, self, box)


class AppearanceStamp(BaseStamp):
    def __init__(self, writer: BasePdfFileWriter, style: AppearanceStampStyle, box: layout.BoxConstraints) -> None:
        super().__init__(writer, style, box)
        assert style.appearance is not None
        self.appearance: Appearance = style.appearance

    def render(self) -> bytes:
        color = self.appearance.color
        # Frame and text in the appearance's colour (navy for officials, red for seals).
        return b"q %g %g %g RG %s Q" % (*color, super().render())

    def _render_inner_content(self) -> list[bytes]:
        width, height = self.box.width, self.box.height
        if height >= 0.75 * width:
            return self._stacked(width, height)
        # One row: image on the left, QR code on the right, text between, all centred vertically. Image and QR
        # are square, at most 30 % of the width each, so that the text keeps a readable size.
        side = max(min(height - 2 * PAD, width * 0.3), 1.0)
        bottom = (height - side) / 2
        commands: list[bytes] = []
        left = PAD
        right = width - PAD
        if self.appearance.image_png is not None:
            commands.append(self._image(self.appearance.image_png, PAD, bottom, side))
            left += side + PAD
        if self.appearance.qr_url:
            commands.append(self._qr(self.appearance.qr_url, right - side, bottom, side))
            right -= side + PAD
        commands.append(self._text(left, PAD, max(right - left, 1.0), height - 2 * PAD))
        return commands

    def _stacked(self, width: float, height: float) -> list[bytes]:
        """A tall box (a seal, typically): image and QR code side by side on top, the text across the bottom."""
        side = max(min((width - 3 * PAD) / 2, height * 0.6), 1.0)
        top = height - PAD - side
        commands: list[bytes] = []
        if self.appearance.image_png is not None:
            commands.append(self._image(self.appearance.image_png, PAD, top, side))
        if self.appearance.qr_url:
            commands.append(self._qr(self.appearance.qr_url, width - PAD - side, top, side))
        commands.append(self._text(PAD, PAD, max(width - 2 * PAD, 1.0), max(top - 2 * PAD, 1.0)))
        return commands

    def _image(self, png: bytes, x: float, y: float, side: float) -> bytes:
        image = Image.open(io.BytesIO(png))
        image.load()
        scale = min(side / image.width, side / image.height)
        w, h = image.width * scale, image.height * scale
        content = PdfImage(image, writer=self.writer, box=layout.BoxConstraints(w, h))
        drawn = content.render()
        self.import_resources(content.resources)
        return b"q 1 0 0 1 %g %g cm %s Q" % (x + (side - w) / 2, y + (side - h) / 2, drawn)

    def _qr(self, url: str, x: float, y: float, side: float) -> bytes:
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=1)
        qr.add_data(url)
        qr.make()
        img = qr.make_image(image_factory=PdfStreamQRImage)
        natural = (qr.modules_count + 2 * qr.border) * qr.box_size
        xobject = init_xobject_dictionary(img.render_command_stream(), natural, natural)
        xobject.compress()
        writer = self.writer
        assert writer is not None
        self.set_resource(category=ResourceType.XOBJECT, name=pdf_name("/QR"), value=writer.add_object(xobject))
        scale = side / natural
        return b"q %g 0 0 %g %g %g cm /QR Do Q" % (scale, scale, x, y)

    def _text(self, x: float, y: float, width: float, height: float) -> bytes:
        style = TextBoxStyle(
            font=_FontFactory(str(self.appearance.font)),
            font_size=FONT_SIZE,
            leading=LEADING,
            text_color=self.appearance.color,
            box_layout_rule=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN,
                y_align=layout.AxisAlignment.ALIGN_MAX,
                margins=layout.Margins.uniform(0),
            ),
        )
        box = TextBox(style, writer=self.writer, resources=self.resources, box=None)
        box.content = "\n".join(self.appearance.lines)
        drawn = box.render()
        natural_w, natural_h = box.box.width, box.box.height
        scale = min(width / natural_w, height / natural_h, 1.4)
        offset_y = y + (height - natural_h * scale) / 2
        return b"q %g 0 0 %g %g %g cm %s Q" % (scale, scale, x, offset_y, drawn)
