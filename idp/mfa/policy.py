"""Which level an official must reach at sign-in (their directory groups, the platform's default), and whether
an enrolment inside the login can give it.

The client's registered level and a request's essential ``acr`` come from the protocol side (the interaction's
``minimum_acr``); this module adds the official's own: ``[mfa] required_level`` and ``[mfa] group_levels``.
The login takes the strongest of them (:func:`idp.login.steps.required_level`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from directory.models import Person
from idp.mfa.settings import MfaSettings
from idp.oidc.acr import ACR_MFA, ACR_PHISHING_RESISTANT, ACR_PHISHING_RESISTANT_HARDWARE, acr_rank, normalise_acr

__all__ = ["enrolment_reaches", "official_level", "policy_level", "reminder", "reminder_level"]


def official_level(settings: MfaSettings, person: Person, now: datetime) -> str | None:
    """The strongest level the official's groups and the platform require now (each from its enrolment date)."""
    return _strongest(level for level, deadline in _policies(settings, person) if deadline is None or now >= deadline)


def reminder_level(settings: MfaSettings, person: Person, now: datetime) -> str | None:
    """A level the official will need from a date still ahead and is not required yet (the login reminds them)."""
    coming = reminder(settings, person, now)
    return coming[0] if coming else None


def reminder(settings: MfaSettings, person: Person, now: datetime) -> tuple[str, datetime] | None:
    """(level, from when) of the strongest policy still ahead (a group's own date, or ``[mfa] enrol_by``) that
    asks more than what is required now; None when there is none."""
    required = official_level(settings, person, now)
    ahead = [(level, deadline) for level, deadline in _policies(settings, person) if deadline and now < deadline]
    if not ahead:
        return None
    level = max((level for level, _ in ahead), key=acr_rank)
    if required is not None and acr_rank(required) >= acr_rank(level):
        return None
    return level, min(deadline for lvl, deadline in ahead if lvl == level)


def policy_level(settings: MfaSettings, person: Person) -> str | None:
    """The strongest of the platform's required level and the levels of the official's groups (None: none)."""
    return _strongest(level for level, _deadline in _policies(settings, person))


def _policies(settings: MfaSettings, person: Person) -> list[tuple[str, datetime | None]]:
    """(level, from when) of the platform's required level and of each of the official's groups with one."""
    by_group = settings.group_policies()
    policies = [by_group[g] for g in person.groups if g in by_group]
    if settings.required_level:
        policies.append((normalise_acr(settings.required_level), settings.enrolment_deadline()))
    return policies


def _strongest(levels: Iterable[str]) -> str | None:
    return max(levels, key=acr_rank, default=None)


def enrolment_reaches(settings: MfaSettings, level: str) -> bool:
    """Whether a factor set up now can give ``level``: an app or a key for ``mfa``, a key that verifies the user
    for ``phishing-resistant``, a key of an allowed model for ``-hardware`` (none when the allow-list is empty)."""
    if level in (ACR_MFA, ACR_PHISHING_RESISTANT):
        return True
    return level == ACR_PHISHING_RESISTANT_HARDWARE and bool(settings.hardware_aaguids)
