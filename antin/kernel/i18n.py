"""Languages: Vietnamese first, English second.

The locale comes from, in order: a view's choice (``g.ui_locale``, e.g. from OIDC ``ui_locales``), the
``?lang=`` query parameter, the ``antin_lang`` cookie the language switch sets, the browser's
Accept-Language, and finally Vietnamese.
"""

from __future__ import annotations

from pathlib import Path

from babel.support import NullTranslations
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, Domain, get_locale, get_translations

from antin.kernel import readable

__all__ = [
    "DEFAULT_LOCALE",
    "LANGUAGE_COOKIE",
    "SUPPORTED_LOCALES",
    "current_language",
    "init_app",
    "pick_locale",
    "request_translations",
]

SUPPORTED_LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
LANGUAGE_COOKIE = "antin_lang"
ROOT = Path(__file__).resolve().parents[2]
FEATURES = ("idp", "signing", "admin", "portal")
TRANSLATION_DIRECTORIES = tuple(ROOT / feature / "translations" for feature in FEATURES)
"""Every feature's catalog, merged: a page finds any feature's words (the console shows the portal's, the portal the
sign-in's); where two catalogs translate the same English differently, the later one wins…"""

FEATURE_DOMAINS = {
    feature: Domain([str(d) for d in TRANSLATION_DIRECTORIES if d.parent.name != feature] + [str(directory)])
    for feature, directory in zip(FEATURES, TRANSLATION_DIRECTORIES, strict=True)
}
"""…except on a feature's own pages, where its own catalog is merged last and so wins: the console says "Tìm kiếm"
for "Search" and the portal "Tìm" (each catalog's choice for its own pages), where one merge for all had the
portal's words everywhere."""


def pick_locale() -> str:
    chosen = g.get("ui_locale")
    if chosen in SUPPORTED_LOCALES:
        return str(chosen)
    for candidate in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if candidate in SUPPORTED_LOCALES:
            return str(candidate)
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or DEFAULT_LOCALE


def current_language() -> str:
    """The language of the request being served (as its pages speak it); the default outside a request."""
    if not has_request_context():
        return DEFAULT_LOCALE
    return str(get_locale() or DEFAULT_LOCALE)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(p) for p in TRANSLATION_DIRECTORIES)
    Babel(app, locale_selector=pick_locale)
    # the templates' _(): Flask-Babel's own, with the catalog found once per request rather than per string
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
    )
    app.before_request(_feature_catalog)
    # what every page shows of a time and a browser, the same in every feature (antin.kernel.readable)
    app.add_template_filter(readable.local_time, "local_time")
    app.add_template_filter(readable.local_date, "local_date")
    app.add_template_filter(_user_agent, "user_agent")


def request_translations() -> NullTranslations:
    """Flask-Babel's ``get_translations()``, kept on the request's Babel state while its domain and locale stay
    those it was found for: Flask-Babel looks both up again and formats the locale's name at every string (~50 µs
    a string under load; a sign-in page has a dozen). A changed domain (:func:`_feature_catalog`) or locale
    (``force_locale``, ``refresh``) is a new lookup, as before."""
    state = g.get("_flask_babel") if has_request_context() else None
    if state is not None:
        kept = getattr(state, "antin_translations", None)
        if (
            kept is not None
            and kept[0] is getattr(state, "babel_domain", None)
            and kept[1] is getattr(state, "babel_locale", None)
        ):
            kept_translations: NullTranslations = kept[2]
            return kept_translations
    translations: NullTranslations = get_translations()
    state = g.get("_flask_babel") if has_request_context() else None
    if state is not None:
        state.antin_translations = (
            getattr(state, "babel_domain", None),
            getattr(state, "babel_locale", None),
            translations,
        )
    return translations


def _feature_catalog() -> None:
    """A view's own feature's catalog wins on its page (the feature: the view's top-level package)."""
    view = current_app.view_functions.get(request.endpoint or "")
    domain = FEATURE_DOMAINS.get((getattr(view, "__module__", None) or "").partition(".")[0])
    if domain is not None:
        domain.as_default()


def _user_agent(raw: str | None) -> str:
    return readable.describe_user_agent(raw, current_language())
