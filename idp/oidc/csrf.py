"""CSRF tokens for every form: a random token in the (signed) Flask session, echoed in a hidden field."""

from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

__all__ = ["CSRF_FIELD", "csrf_token", "csrf_token_valid", "require_csrf"]

CSRF_FIELD = "csrf_token"
SESSION_KEY = "antin_csrf"


def csrf_token() -> str:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        session[SESSION_KEY] = token
    return token


def csrf_token_valid(candidate: str | None) -> bool:
    expected = session.get(SESSION_KEY)
    return bool(candidate) and isinstance(expected, str) and hmac.compare_digest(str(candidate), expected)


def require_csrf() -> None:
    """Abort with 400 unless the POSTed form carries this browser's CSRF token."""
    if request.method == "POST" and not csrf_token_valid(request.form.get(CSRF_FIELD)):
        abort(400, description="CSRF token missing or invalid")
