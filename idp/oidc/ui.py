"""The pages' shared setup: templates, static files and languages (the kernel's Flask-Babel, ``antin.kernel.i18n``).

The language is the official's explicit choice (the switch sets the kernel's ``antin_lang`` cookie), else the
client's ``ui_locales`` for the current sign-in, else the browser's Accept-Language, else Vietnamese.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Blueprint, Flask, g, request
from flask_babel import get_locale

from antin.kernel import i18n
from antin.kernel.web import CSRF_FIELD, csrf_token

__all__ = ["LANGUAGES", "init_ui", "prefer_ui_locales", "ui_bp"]

LANGUAGES = i18n.SUPPORTED_LOCALES
IDP_DIR = Path(__file__).resolve().parent.parent

ui_bp = Blueprint(
    "antin_ui",
    __name__,
    template_folder=str(IDP_DIR / "templates"),
    static_folder=str(IDP_DIR / "static"),
    static_url_path="/assets/antin",
)


def prefer_ui_locales(tags: Iterable[str]) -> None:
    """Use the client's ``ui_locales`` for this request, unless the official chose a language."""
    if request.cookies.get(i18n.LANGUAGE_COOKIE) in LANGUAGES or request.args.get("lang") in LANGUAGES:
        return
    for tag in tags:
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            g.ui_locale = primary
            return


def init_ui(app: Flask) -> None:
    """Idempotent: both idp.oidc and idp.login call it."""
    if "antin_ui" in app.blueprints:
        return
    if "babel" not in app.extensions:
        i18n.init_app(app)
    app.register_blueprint(ui_bp)

    @app.context_processor
    def _ui_context() -> dict[str, object]:
        return {
            "csrf_token": csrf_token,
            "csrf_field": CSRF_FIELD,
            "current_locale": str(get_locale() or i18n.DEFAULT_LOCALE),
            "languages": LANGUAGES,
        }
