"""Authentication levels carried in ``acr`` (and the ``amr`` methods behind them), weakest first."""

from __future__ import annotations

__all__ = ["ACR_MFA", "ACR_PASSWORD", "ACR_PHISHING_RESISTANT", "ACR_VALUES", "acr_rank", "satisfies"]

ACR_PASSWORD = "urn:antin:acr:password"
ACR_MFA = "urn:antin:acr:mfa"
ACR_PHISHING_RESISTANT = "urn:antin:acr:phishing-resistant"
ACR_VALUES = (ACR_PASSWORD, ACR_MFA, ACR_PHISHING_RESISTANT)


def acr_rank(acr: str | None) -> int:
    """0 for unknown values, 1 for password, 2 for a second factor, 3 for phishing-resistant."""
    return ACR_VALUES.index(acr) + 1 if acr in ACR_VALUES else 0


def satisfies(achieved: str, required: str | None) -> bool:
    return required is None or acr_rank(achieved) >= acr_rank(required)
