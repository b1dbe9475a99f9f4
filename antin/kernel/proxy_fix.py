"""Werkzeug's ProxyFix with its header parsing made cheap for the headers a proxy actually sends.

Every request behind nginx carries ``X-Forwarded-For``, ``-Proto`` and ``-Host``: ProxyFix reads each with
``parse_list_header``, which walks the value a character at a time in Python (RFC 9110's quoted strings) — about
4 µs of a request that the provider answers in well under a millisecond. A value with no quote in it has no quoted
string to read: it is split on commas here, with the same result (items stripped of spaces and tabs, empty ones
dropped). A value with a quote is read by werkzeug as before.
"""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = ["ForwardedFix"]


class ForwardedFix(ProxyFix):
    """:class:`~werkzeug.middleware.proxy_fix.ProxyFix`, the same answers, less work per request (see the module)."""

    def _get_real_value(self, trusted: int, value: str | None) -> str | None:
        if not (trusted and value):
            return None
        if '"' in value:
            return super()._get_real_value(trusted, value)
        values = [item for item in (part.strip(" \t") for part in value.split(",")) if item]
        return values[-trusted] if len(values) >= trusted else None
