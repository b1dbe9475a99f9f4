"""The Content-Security-Policy every answer gets, and the one exception it makes: an inline style allowed by its
digest (the error page, which must render without any feature's stylesheet)."""

from __future__ import annotations

import base64
import hashlib

__all__ = ["DEFAULT_CSP", "allowing_style"]

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def allowing_style(style: str) -> str:
    """The default policy with the one inline ``<style>`` whose text is ``style`` allowed (CSP level 2 hashes)."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return DEFAULT_CSP.replace("style-src 'self'", f"style-src 'self' 'sha256-{digest}'")
