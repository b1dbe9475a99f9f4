"""The provider's machine-to-machine requests answered before Flask and authlib: /token's client_credentials,
refresh_token and authorization_code grants, and /introspect, for a client authenticating with its secret (and a
public client redeeming its code with PKCE).

These are most of a busy provider's requests, and served through Flask and authlib's endpoint machinery each cost
about twice the rules' own work (docs/benchmarks.md "The machine-to-machine endpoints before Flask"). This WSGI
layer reads such a request itself and calls the same rules authlib's grants call (:mod:`idp.oidc.token_grants`,
the client's secret through :class:`~idp.oidc.client_auth.OAuthClient`), so a token, an audit entry, an
introspection answer or a refusal does not depend on which path read the request.

What it does not take whole goes on to the app untouched, with the body it read put back: another grant or
endpoint, a DPoP proof, private_key_jwt, a public client's refresh, a parameter it does not know (``resource``…),
a body that is not a small UTF-8 form with each parameter once — and every refusal due *before* anything was changed
(an unknown, disabled or wrongly authenticated client, a grant the client may not use, a missing parameter):
the app then answers it with its own checks, exactly as it answers every other request. The refusals due *after*
a change (a refresh token reused or not the client's, a scope the client may not have, a code claimed but unknown,
expired, used or sent with the wrong redirect URI or verifier) are authlib's errors,
answered here with authlib's body and headers; anything unexpected (the database away) is answered by the app's
own error handlers. The request id, the security headers and the request metrics are the app's.

The first such request in each process goes through the app, whose per-request hooks start the process's
background threads (threads do not survive a fork); every later one is answered here.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error
from flask import g
from werkzeug.http import HTTP_STATUS_CODES

from antin.kernel.health import count_request
from antin.kernel.logs import request_id_var
from antin.kernel.web import HSTS, NO_STORE, SECURITY_HEADERS, request_id_for
from idp.oidc.browser import HARDENING_HEADERS
from idp.oidc.client_auth import ALL_AUTH_METHODS, CONFIDENTIAL_AUTH_METHODS, OAuthClient
from idp.oidc.server import Introspection
from idp.oidc.token_grants import (
    check_code_redirect_uri,
    check_code_verifier,
    check_refresh_scope,
    client_credentials_token,
    code_token,
    find_introspected_token,
    find_refresh_token,
    introspection_answer,
    redeem_code,
    refresh_in_one_statement,
    refreshed_token,
)

if TYPE_CHECKING:
    from flask import Flask

    from idp.oidc.service import OidcProvider

__all__ = ["EXTENSION_KEY", "MAX_FORM_BYTES", "MachineEndpoints"]

EXTENSION_KEY = "antin.oidc.fastpath"
MAX_FORM_BYTES = 8192  # a token request is a few hundred bytes; anything larger goes to the app and its limit
FORM = "application/x-www-form-urlencoded"
TOKEN_PATH = "/token"
INTROSPECTION_PATH = "/introspect"
CLIENT_PARAMS = frozenset({"client_id", "client_secret"})
GRANT_PARAMS = {
    "client_credentials": CLIENT_PARAMS | {"grant_type", "scope"},
    "refresh_token": CLIENT_PARAMS | {"grant_type", "refresh_token", "scope"},
    "authorization_code": CLIENT_PARAMS | {"grant_type", "code", "redirect_uri", "code_verifier"},
}
INTROSPECTION_PARAMS = CLIENT_PARAMS | {"token", "token_type_hint"}

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Answer = tuple[int, dict[str, Any], list[tuple[str, str]]]


class _LeftToTheAppError(Exception):
    """The request is the app's to answer: nothing has been changed yet."""


def _merged(*groups: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The headers in the order the app's hooks add them, each name once (the first one wins, as there)."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for name, value in (header for group in groups for header in group):
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append((name, value))
    return tuple(out)


# the provider blueprint's hook (idp.oidc.browser.harden: /token is no-store) then the app's (antin.kernel.web)
_DEFAULTS = _merged(HARDENING_HEADERS, [NO_STORE], SECURITY_HEADERS)
_DEFAULTS_HTTPS = _merged(_DEFAULTS, [HSTS])


def _with_defaults(headers: list[tuple[str, str]], defaults: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """An answer's own headers, then each default it does not set (the app's ``add_missing_headers``)."""
    present = {name.lower() for name, _ in headers}
    return [*headers, *(header for header in defaults if header[0].lower() not in present)]


# a token or an introspection answer (authlib's JSON headers), over HTTP and HTTPS
_JSON_ANSWER = tuple(_with_defaults(default_json_headers, _DEFAULTS))
_JSON_ANSWER_HTTPS = tuple(_with_defaults(default_json_headers, _DEFAULTS_HTTPS))


def _read_form(environ: dict[str, Any]) -> dict[str, str] | None:
    """The request's form when it is a small UTF-8 ``application/x-www-form-urlencoded`` body with each parameter
    once and no DPoP proof; None otherwise. The body read is put back for the app either way."""
    if "HTTP_DPOP" in environ or "HTTP_TRANSFER_ENCODING" in environ:
        return None
    media, _, params = environ.get("CONTENT_TYPE", "").partition(";")
    if media.strip().lower() != FORM or params.strip().lower().replace(" ", "") not in ("", "charset=utf-8"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= MAX_FORM_BYTES:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    if len(body) != length:
        return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return None
    form = dict(pairs)
    return form if len(form) == len(pairs) else None


def _basic_credentials(authorization: str) -> tuple[str, str]:
    """HTTP Basic's client id and secret, read as authlib reads them (``extract_basic_authorization``)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded or encoded != encoded.strip():
        raise _LeftToTheAppError
    try:
        text = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _LeftToTheAppError from None
    client_id, colon, secret = text.partition(":")
    if not colon:
        raise _LeftToTheAppError
    return unquote(client_id), unquote(secret)


class MachineEndpoints:
    """WSGI middleware in front of the app: answers the client grants and introspection (see the module)."""

    def __init__(self, app: WsgiApp, flask_app: Flask, provider: OidcProvider, *, trusted_proxies: bool) -> None:
        self.app = app
        self.flask_app = flask_app
        self.provider = provider
        self.trusted_proxies = trusted_proxies
        self.answered = 0  # requests answered here (for tests and curiosity; not exact under threads)
        self._app_ran_in: int | None = None
        self._answers: dict[str, Callable[[dict[str, str], dict[str, Any]], Answer]] = {
            TOKEN_PATH: self._token,
            INTROSPECTION_PATH: self._introspection,
        }

    def app_request_started(self) -> None:
        """Called by the app on each request it handles: its per-process hooks have run in this process."""
        self._app_ran_in = os.getpid()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        answer = self._answers.get(path)
        if answer is None or environ.get("REQUEST_METHOD") != "POST" or self._app_ran_in != os.getpid():
            return self.app(environ, start_response)
        form = _read_form(environ)
        if form is None:
            return self.app(environ, start_response)
        started = time.perf_counter()
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""), self.trusted_proxies)
        context = request_id_var.set(request_id)
        try:
            try:
                status, payload, headers = answer(form, environ)
            except _LeftToTheAppError:
                return self.app(environ, start_response)
            except OAuth2Error as err:
                status, payload, headers = err()  # as authlib's handle_error_response
            except Exception as err:
                return self._app_error(environ, start_response, err, request_id, started)
        finally:
            request_id_var.reset(context)
        body = json.dumps(payload).encode()  # as authlib's handle_response
        https = environ.get("wsgi.url_scheme") == "https"
        if headers is default_json_headers:  # every answer but a refusal's: its header list made once
            out = list(_JSON_ANSWER_HTTPS if https else _JSON_ANSWER)
        else:
            out = _with_defaults(headers, _DEFAULTS_HTTPS if https else _DEFAULTS)
        out += [("X-Request-ID", request_id), ("Content-Length", str(len(body)))]
        start_response(f"{status} {HTTP_STATUS_CODES[status].upper()}", out)
        count_request("POST", path, str(status), time.perf_counter() - started)  # as the app counts: by route
        self.answered += 1
        return [body]

    def _app_error(
        self, environ: dict[str, Any], start_response: StartResponse, err: Exception, request_id: str, started: float
    ) -> Iterable[bytes]:
        """An exception the rules did not turn into an OAuth error, answered (and logged, and counted) by the app's
        own error handlers as if its view had raised it. Called while handling ``err``."""
        app = self.flask_app
        with app.request_context(environ):
            g.request_id = request_id
            g.antin_started = started
            try:
                handled = app.handle_user_exception(err)
            except Exception as unhandled:  # no handler took it: Flask's own 500
                handled = app.handle_exception(unhandled)
            response = app.finalize_request(handled)
        return response(environ, start_response)

    # -- the endpoints ---------------------------------------------------------------------------------------

    def _client(
        self, environ: Mapping[str, Any], form: Mapping[str, str], methods: list[str], endpoint: str
    ) -> OAuthClient:
        """The client, authenticated by its secret as authlib would (the same record, digest check and registered
        method); any failure is the app's to refuse."""
        authorization = environ.get("HTTP_AUTHORIZATION")
        if authorization is not None:
            client_id, secret = _basic_credentials(authorization)
            method = "client_secret_basic"
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            method = "client_secret_post"
        if not client_id or not secret or method not in methods:
            raise _LeftToTheAppError
        record = self.provider.clients.active(client_id)
        if record is None:
            raise _LeftToTheAppError
        client = OAuthClient(record, self.provider.clients.check_secret)
        if not client.check_client_secret(secret) or not client.check_endpoint_auth_method(method, endpoint):
            raise _LeftToTheAppError
        return client

    def _token(self, form: dict[str, str], environ: dict[str, Any]) -> Answer:
        grant_type = form.get("grant_type", "")
        known = GRANT_PARAMS.get(grant_type)
        if known is None or not form.keys() <= known:
            raise _LeftToTheAppError
        if grant_type == "authorization_code":
            return self._code_token(form, environ)
        ip = environ.get("REMOTE_ADDR")
        if grant_type == "client_credentials":
            client = self._client(environ, form, CONFIDENTIAL_AUTH_METHODS, "token")
            if not client.check_grant_type(grant_type):
                raise _LeftToTheAppError
            token = client_credentials_token(
                self.provider, client.record, scope=form.get("scope"), resources=(), dpop_jkt=None, ip=ip
            )
            return 200, token, default_json_headers
        client = self._client(environ, form, ALL_AUTH_METHODS, "token")
        refresh_token = form.get("refresh_token")
        if not client.check_grant_type(grant_type) or refresh_token is None:
            raise _LeftToTheAppError
        answered = refresh_in_one_statement(self.provider, client.record, refresh_token, scope=form.get("scope"), ip=ip)
        if answered is not None:
            return 200, answered, default_json_headers
        # from here on a reused token has revoked its family: every refusal is answered here (authlib's order)
        view = find_refresh_token(self.provider, client.record, refresh_token, ip)
        if view is None or not view.check_client(client):
            raise InvalidGrantError()
        check_refresh_scope(form.get("scope"), view)
        token = refreshed_token(
            self.provider, client.record, view, scope=form.get("scope"), resources=(), dpop_jkt=None, ip=ip
        )
        return 200, token, default_json_headers

    def _code_token(self, form: dict[str, str], environ: dict[str, Any]) -> Answer:
        """A code redeemed by a client authenticating with its secret, or by a public client (its ``client_id``
        alone: PKCE is its proof), in authlib's order: client, grant allowed, code present — then the code is
        claimed and every later refusal (unknown or used code, redirect URI, verifier) is answered here.
        private_key_jwt and a client bound to DPoP go to the app."""
        public = "HTTP_AUTHORIZATION" not in environ and "client_secret" not in form
        client = (
            self._public_client(form) if public else self._client(environ, form, CONFIDENTIAL_AUTH_METHODS, "token")
        )
        code = form.get("code")
        if not client.check_grant_type("authorization_code") or code is None or client.record.dpop_bound_access_tokens:
            raise _LeftToTheAppError
        ip = environ.get("REMOTE_ADDR")
        view = redeem_code(self.provider, client.record, code, ip)
        if view is None:
            raise InvalidGrantError("Invalid 'code' in request.")
        check_code_redirect_uri(form.get("redirect_uri"), view)
        check_code_verifier(form.get("code_verifier"), view, public=public)
        token = code_token(
            self.provider,
            client.record,
            view,
            resources=(),
            dpop_jkt=None,
            refresh=client.check_grant_type("refresh_token"),
            ip=ip,
        )
        return 200, token, default_json_headers

    def _public_client(self, form: Mapping[str, str]) -> OAuthClient:
        """A public client naming itself by ``client_id`` (authlib's ``none`` method, which a confidential client
        may not use); anything else is the app's to refuse."""
        client_id = form.get("client_id", "")
        record = self.provider.clients.active(client_id) if client_id else None
        if record is None:
            raise _LeftToTheAppError
        client = OAuthClient(record, self.provider.clients.check_secret)
        if not client.check_endpoint_auth_method("none", "token"):
            raise _LeftToTheAppError
        return client

    def _introspection(self, form: dict[str, str], environ: dict[str, Any]) -> Answer:
        if not form.keys() <= INTROSPECTION_PARAMS:
            raise _LeftToTheAppError
        client = self._client(environ, form, CONFIDENTIAL_AUTH_METHODS, Introspection.ENDPOINT_NAME)
        token_string = form.get("token")
        hint = form.get("token_type_hint")
        if token_string is None or (hint and hint not in Introspection.SUPPORTED_TOKEN_TYPES):
            raise _LeftToTheAppError
        token = find_introspected_token(self.provider, token_string, hint)
        return 200, introspection_answer(self.provider, token, client.record), default_json_headers
