"""The authorization request: each check is a small named function, run in the order below.

Until the client and its redirect URI are known to be good, errors are shown on an error page and never
redirected (:class:`UnsafeRequestError`); after that they go back to the client with ``error``, ``state`` and
``iss`` (:class:`RedirectableError`). Unknown parameters are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from idp.oidc.acr import ACR_VALUES, normalise_acr
from idp.oidc.claims import parse_claims_request
from idp.oidc.clients import ClientRecord
from idp.oidc.dpop import JKT_PATTERN
from idp.oidc.errors import InvalidClaimsRequestError, InvalidJwtError, RedirectableError, UnsafeRequestError
from idp.oidc.keys import SigningKeys
from idp.oidc.token_types import TokenType

__all__ = [
    "AuthorizationRequest",
    "RedirectableError",
    "UnsafeRequestError",
    "validate_authorization_request",
]

CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
PROMPTS = {"none", "login", "consent", "select_account"}
SINGLE_VALUED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "code_challenge",
    "code_challenge_method",
    "claims",
    "id_token_hint",
    "login_hint",
    "request_uri",
    "request",
    "dpop_jkt",
)


@dataclass(frozen=True)
class AuthorizationRequest:
    client: ClientRecord
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None
    hint_subject: str | None  # the sub of a valid id_token_hint
    ui_locales: tuple[str, ...]
    acr_values: tuple[str, ...]
    essential_acr: tuple[str, ...]  # acr values the claims parameter marks essential
    claims: dict[str, Any] | None
    resources: tuple[str, ...]
    display: str | None
    from_par: bool
    dpop_jkt: str | None = None  # RFC 9449 §10: the key whose proof alone may redeem the code

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)

    @property
    def is_openid(self) -> bool:
        return "openid" in self.scopes

    def as_params(self) -> dict[str, Any]:
        """A JSON-able form, stored with an interaction and read back by :func:`request_from_params`."""
        return {
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scopes": list(self.scopes),
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "prompt": sorted(self.prompt),
            "max_age": self.max_age,
            "login_hint": self.login_hint,
            "hint_subject": self.hint_subject,
            "ui_locales": " ".join(self.ui_locales),
            "acr_values": list(self.acr_values),
            "essential_acr": list(self.essential_acr),
            "claims": self.claims,
            "resources": list(self.resources),
            "display": self.display,
            "from_par": self.from_par,
            "dpop_jkt": self.dpop_jkt,
        }


def request_from_params(params: Mapping[str, Any], client: ClientRecord) -> AuthorizationRequest:
    return AuthorizationRequest(
        client=client,
        redirect_uri=params["redirect_uri"],
        scopes=tuple(params["scopes"]),
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=params["code_challenge"],
        prompt=frozenset(params.get("prompt") or ()),
        max_age=params.get("max_age"),
        login_hint=params.get("login_hint"),
        hint_subject=params.get("hint_subject"),
        ui_locales=tuple(str(params.get("ui_locales") or "").split()),
        acr_values=tuple(params.get("acr_values") or ()),
        essential_acr=tuple(params.get("essential_acr") or ()),
        claims=params.get("claims"),
        resources=tuple(params.get("resources") or ()),
        display=params.get("display"),
        from_par=bool(params.get("from_par")),
        dpop_jkt=params.get("dpop_jkt"),
    )


Params = Mapping[str, Sequence[str]]


def _one(params: Params, name: str) -> str | None:
    values = params.get(name) or ()
    value = values[0] if values else None
    return value if value else None


# -- checks before the redirect URI can be trusted: errors are shown, never redirected ------------------------


def check_no_duplicates(params: Params) -> None:
    for name in SINGLE_VALUED:
        if len(params.get(name) or ()) > 1:
            raise UnsafeRequestError("invalid_request", f"'{name}' given more than once")


def check_client(params: Params, find_client: Callable[[str], ClientRecord | None]) -> ClientRecord:
    client_id = _one(params, "client_id")
    if not client_id:
        raise UnsafeRequestError("invalid_request", "client_id is missing")
    client = find_client(client_id)
    if client is None:
        raise UnsafeRequestError("invalid_client", "unknown or disabled client")
    return client


def check_redirect_uri(params: Params, client: ClientRecord) -> str:
    redirect_uri = _one(params, "redirect_uri")
    if not redirect_uri:
        raise UnsafeRequestError("invalid_request", "redirect_uri is missing")
    if redirect_uri not in client.redirect_uris:
        raise UnsafeRequestError("invalid_request", "redirect_uri is not registered for this client")
    return redirect_uri


# -- checks whose errors go back to the client -----------------------------------------------------------------


class _Fail:
    def __init__(self, redirect_uri: str, state: str | None) -> None:
        self.redirect_uri = redirect_uri
        self.state = state

    def __call__(self, error: str, description: str) -> RedirectableError:
        return RedirectableError(error, description, redirect_uri=self.redirect_uri, state=self.state)


def check_request_objects(params: Params, fail: _Fail) -> None:
    if _one(params, "request"):
        raise fail("request_not_supported", "request objects are not supported; use PAR")
    if _one(params, "request_uri"):
        raise fail("request_uri_not_supported", "only request_uri values from the PAR endpoint are accepted")


def check_response_type(params: Params, client: ClientRecord, fail: _Fail) -> None:
    response_type = _one(params, "response_type")
    if not response_type:
        raise fail("invalid_request", "response_type is missing")
    if response_type != "code":
        raise fail("unsupported_response_type", "only response_type=code is supported")
    if "authorization_code" not in client.grant_types:
        raise fail("unauthorized_client", "the client may not use the authorization code flow")


def check_response_mode(params: Params, fail: _Fail) -> None:
    mode = _one(params, "response_mode")
    if mode not in (None, "query"):
        raise fail("invalid_request", "only response_mode=query is supported")


def check_scopes(params: Params, client: ClientRecord, fail: _Fail) -> tuple[str, ...]:
    # unknown scopes are ignored (OpenID Connect Core 3.1.2.1); none left is an error
    requested = (_one(params, "scope") or "").split()
    granted = tuple(dict.fromkeys(s for s in requested if s in client.scopes))
    if not granted:
        raise fail("invalid_scope", "none of the requested scopes is allowed for this client")
    return granted


def check_pkce(params: Params, fail: _Fail) -> str:
    challenge = _one(params, "code_challenge")
    method = _one(params, "code_challenge_method")
    if not challenge:
        raise fail("invalid_request", "code_challenge is required (PKCE with S256)")
    if method != "S256":
        raise fail("invalid_request", "code_challenge_method must be S256")
    if not CODE_CHALLENGE.match(challenge):
        raise fail("invalid_request", "code_challenge is malformed")
    return challenge


def check_prompt(params: Params, fail: _Fail) -> frozenset[str]:
    prompt = frozenset((_one(params, "prompt") or "").split())
    if not prompt <= PROMPTS:
        raise fail("invalid_request", "unknown prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise fail("invalid_request", "prompt=none cannot be combined with other values")
    return prompt


def check_max_age(params: Params, fail: _Fail) -> int | None:
    raw = _one(params, "max_age")
    if raw is None:
        return None
    if not raw.isdigit():
        raise fail("invalid_request", "max_age must be a whole number of seconds")
    return int(raw)


def check_claims(params: Params, fail: _Fail) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    try:
        claims = parse_claims_request(_one(params, "claims"))
    except InvalidClaimsRequestError as err:
        raise fail("invalid_request", str(err)) from None
    essential: tuple[str, ...] = ()
    if claims:
        for member in ("id_token", "userinfo"):
            spec = (claims.get(member) or {}).get("acr")
            if isinstance(spec, dict) and spec.get("essential"):
                values = spec.get("values") or ([spec["value"]] if "value" in spec else [])
                essential = tuple(normalise_acr(str(v)) for v in values)
    return claims, essential


def check_resources(params: Params, fail: _Fail) -> tuple[str, ...]:
    resources = tuple(params.get("resource") or ())
    for uri in resources:
        try:
            parts = urlsplit(uri)
        except ValueError:  # "http://[x": urlsplit refuses a malformed IPv6 host
            raise fail("invalid_target", "resource must be an absolute URI without a fragment") from None
        if not parts.scheme or not parts.netloc or parts.fragment:
            raise fail("invalid_target", "resource must be an absolute URI without a fragment")
    return resources


def check_id_token_hint(
    params: Params, client: ClientRecord, keys: SigningKeys, issuer: str, fail: _Fail
) -> str | None:
    hint = _one(params, "id_token_hint")
    if not hint:
        return None
    try:
        # an expired ID token is a fine hint; its signature, issuer and audience must still be right
        _header, claims = keys.verify_as(hint, TokenType.ID_TOKEN)
    except InvalidJwtError:
        raise fail("invalid_request", "id_token_hint is not an ID token of this provider") from None
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if claims.get("iss") != issuer or client.client_id not in audiences or not claims.get("sub"):
        raise fail("invalid_request", "id_token_hint was not issued to this client")
    return str(claims["sub"])


def check_dpop_binding(params: Params, proof_jkts: Sequence[str], fail: _Fail) -> str | None:
    """RFC 9449 §10: the key the code will be bound to, from ``dpop_jkt`` and the DPoP proofs already checked
    (the pushed request's, the front channel's); they must all name the same key."""
    requested = _one(params, "dpop_jkt")
    if requested is not None and not JKT_PATTERN.match(requested):
        raise fail("invalid_request", "dpop_jkt is not a JWK SHA-256 thumbprint")
    keys = {jkt for jkt in (requested, *proof_jkts) if jkt}
    if len(keys) > 1:
        raise fail("invalid_dpop_proof", "the DPoP proof's key is not the one dpop_jkt names")
    return keys.pop() if keys else None


def validate_authorization_request(
    params: Params,
    *,
    find_client: Callable[[str], ClientRecord | None],
    keys: SigningKeys,
    issuer: str,
    from_par: bool = False,
    proof_jkts: Sequence[str] = (),
) -> AuthorizationRequest:
    """Check an authorization request; ``proof_jkts`` are the thumbprints of the DPoP proofs sent with it."""
    check_no_duplicates(params)
    client = check_client(params, find_client)
    redirect_uri = check_redirect_uri(params, client)
    fail = _Fail(redirect_uri, _one(params, "state"))
    if not from_par:
        check_request_objects(params, fail)
    check_response_type(params, client, fail)
    check_response_mode(params, fail)
    scopes = check_scopes(params, client, fail)
    challenge = check_pkce(params, fail)
    prompt = check_prompt(params, fail)
    max_age = check_max_age(params, fail)
    claims, essential_acr = check_claims(params, fail)
    resources = check_resources(params, fail)
    hint_subject = check_id_token_hint(params, client, keys, issuer, fail)
    dpop_jkt = check_dpop_binding(params, proof_jkts, fail)
    requested_acr = (normalise_acr(v) for v in (_one(params, "acr_values") or "").split())
    acr_values = tuple(v for v in requested_acr if v in ACR_VALUES)
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=_one(params, "state"),
        nonce=_one(params, "nonce"),
        code_challenge=challenge,
        prompt=prompt,
        max_age=max_age,
        login_hint=_one(params, "login_hint"),
        hint_subject=hint_subject,
        ui_locales=tuple((_one(params, "ui_locales") or "").split()),
        acr_values=acr_values,
        essential_acr=essential_acr,
        claims=claims,
        resources=resources,
        display=_one(params, "display"),
        from_par=from_par,
        dpop_jkt=dpop_jkt,
    )
