"""The signing package's errors. Each carries structured fields; its text is safe to show to the user.

Third-party errors (python-pkcs11, pyHanko, asn1crypto) are translated into these in the one module that wraps
each library, so that callers (CLI, API) never see a stack trace or a library's message that leaks a secret.
"""

from __future__ import annotations

__all__ = [
    "CertificateNotFoundError",
    "CertificateRevokedError",
    "HsmLockedError",
    "HsmPinError",
    "HsmTokenNotFoundError",
    "HsmUnavailableError",
    "InvalidDocumentError",
    "InvalidRequestError",
    "KeyNotFoundError",
    "PkiError",
    "PkiNotInitialisedError",
    "SignerNotAllowedError",
    "SignerNotFoundError",
    "SigningError",
    "SoleControlRefused",
    "TimestampError",
    "TokenError",
]


class SigningError(Exception):
    """Base of every error the signing package raises.

    ``code`` is a stable machine-readable name (it ends the problem ``type`` URI of the API); ``status`` is the
    HTTP status the API answers with.
    """

    code = "signing-error"
    status = 500

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class HsmUnavailableError(SigningError):
    """The PKCS#11 token cannot be used: module missing, token absent, wrong or locked PIN, device error."""

    code = "hsm-unavailable"
    status = 503

    def __init__(self, reason: str, *, token_label: str | None = None) -> None:
        self.reason = reason
        self.token_label = token_label
        where = f" (token {token_label!r})" if token_label else ""
        super().__init__(f"HSM unavailable{where}: {reason}")


class HsmTokenNotFoundError(HsmUnavailableError):
    code = "hsm-token-not-found"


class HsmPinError(HsmUnavailableError):
    """The PIN from the settings was refused (the PIN itself is never part of the message)."""

    code = "hsm-pin-incorrect"


class HsmLockedError(HsmUnavailableError):
    """The token's user PIN is locked after too many wrong attempts: the security officer must unlock it."""

    code = "hsm-pin-locked"


class KeyNotFoundError(SigningError):
    code = "key-not-found"
    status = 409

    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(f"no key labelled {label!r} in the token")


class PkiError(SigningError):
    code = "pki-error"
    status = 409


class PkiNotInitialisedError(PkiError):
    def __init__(self) -> None:
        super().__init__("the certification authority is not set up: run `antin pki init` or `antin pki import-ca`")

    code = "pki-not-initialised"
    status = 503


class CertificateNotFoundError(PkiError):
    code = "certificate-not-found"
    status = 404

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"no certificate for {what}")


class CertificateRevokedError(PkiError):
    """The signer's certificate is revoked: no new signature may be made with it."""

    code = "certificate-revoked"
    status = 409

    def __init__(self, serial: str, reason: str | None) -> None:
        self.serial = serial
        self.reason = reason
        super().__init__(f"certificate {serial} is revoked ({reason or 'unspecified'})")


class SignerNotFoundError(SigningError):
    code = "signer-not-found"
    status = 404

    def __init__(self, uid: str) -> None:
        self.uid = uid
        super().__init__(f"no official with login {uid!r} in the directory")


class SignerNotAllowedError(SigningError):
    """The person may not sign this way (account disabled, seal of a unit that is not theirs…)."""

    code = "signer-not-allowed"
    status = 403

    def __init__(self, uid: str, reason: str) -> None:
        self.uid = uid
        self.reason = reason
        super().__init__(f"{uid} may not sign: {reason}")


class InvalidDocumentError(SigningError):
    """The input cannot be signed; ``reason`` is one of: empty, not-pdf, truncated, damaged, encrypted, too-large."""

    code = "invalid-document"
    status = 422

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        if reason == "too-large":
            self.status = 413
        super().__init__(detail)


class InvalidRequestError(SigningError):
    """A signing option is malformed (level, visible box, page…); ``field`` names it."""

    code = "invalid-request"
    status = 400

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class SoleControlRefused(SigningError):  # noqa: N818 (the name the signing journey codes against)
    """The official's key may not sign: no valid, unused WebAuthn authorisation covers these documents.

    ``reason`` is one of :data:`SOLE_CONTROL_REASONS`; the precise cause goes to the audit trail.
    """

    code = "sole-control-refused"
    status = 403

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"signing not authorised: {reason}" + (f" ({detail})" if detail else ""))


SOLE_CONTROL_REASONS = ("expired", "reused", "foreign", "wrong_document", "bad_assertion", "no_key")


class TimestampError(SigningError):
    """The time-stamping authority refused or could not be reached: nothing was signed, try again later (503 with
    Retry-After: an external TSA restarting is a passing outage, not a fault of the request)."""

    code = "timestamp-error"
    status = 503

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"time-stamping failed: {reason}")


class TokenError(SigningError):
    """A refused access token (raised by :mod:`signing.auth`); ``error`` is the RFC 6750 / RFC 9449 code and
    ``status`` the HTTP status to answer with.

    ``scheme`` is the authentication scheme the challenge names: ``DPoP`` when the token was sent with it or is
    bound to a key, else ``Bearer``; with no token at all both schemes are offered (RFC 9449 §7.2).
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 401,
        scope: str | None = None,
        scheme: str = "Bearer",
        acr_values: str | None = None,
    ) -> None:
        self.error = error
        self.acr_values = acr_values  # RFC 9470: the level to sign in at again, with insufficient_user_authentication
        self.description = description
        self.status = status
        self.scope = scope
        self.scheme = scheme
        self.dpop_algs: tuple[str, ...] = ()
        self.dpop_nonce: str | None = None  # sent as DPoP-Nonce with use_dpop_nonce (RFC 9449 §9)
        super().__init__(description)

    @property
    def headers(self) -> dict[str, str]:
        """The response headers of the refusal: the challenge, and the nonce to use when one is required."""
        headers = {"WWW-Authenticate": self.www_authenticate}
        if self.dpop_nonce:
            headers["DPoP-Nonce"] = self.dpop_nonce
        return headers

    @property
    def www_authenticate(self) -> str:
        parts = [f'error="{self.error}"', f'error_description="{self.description}"']
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        if self.acr_values:
            parts.append(f'acr_values="{self.acr_values}"')
        algs = f'algs="{" ".join(self.dpop_algs)}"' if self.dpop_algs else ""
        if self.scheme == "DPoP":
            return "DPoP " + ", ".join([*parts, *([algs] if algs else [])])
        challenge = "Bearer " + ", ".join(parts)
        if self.error == "invalid_request" and algs:
            challenge += ", DPoP " + algs  # no credentials: either scheme will do
        return challenge
