"""CSC API errors: the ``error`` and ``error_description`` JSON the Cloud Signature Consortium API specifies.

``error`` is one of the specification's codes (``invalid_request``, ``invalid_grant``, ``access_denied``…);
the description is safe to show. The precise cause of a refusal goes to the audit trail (``reason``).
"""

from __future__ import annotations

__all__ = ["CscError"]


class CscError(Exception):
    """A CSC request refused; ``status`` is the HTTP status, ``reason`` a short code for the audit trail.

    ``redirectable``: in ``oauth2/authorize``, whether the client's redirect URI may carry the error (only once
    the client and its redirect URI are known good); else the browser is shown a page.
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        reason: str = "",
        redirectable: bool = True,
    ) -> None:
        self.error = error
        self.description = description
        self.status = status
        self.reason = reason or error
        self.redirectable = redirectable
        super().__init__(f"{error}: {description}")

    def to_json(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}
