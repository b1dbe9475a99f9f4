"""What every HTTP response of the platform shares: request ids, security headers, CSRF protection.

Views reach the instance with :func:`get_instance`. Unsafe requests (POST, PUT, PATCH, DELETE) must carry the
session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``) unless the view or blueprint is
exempt (OAuth endpoints that clients call directly), or the request carries its own credentials in an
``Authorization`` header *and no credential cookie* (the session cookie, and those features add with
:func:`add_credential_cookie`): a cookie the browser attaches by itself is what CSRF abuses, whatever else the
request carries.
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Request, abort, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.csp import DEFAULT_CSP
from antin.kernel.errors import ProblemError
from antin.kernel.instance import Instance
from antin.kernel.logs import request_id_var

__all__ = [
    "CSRF_FIELD",
    "add_credential_cookie",
    "add_missing_headers",
    "csrf_exempt",
    "csrf_token",
    "csrf_token_valid",
    "exempt_blueprint",
    "get_instance",
    "init_app",
    "local_redirect_target",
    "request_id_for",
    "require_csrf",
]

F = TypeVar("F", bound=Callable[..., Any])
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_SESSION_KEY = "_csrf"
CSRF_FIELD = "csrf_token"  # the form field our pages post the token in


def get_instance() -> Instance:
    instance: Instance = current_app.extensions["antin.instance"]
    return instance


MAX_REDIRECT_TARGET = 2048
# Control and format characters (tab, CR, LF, NUL, zero-width…) and line separators: browsers strip some of them
# before parsing a URL ("/\t/evil.example" becomes "//evil.example") and a header cannot carry CR or LF.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _is_local_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return False  # "//host" is another site; browsers read a backslash as a slash ("/\\host")
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return not parts.scheme and not parts.netloc


def local_redirect_target(candidate: str | None, fallback: str) -> str:
    """``candidate`` when it is a path on this site, else ``fallback``: the one check for every redirect whose
    target comes from a request parameter (``next``…).

    A local path has no control characters, no scheme, no host, no backslash and a single leading ``/``. It is
    checked as given and in its NFKC form (a fullwidth solidus "／" is a "/" to some readers), so that neither what
    Werkzeug writes into ``Location`` nor what a browser makes of it can leave the site.
    """
    if not candidate or len(candidate) > MAX_REDIRECT_TARGET:
        return fallback
    if not (_is_local_path(candidate) and _is_local_path(unicodedata.normalize("NFKC", candidate))):
        return fallback
    return candidate


def csrf_token() -> str:
    """The session's CSRF token, created on first use (a Jinja global in every template)."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_token_valid(candidate: str | None) -> bool:
    """Whether ``candidate`` is this browser's CSRF token: the one comparison every check makes."""
    expected = session.get(CSRF_SESSION_KEY)
    return bool(candidate) and isinstance(expected, str) and hmac.compare_digest(str(candidate), expected)


def require_csrf() -> None:
    """Abort with 400 unless the POSTed form carries this browser's CSRF token.

    For the forms of views the automatic check exempts, or checks differently (a request with an
    ``Authorization`` header): the logout confirmation, the login interaction's pages.
    """
    if request.method == "POST" and not csrf_token_valid(request.form.get(CSRF_FIELD)):
        abort(400, description="CSRF token missing or invalid")


def csrf_exempt(view: F) -> F:
    """Mark a view that is called by OAuth clients rather than by our own pages."""
    view._antin_csrf_exempt = True  # type: ignore[attr-defined]
    return view


def exempt_blueprint(app: Flask, blueprint: Blueprint) -> None:
    app.extensions["antin.csrf_exempt_blueprints"].add(blueprint.name)


def add_credential_cookie(app: Flask, name: str) -> None:
    """Name a cookie that authenticates its bearer (an SSO cookie): a request carrying it is always CSRF-checked."""
    app.extensions["antin.credential_cookies"].add(name)


def _carries_credential_cookie() -> bool:
    names = {current_app.config["SESSION_COOKIE_NAME"], *current_app.extensions["antin.credential_cookies"]}
    return any(name in request.cookies for name in names)


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    if "Authorization" in request.headers and not _carries_credential_cookie():
        return  # an API call with its own credentials: nothing a browser adds by itself authenticates it
    if request.blueprint in current_app.extensions["antin.csrf_exempt_blueprints"]:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "_antin_csrf_exempt", False):
        return
    if not csrf_token_valid(request.headers.get("X-CSRF-Token") or request.form.get(CSRF_FIELD, "")):
        raise ProblemError(
            400,
            "Bad Request",
            "the form has expired or did not come from this site; reload the page and try again",
            type_="urn:antin:csrf",
        )


def request_id_for(incoming: str, trusted_proxies: bool) -> str:
    """The request's id: the one a trusted proxy sent (printable, at most 64 characters), else a new one."""
    if trusted_proxies and incoming and incoming.isprintable():
        return incoming[:64]
    return secrets.token_hex(8)  # 16 hex digits, as before (uuid4's), without building a UUID on every request


def _start_request() -> None:
    trusted = current_app.config.get("ANTIN_TRUSTED_PROXIES", 0) > 0
    g.request_id = request_id_for(request.headers.get("X-Request-ID", ""), trusted)
    request_id_var.set(g.request_id)
    _check_csrf()


def _end_request(_error: BaseException | None) -> None:
    # the thread serves other requests next: a line it logs before the next one starts names no request, not this one
    request_id_var.set(None)


SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", DEFAULT_CSP),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
NO_STORE = ("Cache-Control", "no-store")


def add_missing_headers(headers: Headers, defaults: Iterable[tuple[str, str]]) -> None:
    """Add each of ``defaults`` the response does not set already (a view's own value wins).

    One pass over the response's headers: werkzeug's ``setdefault`` walks them once per name, which cost about
    50 µs for the dozen defaults every answer gets.
    """
    present = {key.lower() for key, _value in headers}
    for name, value in defaults:
        if name.lower() not in present:
            headers.add(name, value)


def _secure_response(response: BaseResponse) -> BaseResponse:
    defaults = list(SECURITY_HEADERS)
    if request.is_secure:
        defaults.append(HSTS)
    if not request.path.startswith("/static/"):
        defaults.append(NO_STORE)
    add_missing_headers(response.headers, defaults)
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    return response


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session without its per-request set-up: a request that carries no session cookie
    (every API call, a token request) gets an empty session at once, and the signer is built once per secret key
    instead of on every request (about 25 µs each)."""

    def __init__(self) -> None:
        self._signers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        key = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        signer = self._signers.get(key)
        if signer is None:
            signer = super().get_signing_serializer(app)
            if signer is None:
                return None
            self._signers = {key: signer}  # a changed key replaces the old signer
        return signer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    app.extensions.setdefault("antin.csrf_exempt_blueprints", set())
    app.extensions.setdefault("antin.credential_cookies", set())
    app.before_request(_start_request)
    app.after_request(_secure_response)
    app.teardown_request(_end_request)
    app.jinja_env.globals["csrf_token"] = csrf_token
