"""QR codes drawn on the server as inline SVG (no outside service sees the TOTP secret)."""

from __future__ import annotations

__all__ = ["qr_svg"]


def qr_svg(data: str) -> str:
    """An ``<svg>`` element (no XML declaration) for ``data``, medium error correction, scalable by CSS."""
    import qrcode  # with lxml, loaded by the first enrolment rather than by every worker
    import qrcode.image.svg

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(data)
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    svg = image.to_string(encoding="unicode")
    return str(svg).split("?>", 1)[-1].strip()
