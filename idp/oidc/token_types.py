"""Which kind of JWT a token is: every verification names the type it expects and refuses the others.

Every JWT this provider reads is checked *as* one of five types, so that a token of one type is never taken
for another (RFC 8725 §2.8 and §3.11: cross-JWT confusion, explicit typing). ``typ`` is compared as RFC 7515
§4.1.9 says (case-insensitive, the ``application/`` prefix optional). The rule, type by type:

- access token: ``typ`` is ``at+jwt`` (RFC 9068 §2.1); carries ``client_id`` and ``jti``.
- logout token: ``typ`` is ``logout+jwt`` (Back-Channel Logout 1.0 §2.4); carries ``events`` with the
  back-channel logout event; no ``nonce`` (§2.4 forbids it).
- DPoP proof: ``typ`` is ``dpop+jwt`` (RFC 9449 §4.2); carries ``htm``, ``htu`` and ``jti``.
- ID token: ``typ`` absent or ``JWT``; ``iss`` and ``sub`` present and different; none of ``events``,
  ``client_id``, ``scope``, ``cnf``, ``htm``, ``htu``, ``ath``. (Which issuer and audience is the caller's.)
- client assertion: ``typ`` absent, ``JWT`` or ``client-authentication+jwt`` (RFC 7523bis §4); ``iss`` and
  ``sub`` present and equal (RFC 7523 §3: both are the client); none of the ID token's forbidden claims, nor
  ``nonce``, ``at_hash``, ``c_hash``, ``azp``. (Which client and audience is the caller's.)

The three explicitly typed types are told apart by ``typ`` alone: no other type may carry their media type.
ID tokens and client assertions have no type of their own that every sender sets, so they are told apart by the
claims that *define* the other types: ``events`` is a logout token's (and any Security Event Token's),
``client_id``/``scope``/``cnf`` an access token's (RFC 9068 §2.2 requires ``client_id``), ``htm``/``htu``/``ath``
a DPoP proof's, and ``nonce``/``at_hash``/``c_hash``/``azp`` an ID token's. Between the two untyped types,
``iss`` = ``sub`` is what makes an assertion (the client speaks for itself) and ``iss`` ≠ ``sub`` an ID token
(a provider speaks about a person). Our own tokens always carry their
markers: access tokens ``at+jwt`` and ``client_id``, logout tokens ``logout+jwt`` and ``events``, ID tokens
``at_hash`` and ``azp``; so each is refused wherever another type is expected, by two independent checks.

The check reads only the header and the claims, so it may run before the signature is checked (and before a
client's keys are fetched): it can only refuse more, never accept a token whose signature is bad.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from idp.oidc.errors import WrongTokenTypeError

__all__ = ["BACKCHANNEL_EVENT", "TokenType", "WrongTokenTypeError", "check_token_type"]

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class TokenType(enum.Enum):
    ID_TOKEN = "ID token"
    ACCESS_TOKEN = "access token"
    LOGOUT_TOKEN = "logout token"
    DPOP_PROOF = "DPoP proof"
    CLIENT_ASSERTION = "client assertion"


_ACCESS_MARKERS = frozenset({"client_id", "scope", "cnf"})
_LOGOUT_MARKERS = frozenset({"events"})
_DPOP_MARKERS = frozenset({"htm", "htu", "ath"})
_ID_TOKEN_MARKERS = frozenset({"nonce", "at_hash", "c_hash", "azp"})

_TYPES: dict[TokenType, frozenset[str | None]] = {
    TokenType.ACCESS_TOKEN: frozenset({"at+jwt"}),
    TokenType.LOGOUT_TOKEN: frozenset({"logout+jwt"}),
    TokenType.DPOP_PROOF: frozenset({"dpop+jwt"}),
    TokenType.ID_TOKEN: frozenset({None, "jwt"}),
    TokenType.CLIENT_ASSERTION: frozenset({None, "jwt", "client-authentication+jwt"}),
}

_REQUIRED: dict[TokenType, frozenset[str]] = {
    TokenType.ACCESS_TOKEN: frozenset({"client_id", "jti"}),
    TokenType.LOGOUT_TOKEN: frozenset({"events"}),
    TokenType.DPOP_PROOF: frozenset({"htm", "htu", "jti"}),
    TokenType.ID_TOKEN: frozenset(),
    TokenType.CLIENT_ASSERTION: frozenset(),
}

_FORBIDDEN: dict[TokenType, frozenset[str]] = {
    TokenType.ACCESS_TOKEN: frozenset(),
    TokenType.LOGOUT_TOKEN: frozenset({"nonce"}),
    TokenType.DPOP_PROOF: frozenset(),
    TokenType.ID_TOKEN: _LOGOUT_MARKERS | _ACCESS_MARKERS | _DPOP_MARKERS,
    TokenType.CLIENT_ASSERTION: _LOGOUT_MARKERS | _ACCESS_MARKERS | _DPOP_MARKERS | _ID_TOKEN_MARKERS,
}


def _media_type(typ: object) -> str | None:
    """``typ`` as a comparable media type: lower case, without the optional ``application/`` prefix."""
    if typ is None:
        return None
    if not isinstance(typ, str):
        return "(not a string)"
    value = typ.strip().lower()
    return value.removeprefix("application/")


def check_token_type(expected: TokenType, header: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
    """Raise :class:`WrongTokenTypeError` unless ``header`` and ``claims`` are those of an ``expected`` token."""
    typ = _media_type(header.get("typ"))
    if typ not in _TYPES[expected]:
        raise WrongTokenTypeError(expected, f"typ {header.get('typ')!r}")
    missing = sorted(_REQUIRED[expected] - claims.keys())
    if missing:
        raise WrongTokenTypeError(expected, f"missing {', '.join(missing)}")
    foreign = sorted(_FORBIDDEN[expected] & claims.keys())
    if foreign:
        raise WrongTokenTypeError(expected, f"carries {', '.join(foreign)}, claims of another token type")
    if expected in (TokenType.ID_TOKEN, TokenType.CLIENT_ASSERTION):
        iss, sub = claims.get("iss"), claims.get("sub")
        if not iss or not sub:
            raise WrongTokenTypeError(expected, "missing iss or sub")
        if (iss == sub) != (expected is TokenType.CLIENT_ASSERTION):
            raise WrongTokenTypeError(expected, "iss and sub are those of another token type")
    if expected is TokenType.LOGOUT_TOKEN:
        events = claims.get("events")
        if not isinstance(events, Mapping) or BACKCHANNEL_EVENT not in events:
            raise WrongTokenTypeError(expected, "events lacks the back-channel logout event")
