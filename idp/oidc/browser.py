"""The browser side shared by the protocol views and the login interaction: cookies, pages, headers.

The SSO session cookie holds a random value (the database keeps its digest); the Flask session cookie holds the
browser token that binds pending interactions and the CSRF token.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, render_template, request, session
from werkzeug.wrappers import Response as BaseResponse

from antin.kernel.web import add_missing_headers
from idp.oidc.acr import satisfies
from idp.oidc.interaction import InteractionView
from idp.oidc.service import OidcProvider, get_provider
from idp.oidc.sessions import SessionView

__all__ = [
    "SSO_COOKIE",
    "browser_token",
    "clear_sso_cookie",
    "current_provider",
    "current_sso_session",
    "error_page",
    "harden",
    "login_page",
    "note_policy_shortfall",
    "policy_shortfall",
    "register_login_page",
    "set_sso_cookie",
]

SSO_COOKIE = "antin_sso"
BROWSER_KEY = "antin_browser"
INSTANCE_KEY = "antin.instance"
SHORTFALL_KEY = "antin_below_policy"
LOGIN_PAGE_KEY = "antin.oidc.login_page"

LoginPage = Callable[[InteractionView], BaseResponse]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self' http: https:; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def current_provider() -> OidcProvider:
    instance = current_app.extensions[INSTANCE_KEY]
    return get_provider(instance)


def browser_token(create: bool = True) -> str | None:
    token = session.get(BROWSER_KEY)
    if token is None and create:
        token = secrets.token_urlsafe(24)
        session[BROWSER_KEY] = token
    return token if isinstance(token, str) else None


def current_sso_session() -> SessionView | None:
    return current_provider().sessions.current(request.cookies.get(SSO_COOKIE))


def register_login_page(app: Flask, page: LoginPage) -> None:
    """The interaction's first page, which /authorize answers itself for a new sign-in (the login package registers
    its password page: the protocol does not import the interaction)."""
    app.extensions[LOGIN_PAGE_KEY] = page


def login_page() -> LoginPage | None:
    page: LoginPage | None = current_app.extensions.get(LOGIN_PAGE_KEY)
    return page


def note_policy_shortfall(subject: str, minimum: str | None, achieved: str) -> None:
    """After a sign-in: remember in this browser when its official stays below their own policy's level (an
    account sign-in let in for the security page), so that /authorize asks the login again rather than hand the
    SSO session as it is to an application; forgotten once a sign-in meets it."""
    if minimum is not None and not satisfies(achieved, minimum):
        session[SHORTFALL_KEY] = {"subject": subject, "acr": minimum}
    else:
        session.pop(SHORTFALL_KEY, None)


def policy_shortfall(sso: SessionView) -> str | None:
    """The level the SSO session's official must reach and this session lacks (see :func:`note_policy_shortfall`)."""
    noted = session.get(SHORTFALL_KEY)
    if not isinstance(noted, dict) or noted.get("subject") != sso.subject:
        return None
    level = str(noted.get("acr") or "")
    return level if level and not satisfies(sso.acr, level) else None


def set_sso_cookie(response: BaseResponse, value: str) -> None:
    provider = current_provider()
    response.set_cookie(
        SSO_COOKIE,
        value,
        max_age=int(provider.sessions.absolute.total_seconds()),
        secure=provider.settings.cookie_secure,
        httponly=True,
        samesite="Lax",
        path="/",
    )


def clear_sso_cookie(response: BaseResponse) -> None:
    provider = current_provider()
    response.delete_cookie(SSO_COOKIE, path="/", secure=provider.settings.cookie_secure, httponly=True, samesite="Lax")


def error_page(title: str, message: str, *, status: int = 400, code: str | None = None) -> BaseResponse:
    """An error shown to the official: no stack trace, no redirect."""
    body = render_template("antin/error.html", title=title, message=message, code=code)
    return Response(body, status=status, mimetype="text/html")


HARDENING_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
NO_STORE_ENDPOINTS = frozenset({"oidc.token", "oidc.userinfo"})


def harden(response: Response) -> BaseResponse:
    """Security headers for every page of the protocol and the interaction (kept if the app set its own)."""
    if response.mimetype == "text/html" or request.endpoint in NO_STORE_ENDPOINTS:
        add_missing_headers(response.headers, (*HARDENING_HEADERS, ("Cache-Control", "no-store")))
    else:
        add_missing_headers(response.headers, HARDENING_HEADERS)
    return response


def as_dict_of_lists(values: Any) -> dict[str, list[str]]:
    return {key: values.getlist(key) for key in values}
