"""CSRF for our forms, on the kernel's token (``antin.kernel.web``): checked again here so that the protocol's few
exempt endpoints that also serve forms (the logout confirmation) stay protected."""

from __future__ import annotations

import hmac

from flask import abort, request, session

from antin.kernel import web
from antin.kernel.web import csrf_token

__all__ = ["CSRF_FIELD", "csrf_token", "csrf_token_valid", "require_csrf"]

CSRF_FIELD = "csrf_token"


def csrf_token_valid(candidate: str | None) -> bool:
    expected = session.get(web.CSRF_SESSION_KEY)
    return bool(candidate) and isinstance(expected, str) and hmac.compare_digest(str(candidate), expected)


def require_csrf() -> None:
    """Abort with 400 unless the POSTed form carries this browser's CSRF token."""
    if request.method == "POST" and not csrf_token_valid(request.form.get(CSRF_FIELD)):
        abort(400, description="CSRF token missing or invalid")
