"""Every exception the OpenID Provider raises, under one root: :class:`OidcError`.

Each keeps the base it had when it lived beside the code that raises it (``ValueError``, ``RuntimeError``,
authlib's ``OAuth2Error``), so whatever caught it still does, and authlib still turns the ``OAuth2Error`` ones
into the standard error response. The modules that raise them re-export the names their callers know
(``idp.oidc.keys.InvalidJwtError``, ``idp.oidc.resource.DPoPProofError``…).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error

__all__ = [
    "ClientAddressRefusedError",
    "ClientChangedError",
    "ClientError",
    "ClientKeysUnavailableError",
    "DPoPNonceRequiredError",
    "DPoPProofError",
    "InvalidClaimsRequestError",
    "InvalidDPoPProofError",
    "InvalidJwtError",
    "InvalidTargetError",
    "OidcError",
    "RedirectableError",
    "RefreshReusedError",
    "SigningKeysUnreadableError",
    "TemporarilyUnavailableError",
    "UnsafeRequestError",
    "UseDPoPNonceError",
    "WrongTokenTypeError",
]


class OidcError(Exception):
    """The root of the provider's exceptions."""


# -- registration and keys -------------------------------------------------------------------------------------


class ClientError(OidcError, ValueError):
    """A client definition that cannot be registered; ``field`` names the bad option."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class ClientAddressRefusedError(ClientError):
    """A URI the server itself would call (back-channel logout, jwks_uri) whose host resolves to an address it
    does not call (loopback, private, link-local…; ``[server] outbound_allow`` may allow it)."""


class ClientChangedError(OidcError):
    """A client's registration changed since the version an edit was made against; ``current`` is what it is now."""

    def __init__(self, current: Any) -> None:
        self.current = current  # the client's ClientRecord now
        super().__init__("the client's registration changed since it was read")


class ClientKeysUnavailableError(OidcError):
    """The client's JWK Set could not be had; ``reason`` is for the log and the operator."""

    def __init__(self, uri: str, reason: str) -> None:
        self.uri = uri
        self.reason = reason
        super().__init__(f"cannot fetch {uri}: {reason}")


class SigningKeysUnreadableError(OidcError, RuntimeError):
    """The active private keys cannot be decrypted: the instance secret changed since they were made."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        super().__init__(
            f"signing key {kid} cannot be decrypted with this instance secret (ANTIN_SECRET_KEY changed?); "
            "restore the secret, or run `antin keys rotate` to make new keys"
        )


# -- tokens --------------------------------------------------------------------------------------------------


class InvalidJwtError(OidcError):
    """A JWT that is not one of ours: bad signature, unknown key, refused ``alg``, or malformed."""


class WrongTokenTypeError(OidcError):
    """A JWT presented where another type of token is expected; ``reason`` is for the log, not the client.

    ``expected`` is a :class:`idp.oidc.token_types.TokenType` (typed by its base here: that module raises this).
    """

    def __init__(self, expected: Enum, reason: str) -> None:
        self.expected = expected
        self.reason = reason
        super().__init__(f"not a valid {expected.value}: {reason}")


class RefreshReusedError(OidcError):
    """Two requests tried to rotate the same refresh token; ``audited`` when the reuse's audit entry is written
    already (with the statement that found it)."""

    def __init__(self, *, audited: bool = False) -> None:
        super().__init__("refresh token already used")
        self.audited = audited


# -- authorization requests ----------------------------------------------------------------------------------


class InvalidClaimsRequestError(OidcError, ValueError):
    """The ``claims`` parameter is not the JSON object OpenID Connect Core 5.5 describes."""


class UnsafeRequestError(OidcError):
    """The request cannot be answered by redirecting (bad client or redirect URI): show an error page."""

    def __init__(self, error: str, description: str) -> None:
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}")


class RedirectableError(OidcError):
    """An error to send back to the client's (validated) redirect URI."""

    def __init__(self, error: str, description: str, *, redirect_uri: str, state: str | None) -> None:
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state
        super().__init__(f"{error}: {description}")


# -- OAuth errors that authlib answers (``error`` and ``status_code`` are what the client gets) --------------


class TemporarilyUnavailableError(OAuth2Error, OidcError):  # type: ignore[misc]
    error = "temporarily_unavailable"
    status_code = 503


class InvalidTargetError(OAuth2Error, OidcError):  # type: ignore[misc]
    error = "invalid_target"
    status_code = 400


class InvalidDPoPProofError(OAuth2Error, OidcError):  # type: ignore[misc]
    error = "invalid_dpop_proof"
    status_code = 400


class UseDPoPNonceError(InvalidDPoPProofError):
    """A proof without the server's current nonce; ``nonce`` is the one to put in the next proof."""

    error = "use_dpop_nonce"

    def __init__(self, nonce: str) -> None:
        super().__init__("a DPoP proof with the server's nonce is required")
        self.nonce = nonce

    def get_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = super().get_headers()
        return [*headers, ("DPoP-Nonce", self.nonce)]


# -- what resource servers see (exported by idp.oidc) ----------------------------------------------------------


class DPoPProofError(OidcError, ValueError):
    """A DPoP proof that does not hold for this request (malformed, wrong method or URL, old, replayed…)."""


class DPoPNonceRequiredError(DPoPProofError):
    """A proof without the server's current nonce (RFC 9449 §9): answer ``use_dpop_nonce`` with ``dpop_nonce``."""

    def __init__(self, dpop_nonce: str) -> None:
        super().__init__("a DPoP proof with the server's nonce is required")
        self.dpop_nonce = dpop_nonce
