"""The pages' shared setup: Flask-Babel (Vietnamese first, English second), templates and static files.

The language is, in order: the official's explicit choice (the language switch), the client's ``ui_locales``
for the current sign-in, the browser's Accept-Language, then Vietnamese.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, g, request, session
from flask_babel import Babel

from idp.oidc.csrf import CSRF_FIELD, csrf_token

__all__ = ["LANGUAGES", "LANG_KEY", "init_ui", "select_locale", "ui_bp"]

LANGUAGES = ("vi", "en")
LANG_KEY = "antin_lang"
IDP_DIR = Path(__file__).resolve().parent.parent

ui_bp = Blueprint(
    "antin_ui",
    __name__,
    template_folder=str(IDP_DIR / "templates"),
    static_folder=str(IDP_DIR / "static"),
    static_url_path="/assets/antin",
)


def select_locale() -> str:
    chosen = session.get(LANG_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    for tag in getattr(g, "antin_ui_locales", ()):
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            return str(primary)
    best: str | None = request.accept_languages.best_match(LANGUAGES)
    return best or LANGUAGES[0]


def init_ui(app: Flask) -> None:
    """Idempotent: both idp.oidc and idp.login call it."""
    if "antin_ui" in app.blueprints:
        return
    if "babel" not in app.extensions:
        Babel(
            app,
            locale_selector=select_locale,
            default_locale="vi",
            default_translation_directories=str(IDP_DIR / "translations"),
        )
    app.register_blueprint(ui_bp)

    @app.context_processor
    def _ui_context() -> dict[str, object]:
        return {
            "csrf_token": csrf_token,
            "csrf_field": CSRF_FIELD,
            "current_locale": select_locale(),
            "languages": LANGUAGES,
        }
