"""The password page of a new sign-in, from a rendering kept per language, application and site root.

``/authorize`` answers a new sign-in with the password page (:func:`idp.login.views.first_login_page`). Every such
page of one application, in one language, under one site root, is the same but for the interaction's id (in the
form's address, the language links' return address), the browser's CSRF token and the passkey ceremony (its address
and its options, a fresh challenge each time). The template renders that page once with a mark in place of each,
the rendering is kept as its parts, and each request's page is the parts joined around the request's own values,
escaped as the template escapes them: the same bytes the template would give (tested), without Jinja, Babel and six
``url_for`` per page. A page that can differ otherwise (a login hint, templates reloaded in development, an id that
is not URL-safe) is rendered by the template as before.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, render_template, request, url_for
from flask_babel import get_domain, get_locale
from markupsafe import escape

from antin.kernel.web import csrf_token
from idp.oidc.interaction import InteractionView

__all__ = ["FIRST_PAGES_KEY", "FirstPages", "first_pages"]

FIRST_PAGES_KEY = "antin.login.first_pages"
TEMPLATE = "antin/login.html"
PASSKEY_GLOBAL = "passkey_ceremony"  # registered by idp.mfa when passkeys are on; the page shows its button then
MAX_KEPT = 256  # renderings kept (languages × applications × site roots); all forgotten when full
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+\Z")  # the same in a path, a query and HTML: substituted as it is


@dataclass(frozen=True)
class _MarkedCeremony:
    action: str
    options: str


class FirstPages:
    """The kept renderings of one app's first password page (see the module's docstring)."""

    def __init__(self) -> None:
        mark = secrets.token_hex(8)  # a per-process mark: no application name or translation can contain it
        self._marks = {"iid": f"iid{mark}", "csrf": f"csrf{mark}", "action": f"pka{mark}", "options": f"pko{mark}"}
        self._slot_of = {value: slot for slot, value in self._marks.items()}
        self._split = re.compile("(" + "|".join(self._marks.values()) + ")")
        self._kept: dict[tuple[Any, ...], list[str]] = {}

    def body(self, view: InteractionView) -> str | None:
        """The page of ``view`` for this request (its CSRF token and passkey challenge taken as the template takes
        them), or None when it must be rendered by the template."""
        if current_app.jinja_env.auto_reload or view.prompt.login_hint or not _URL_SAFE.match(view.id):
            return None
        ceremony_of: Callable[[str], Any] | None = current_app.jinja_env.globals.get(PASSKEY_GLOBAL)  # type: ignore[assignment]
        key = (str(get_locale()), get_domain(), view.client_name, request.script_root, ceremony_of is not None)
        parts = self._kept.get(key)
        if parts is None:
            parts = self._split.split(self._render_marked(view, with_passkey=ceremony_of is not None))
            if len(self._kept) >= MAX_KEPT:
                self._kept = {}
            self._kept[key] = parts
        # in the template's order: the login form's token, then the ceremony (its challenge kept in the session)
        values = {"iid": view.id, "csrf": str(escape(csrf_token()))}
        if ceremony_of is not None:
            ceremony = ceremony_of(view.id)
            values["action"] = str(escape(ceremony.action))
            values["options"] = str(escape(ceremony.options))
        # the split leaves the marks at the odd positions
        return "".join(values[self._slot_of[part]] if i % 2 else part for i, part in enumerate(parts))

    def _render_marked(self, view: InteractionView, *, with_passkey: bool) -> str:
        iid = self._marks["iid"]
        context: dict[str, Any] = {
            "iid": iid,
            "view": view,
            "login_value": "",
            "page_url": url_for("login.interaction", iid=iid),
            "csrf_token": lambda: self._marks["csrf"],  # the context wins over the template globals
        }
        if with_passkey:
            context[PASSKEY_GLOBAL] = lambda _iid: _MarkedCeremony(self._marks["action"], self._marks["options"])
        return render_template(TEMPLATE, **context)


def first_pages(app: Flask) -> FirstPages:
    pages: FirstPages = app.extensions[FIRST_PAGES_KEY]
    return pages
