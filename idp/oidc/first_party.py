"""The platform's own pages as relying parties: the portal (``/``) and the console (``/admin``) sign their users
in through this provider's ``/authorize`` like any Party application — authorization code with PKCE, ``state``
and ``nonce``, an ID token whose signature, issuer, audience, expiry and nonce are checked — so SSO, the
authentication levels, step-up, throttles and logout are the same for them as for every other client.

Each is a registered public client with a fixed id (:data:`PORTAL`, :data:`CONSOLE`), trusted (no consent page),
registered by ``antin db upgrade``, ``antin demo`` and, failing those, at its first sign-in
(:func:`ensure_registered`). Its redirect URI is under the issuer, so no setting is needed.

Two departures from an outside RP, both deliberate: the code is exchanged by dispatching the token request
through this same WSGI application (no network hop back to the public issuer URL, which a server behind NAT
often cannot reach), and each page checks that the SSO session the ID token names (``sid``) is still live, so
signing out anywhere, an administrator disabling the official or the session's end is honoured on the next
click, without back-channel logout state to keep.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, redirect, request, session
from werkzeug.wrappers import Response

from antin.kernel.instance import Instance
from antin.kernel.web import local_redirect_target
from idp.oidc.clients import ClientRecord, ClientSpec, client_registry
from idp.oidc.keys import InvalidJwtError
from idp.oidc.service import get_provider

__all__ = [
    "CONSOLE",
    "PORTAL",
    "FirstPartyApp",
    "FirstPartySignIn",
    "SignInError",
    "SignedIn",
    "ensure_all_registered",
    "ensure_registered",
]

P = ParamSpec("P")
R = TypeVar("R")

_PENDING_LIMIT = 8  # sign-ins started and not finished kept per browser (several tabs); the oldest is dropped
_PENDING_SECONDS = 600  # a sign-in not finished within ten minutes is forgotten


@dataclass(frozen=True)
class FirstPartyApp:
    """One of the platform's own page sets, as the client the provider knows."""

    key: str  # the name of its session entry
    client_id: str
    name: str
    path: str  # where its pages start ("" for the site's root): its callback is {issuer}{path}/signin/callback
    scopes: tuple[str, ...] = ("openid", "profile", "email", "party")
    required_acr: str | None = None

    def callback_uri(self, issuer: str) -> str:
        return f"{issuer}{self.path}/signin/callback"

    def home_uri(self, issuer: str) -> str:
        return f"{issuer}{self.path}/"

    def spec(self, issuer: str) -> ClientSpec:
        return ClientSpec(
            client_id=self.client_id,
            name=self.name,
            redirect_uris=(self.callback_uri(issuer),),
            post_logout_redirect_uris=(self.home_uri(issuer),),
            public=True,
            trusted=True,
            scopes=self.scopes,
            required_acr=self.required_acr,
        )


PORTAL = FirstPartyApp(key="portal", client_id="antin-portal", name="Ấn Tín — Cổng cán bộ", path="")
CONSOLE = FirstPartyApp(key="console", client_id="antin-console", name="Ấn Tín — Quản trị", path="/admin")
FIRST_PARTY_APPS = (PORTAL, CONSOLE)


def ensure_registered(instance: Instance, app: FirstPartyApp) -> ClientRecord:
    """The app's client, registered now if it is not yet (safe to call again; a disabled one stays disabled)."""
    registry = client_registry(instance)
    record = registry.get(app.client_id)
    if record is None:
        record, _ = registry.add(app.spec(instance.settings.core.issuer))
    return record


def ensure_all_registered(instance: Instance) -> list[ClientRecord]:
    return [ensure_registered(instance, app) for app in FIRST_PARTY_APPS]


@dataclass(frozen=True)
class SignedIn:
    """The official a first-party page serves, as the ID token said at sign-in."""

    sub: str
    login: str
    name: str
    acr: str
    amr: tuple[str, ...]
    auth_time: int
    sid: str
    id_token: str

    def as_session(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "login": self.login,
            "name": self.name,
            "acr": self.acr,
            "amr": list(self.amr),
            "auth_time": self.auth_time,
            "sid": self.sid,
            "id_token": self.id_token,
        }

    @classmethod
    def from_session(cls, value: Any) -> SignedIn | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(
                sub=str(value["sub"]),
                login=str(value["login"]),
                name=str(value["name"]),
                acr=str(value["acr"]),
                amr=tuple(str(a) for a in value["amr"]),
                auth_time=int(value["auth_time"]),
                sid=str(value["sid"]),
                id_token=str(value["id_token"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


class SignInError(Exception):
    """The provider's answer to a first-party sign-in cannot be accepted (``reason`` is for the log and page)."""

    def __init__(self, reason: str, *, error: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error  # the provider's OAuth error code, when it sent one (access_denied, …)


def _pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _site_path(endpoint_path: str, issuer_path: str) -> str:
    """An endpoint's path as this WSGI application routes it (the issuer's own path is the script root)."""
    return endpoint_path[len(issuer_path) :] if issuer_path and endpoint_path.startswith(issuer_path) else endpoint_path


def _instance() -> Instance:
    instance: Instance = current_app.extensions["antin.instance"]
    return instance


class FirstPartySignIn:
    """Sign-in, callback and sign-out for one first-party app's pages, keeping the official in Flask's session.

    ``add_routes(bp)`` adds ``/signin/callback`` and ``/signout`` to the app's blueprint; views use
    :meth:`current` or the :meth:`required` decorator.
    """

    def __init__(self, app: FirstPartyApp) -> None:
        self.app = app

    @property
    def _key(self) -> str:
        return f"first_party.{self.app.key}"

    @property
    def _pending_key(self) -> str:
        return f"first_party.{self.app.key}.pending"

    # -- who is signed in ------------------------------------------------------------------------------

    def current(self) -> SignedIn | None:
        """The official signed in to this app, while their SSO session lives; else None (and forgotten)."""
        signed_in = SignedIn.from_session(session.get(self._key))
        if signed_in is None:
            return None
        if not get_provider(_instance()).sessions.alive(signed_in.sid):
            session.pop(self._key, None)
            return None
        return signed_in

    def required(self, view: Callable[P, R]) -> Callable[P, R | Response]:
        """The view runs for a signed-in official; anyone else is sent to sign in and brought back."""

        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            if self.current() is None:
                return self.begin(request.full_path if request.query_string else request.path)
            return view(*args, **kwargs)

        return wrapper

    # -- the flow --------------------------------------------------------------------------------------

    def begin(
        self, next_path: str | None = None, *, acr_values: str | None = None, prompt: str | None = None
    ) -> Response:
        """Redirect the browser to the provider's /authorize; ``next_path`` (a path on this site) is where the
        official lands after."""
        instance = _instance()
        ensure_registered(instance, self.app)
        issuer = instance.settings.core.issuer
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        pending = [p for p in session.get(self._pending_key, []) if p.get("at", 0) > time.time() - _PENDING_SECONDS]
        pending.append(
            {
                "state": state,
                "nonce": nonce,
                "verifier": verifier,
                "next": local_redirect_target(next_path, self.app.home_uri("")),
                "at": int(time.time()),
            }
        )
        session[self._pending_key] = pending[-_PENDING_LIMIT:]
        params = {
            "response_type": "code",
            "client_id": self.app.client_id,
            "redirect_uri": self.app.callback_uri(issuer),
            "scope": " ".join(self.app.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": _pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if acr_values:
            params["acr_values"] = acr_values
        if prompt:
            params["prompt"] = prompt
        return redirect(f"{get_provider(instance).endpoint('/authorize')}?{urlencode(params)}")

    def finish(self) -> tuple[SignedIn, str]:
        """The callback: check the answer, exchange the code, check the ID token; returns (official, next path)."""
        state = request.args.get("state", "")
        pending = session.get(self._pending_key, [])
        match = next(
            (p for p in pending if isinstance(p, dict) and secrets.compare_digest(p.get("state", ""), state)), None
        )
        if not state or match is None:
            raise SignInError("unknown or expired state")
        session[self._pending_key] = [p for p in pending if p is not match]
        if "error" in request.args:
            raise SignInError(
                request.args.get("error_description") or request.args["error"], error=request.args["error"]
            )
        code = request.args.get("code")
        if not code:
            raise SignInError("no code in the answer")
        instance = _instance()
        provider = get_provider(instance)
        token_path = urlsplit(provider.endpoint("/token")).path
        issuer_path = urlsplit(instance.settings.core.issuer).path
        client = current_app.test_client()
        environ = {"REMOTE_ADDR": request.remote_addr or "127.0.0.1"}
        answer = client.post(
            _site_path(token_path, issuer_path),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.app.callback_uri(instance.settings.core.issuer),
                "client_id": self.app.client_id,
                "code_verifier": match["verifier"],
            },
            environ_base=environ,
        )
        body = answer.get_json(silent=True) or {}
        if answer.status_code != 200 or "id_token" not in body:
            raise SignInError(
                f"token request refused: {body.get('error', answer.status_code)}", error=body.get("error")
            )
        claims = self._check_id_token(body["id_token"], nonce=match["nonce"])
        # the name and login are the userinfo's (the ID token carries only the protocol's claims)
        userinfo = client.get(
            _site_path(urlsplit(provider.endpoint("/userinfo")).path, issuer_path),
            headers={"Authorization": f"Bearer {body.get('access_token', '')}"},
            environ_base=environ,
        )
        profile = userinfo.get_json(silent=True) if userinfo.status_code == 200 else None
        if not isinstance(profile, dict) or profile.get("sub") != claims["sub"]:
            raise SignInError(f"userinfo refused: {userinfo.status_code}")
        signed_in = SignedIn(
            sub=str(claims["sub"]),
            login=str(profile.get("preferred_username") or claims["sub"]),
            name=str(profile.get("name") or profile.get("preferred_username") or claims["sub"]),
            acr=str(claims.get("acr", "")),
            amr=tuple(str(a) for a in claims.get("amr", [])),
            auth_time=int(claims.get("auth_time", time.time())),
            sid=str(claims["sid"]),
            id_token=body["id_token"],
        )
        session[self._key] = signed_in.as_session()
        return signed_in, str(match["next"])

    def _check_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        provider = get_provider(_instance())
        try:
            _, claims = provider.keys.verify(id_token)
        except InvalidJwtError as err:
            raise SignInError(f"ID token refused: {err}") from err
        now = time.time()
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        problems = [
            name
            for name, ok in (
                ("iss", claims.get("iss") == provider.issuer),
                ("aud", self.app.client_id in audiences),
                ("exp", isinstance(claims.get("exp"), int | float) and claims["exp"] > now - 30),
                ("nonce", secrets.compare_digest(str(claims.get("nonce", "")), nonce)),
                ("sid", isinstance(claims.get("sid"), str)),
            )
            if not ok
        ]
        if problems:
            raise SignInError("ID token refused: " + ", ".join(problems))
        return claims

    def sign_out(self) -> Response:
        """Forget the official here and end the SSO session at the provider (RP-initiated logout)."""
        signed_in = SignedIn.from_session(session.pop(self._key, None))
        issuer = _instance().settings.core.issuer
        params = {"client_id": self.app.client_id, "post_logout_redirect_uri": self.app.home_uri(issuer)}
        if signed_in is not None:
            params["id_token_hint"] = signed_in.id_token
        return redirect(f"{get_provider(_instance()).endpoint('/logout')}?{urlencode(params)}")

    def add_routes(self, bp: Blueprint, *, on_failure: Callable[[SignInError], Any]) -> None:
        """``/signin/callback`` and ``/signout`` on the app's blueprint; ``on_failure`` renders a refused sign-in."""

        def callback() -> Any:
            try:
                _, next_path = self.finish()
            except SignInError as failed:
                current_app.logger.info("first-party sign-in to %s refused: %s", self.app.client_id, failed.reason)
                return on_failure(failed)
            return redirect(next_path)

        def signin() -> Response:
            return self.begin(request.args.get("next"))

        bp.add_url_rule("/signin/callback", endpoint="signin_callback", view_func=callback)
        bp.add_url_rule("/signin", endpoint="signin", view_func=signin)
        # POST only, with the form's CSRF token (checked for every POST): no page elsewhere can sign an official out
        bp.add_url_rule("/signout", endpoint="signout", view_func=self.sign_out, methods=["POST"])
