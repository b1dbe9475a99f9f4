"""Authentication levels carried in ``acr`` (and the ``amr`` methods behind them), weakest first."""

from __future__ import annotations

__all__ = [
    "ACR_ALIASES",
    "ACR_MFA",
    "ACR_PASSWORD",
    "ACR_PHISHING_RESISTANT",
    "ACR_PHISHING_RESISTANT_HARDWARE",
    "ACR_VALUES",
    "acr_rank",
    "normalise_acr",
    "satisfies",
]

ACR_PASSWORD = "urn:antin:acr:password"
ACR_MFA = "urn:antin:acr:mfa"
ACR_PHISHING_RESISTANT = "urn:antin:acr:phishing-resistant"
# a key whose model (AAGUID) is on the [mfa] hardware_aaguids allow-list, kept on one device (not a synced passkey)
ACR_PHISHING_RESISTANT_HARDWARE = "urn:antin:acr:phishing-resistant-hardware"
ACR_VALUES = (ACR_PASSWORD, ACR_MFA, ACR_PHISHING_RESISTANT, ACR_PHISHING_RESISTANT_HARDWARE)
# OpenID Enterprise Authentication Profile's values, read as ours (tokens carry ours)
ACR_ALIASES = {"phr": ACR_PHISHING_RESISTANT, "phrh": ACR_PHISHING_RESISTANT_HARDWARE}


def normalise_acr(value: str) -> str:
    """``phr``/``phrh`` as ``urn:antin:acr:phishing-resistant(-hardware)``; any other value unchanged."""
    return ACR_ALIASES.get(value, value)


def acr_rank(acr: str | None) -> int:
    """0 for unknown values, 1 for password, 2 for a second factor, 3 for phishing-resistant, 4 for hardware."""
    return ACR_VALUES.index(acr) + 1 if acr in ACR_VALUES else 0


def satisfies(achieved: str, required: str | None) -> bool:
    return required is None or acr_rank(achieved) >= acr_rank(required)
