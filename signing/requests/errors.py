"""The requests API's errors: SigningErrors, so that they answer as problem+json with their status."""

from __future__ import annotations

from signing.errors import SigningError

__all__ = ["RequestFinishedError", "RequestNotFoundError", "UnprocessableRequestError"]


class RequestNotFoundError(SigningError):
    """No such request, or another client's (the same answer, so that ids cannot be probed)."""

    code = "request-not-found"
    status = 404


class RequestFinishedError(SigningError):
    """The request is done, rejected or cancelled already: it cannot be cancelled."""

    code = "request-finished"
    status = 409


class UnprocessableRequestError(SigningError):
    """Well-formed but unusable: an unknown or inactive signer, a client with no webhook secret."""

    code = "unprocessable-request"
    status = 422

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"{field}: {reason}")
