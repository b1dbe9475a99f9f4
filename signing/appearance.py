"""What a visible signature shows, decided here without any PDF library (``signing/pades/stamp.py`` draws it).

Following Decree 30/2020 practice: an official's signature shows the signature image, name, position, unit and
signing time; a unit's seal shows the red seal and the unit's name. Both show the signing time in Vietnam time
(UTC+7) and a QR code that links to the public verification page. Text is Vietnamese and is drawn with an embedded
Unicode font (DejaVu Sans by default) so that every diacritic renders and can be extracted.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from directory.models import Person, UnitRef

__all__ = [
    "DEFAULT_FONT",
    "VIETNAM_TIME",
    "Appearance",
    "VisibleBox",
    "default_seal_image",
    "find_image",
    "official_appearance",
    "parse_visible",
    "seal_appearance",
    "verification_url",
    "vietnam_time",
]

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
VIETNAM_TIME = timezone(timedelta(hours=7), "UTC+7")
SEAL_RED = (0.80, 0.05, 0.10)
INK_BLUE = (0.05, 0.15, 0.45)


@dataclass(frozen=True)
class VisibleBox:
    """Where a visible signature goes: 1-based page number, lower-left corner and size in PDF points."""

    page: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Appearance:
    lines: tuple[str, ...]
    """Text lines, drawn top down; the first is the heading."""
    font: Path
    """OpenType font embedded for the text (must cover Vietnamese)."""
    image_png: bytes | None
    """The official's signature image or the unit's seal, drawn on the left."""
    qr_url: str | None
    """Link to the verification page, drawn as a QR code on the right and as a link annotation."""
    color: tuple[float, float, float]
    """Colour of the text and the frame (RGB, 0–1)."""


def parse_visible(spec: str) -> VisibleBox:
    """Parse ``PAGE,X,Y,W,H`` (as ``--visible`` takes it); ValueError with a readable reason when malformed."""
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 5:
        raise ValueError("expected PAGE,X,Y,W,H (five numbers separated by commas)")
    try:
        page = int(parts[0])
        x, y, w, h = (float(p) for p in parts[1:])
    except ValueError:
        raise ValueError("PAGE must be a whole number and X,Y,W,H numbers (PDF points)") from None
    if page < 1:
        raise ValueError("PAGE counts from 1")
    if w < 40 or h < 20 or not all(math.isfinite(v) and v >= 0 for v in (x, y, w, h)):
        raise ValueError("the box must be at least 40 x 20 points, inside the page")
    return VisibleBox(page, x, y, w, h)


def vietnam_time(moment: datetime) -> str:
    local = moment.astimezone(VIETNAM_TIME)
    return local.strftime("%H:%M:%S ngày %d/%m/%Y (UTC+7)")


def verification_url(base_url: str, reference: str) -> str:
    """The public verification page, told which signature record the document should match (``id``)."""
    return f"{base_url}/verify?{urlencode({'id': reference})}"


def official_appearance(
    person: Person, signed_at: datetime, *, qr_url: str | None, font: Path, image_png: bytes | None
) -> Appearance:
    lines = ["Ký số bởi: " + person.full_name]
    if person.position:
        lines.append("Chức vụ: " + person.position)
    if person.unit is not None:
        lines.append("Đơn vị: " + person.unit.name)
    lines.append("Thời gian ký: " + vietnam_time(signed_at))
    return Appearance(tuple(lines), font, image_png, qr_url, INK_BLUE)


def seal_appearance(
    unit: UnitRef,
    signed_at: datetime,
    *,
    qr_url: str | None,
    font: Path,
    image_png: bytes | None,
    clerk: Person | None,
    register: str | None = None,
) -> Appearance:
    lines = ["Đóng dấu: " + unit.name]
    if register:
        lines.append(register)  # the records office's number and date of issue
    if clerk is not None:
        lines.append("Văn thư: " + clerk.full_name)
    lines.append("Thời gian: " + vietnam_time(signed_at))
    image = image_png if image_png is not None else default_seal_image(unit.name, str(font))
    return Appearance(tuple(lines), font, image, qr_url, SEAL_RED)


_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def find_image(folder: Path | None, name: str) -> bytes | None:
    """``<folder>/<name>.png`` if it exists (``name`` is a uid or ``seal-<unit code>``)."""
    if folder is None or not _SAFE_NAME.match(name):
        return None
    path = folder / f"{name}.png"
    return path.read_bytes() if path.is_file() else None


@lru_cache(maxsize=64)
def default_seal_image(unit_name: str, font_path: str) -> bytes:
    """A red round seal with the unit's name around the rim and a star in the middle, as a transparent PNG.

    Used when no scanned seal (``seal-<code>.png``) is in the image folder.
    """
    from PIL import Image, ImageDraw, ImageFont  # loaded by the first seal drawn, not by every worker

    size = 480
    red = (204, 13, 26, 255)
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c = size / 2
    draw.ellipse((8, 8, size - 8, size - 8), outline=red, width=14)
    draw.ellipse((118, 118, size - 118, size - 118), outline=red, width=6)
    # A five-pointed star in the centre.
    points = []
    for i in range(10):
        radius = 70 if i % 2 == 0 else 28
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((c + radius * math.cos(angle), c + radius * math.sin(angle)))
    draw.polygon(points, fill=red)
    # The unit's name around the rim, one glyph at a time, centred on the top.
    font = ImageFont.truetype(font_path, 34)
    text = unit_name.upper()
    radius = 172
    step = min(0.16, 1.8 * math.pi / max(len(text), 1))
    start = -math.pi / 2 - step * (len(text) - 1) / 2
    for i, char in enumerate(text):
        angle = start + i * step
        glyph = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((30, 30), char, font=font, fill=red, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        x = c + radius * math.cos(angle) - 30
        y = c + radius * math.sin(angle) - 30
        img.alpha_composite(glyph, (round(x), round(y)))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
