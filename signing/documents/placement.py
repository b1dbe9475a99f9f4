"""Where the visible signature goes on a page, and whether it would cover what the page already shows.

The default is the bottom of the last page, on the right, where Vietnamese official documents carry the
signer's block (Decree 30/2020, appendix I). The check for covered content reads the page's own preview, as
the official sees it: the share of inked pixels (text, lines, drawings, images) under the box. A box on blank
paper has none; any glyph or stroke under it is counted, so a warning is given before the stamp is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from signing.documents.previews import PageSize

__all__ = [
    "DEFAULT_HEIGHT",
    "DEFAULT_WIDTH",
    "Box",
    "clamp_box",
    "covers_content",
    "default_box",
    "default_seal_box",
    "ink_under",
]

DEFAULT_WIDTH = 220.0
DEFAULT_HEIGHT = 80.0
DEFAULT_SEAL_WIDTH = 200.0
MARGIN = 36.0  # half an inch: off the printer's unprintable edge
MIN_WIDTH, MIN_HEIGHT = 40.0, 20.0  # what signing.appearance.parse_visible accepts
INK_LEVEL = 170  # grey level (0 black … 255 white) below which a pixel is ink
INK_SHARE = 0.003  # share of inked pixels from which the box is said to cover content


@dataclass(frozen=True)
class Box:
    """A 1-based page and a rectangle in PDF points, origin at the page's lower left (as pyHanko takes it)."""

    page: int
    x: float
    y: float
    width: float
    height: float


def default_box(sizes: list[PageSize]) -> Box:
    last = sizes[-1]
    width = min(DEFAULT_WIDTH, last.width - 2 * MARGIN)
    return Box(len(sizes), max(0.0, last.width - MARGIN - width), MARGIN * 1.5, width, DEFAULT_HEIGHT)


def default_seal_box(sizes: list[PageSize]) -> Box:
    """The records office's seal: left of the signer's block at the same height, so that neither hides the other."""
    signer = default_box(sizes)
    width = min(DEFAULT_SEAL_WIDTH, max(MIN_WIDTH, signer.x - MARGIN / 3))
    return Box(signer.page, max(0.0, signer.x - width - MARGIN / 3), signer.y, width, DEFAULT_HEIGHT)


def clamp_box(box: Box, sizes: list[PageSize]) -> Box:
    """The box moved and shrunk to lie on an existing page, no smaller than the signature field allows."""
    page = min(max(1, box.page), len(sizes))
    size = sizes[page - 1]
    values = [v if math.isfinite(v) else 0.0 for v in (box.x, box.y, box.width, box.height)]
    width = min(max(MIN_WIDTH, values[2]), size.width)
    height = min(max(MIN_HEIGHT, values[3]), size.height)
    x = min(max(0.0, values[0]), size.width - width)
    y = min(max(0.0, values[1]), size.height - height)
    return Box(page, round(x, 1), round(y, 1), round(width, 1), round(height, 1))


def ink_under(box: Box, size: PageSize, preview: Path) -> float:
    """The share (0–1) of the box's area that is inked on the page's preview."""
    from PIL import Image  # loaded by the first preview measured, not by every worker

    with Image.open(preview) as image:
        scale_x = image.width / size.width
        scale_y = image.height / size.height
        left = int(box.x * scale_x)
        right = math.ceil((box.x + box.width) * scale_x)
        top = int((size.height - box.y - box.height) * scale_y)
        bottom = math.ceil((size.height - box.y) * scale_y)
        region = image.convert("L").crop((left, top, right, bottom))
    histogram = region.histogram()
    total = sum(histogram)
    return sum(histogram[:INK_LEVEL]) / total if total else 0.0


def covers_content(share: float) -> bool:
    return share >= INK_SHARE
