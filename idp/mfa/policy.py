"""Which level an official must reach at sign-in (their directory groups, the platform's default), and whether
an enrolment inside the login can give it.

The client's registered level and a request's essential ``acr`` come from the protocol side (the interaction's
``minimum_acr``); this module adds the official's own: ``[mfa] required_level`` and ``[mfa] group_levels``.
The login takes the strongest of them (:func:`idp.login.steps.required_level`).
"""

from __future__ import annotations

from datetime import datetime

from directory.models import Person
from idp.mfa.settings import MfaSettings
from idp.oidc.acr import ACR_MFA, ACR_PHISHING_RESISTANT, ACR_PHISHING_RESISTANT_HARDWARE, acr_rank, normalise_acr

__all__ = ["enrolment_reaches", "official_level", "policy_level", "reminder_level"]


def official_level(settings: MfaSettings, person: Person, now: datetime) -> str | None:
    """The level the official's groups and the platform require now: none before ``[mfa] enrol_by``."""
    deadline = settings.enrolment_deadline()
    if deadline is not None and now < deadline:
        return None
    return policy_level(settings, person)


def reminder_level(settings: MfaSettings, person: Person, now: datetime) -> str | None:
    """Before ``[mfa] enrol_by``: the level the official will need, which the login reminds them of."""
    deadline = settings.enrolment_deadline()
    if deadline is None or now >= deadline:
        return None
    return policy_level(settings, person)


def policy_level(settings: MfaSettings, person: Person) -> str | None:
    """The strongest of the platform's required level and the levels of the official's groups (None: none)."""
    by_group = settings.levels_by_group()
    levels = [by_group[g] for g in person.groups if g in by_group]
    if settings.required_level:
        levels.append(normalise_acr(settings.required_level))
    return max(levels, key=acr_rank) if levels else None


def enrolment_reaches(settings: MfaSettings, level: str) -> bool:
    """Whether a factor set up now can give ``level``: an app or a key for ``mfa``, a key that verifies the user
    for ``phishing-resistant``, a key of an allowed model for ``-hardware`` (none when the allow-list is empty)."""
    if level in (ACR_MFA, ACR_PHISHING_RESISTANT):
        return True
    return level == ACR_PHISHING_RESISTANT_HARDWARE and bool(settings.hardware_aaguids)
