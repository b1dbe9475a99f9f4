"""The ``[mfa]`` settings section (``ANTIN_MFA_*``): strong authentication's keys and limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import ClassVar

from antin.kernel.settings import doc
from idp.oidc.acr import ACR_ALIASES, ACR_VALUES

__all__ = ["MIN_KEY_LENGTH", "MfaSettings"]

MIN_KEY_LENGTH = 32
_AAGUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class MfaSettings:
    SECTION: ClassVar[str] = "mfa"

    encryption_key: str = doc(
        "secret (at least 32 random characters) from which the keys that encrypt TOTP secrets at rest and key"
        " the recovery codes' digests are derived; generated into the data folder in development, required in"
        " production. Changing it makes every enrolled TOTP factor and recovery code unusable",
        "",
    )
    totp_issuer: str = doc("the name authenticator apps show beside an official's TOTP entry", "Ấn Tín")
    code_failures: int = doc(
        "wrong one-time or recovery codes per official, from browsers that never passed this official's second"
        " step, within code_window_seconds; then such browsers are refused until the window passes",
        10,
    )
    device_code_failures: int = doc(
        "wrong codes a browser that passed this official's second step before may make within"
        " code_window_seconds, on a budget of its own (strangers never use it up)",
        5,
    )
    code_window_seconds: int = doc("seconds after the last wrong code when the counts above are forgotten", 900)
    hardware_aaguids: tuple[str, ...] = doc(
        "AAGUIDs of the security key models whose sign-ins (user verified, a key kept on one device) reach"
        " urn:antin:acr:phishing-resistant-hardware; registration asks for no attestation, so this is the"
        " key's own claim of its model. Empty: nobody reaches that level",
        (),
    )

    required_level: str = doc(
        "the level every official must reach at sign-in, whatever the group or application (an acr value, or"
        " phr/phrh); empty: a password is enough unless a group or the client asks for more",
        "",
    )
    group_levels: tuple[str, ...] = doc(
        "levels required of the members of directory groups, as GROUP=LEVEL entries (the group's cn, nested"
        " groups count; LEVEL an acr value or phr/phrh), e.g. lanh-dao=urn:antin:acr:mfa,van-thu=phr; the"
        " strongest of the official's groups, the client's and required_level applies. GROUP=LEVEL@YYYY-MM-DD"
        " gives that group its own enrolment date (instead of enrol_by)",
        (),
    )
    enrol_in_login: bool = doc(
        "an official whose required level needs a factor they have not enrolled sets one up inside the login"
        " (an authenticator app or a security key, then recovery codes); false: the application is answered"
        " unmet_authentication_requirements",
        True,
    )
    enrol_by: str = doc(
        "date (YYYY-MM-DD, Vietnam time) by which officials must have set up the factor their groups' or the"
        " platform's level needs: before it the login only reminds them (they may go on, at the level they have),"
        " from it the level is required; empty: required now. A client's own level is always required",
        "",
    )

    def enrolment_deadline(self) -> datetime | None:
        """``enrol_by`` as the first instant of that day in Vietnam (None: no grace period)."""
        return _vietnam_midnight(self.enrol_by) if self.enrol_by else None

    def levels_by_group(self) -> dict[str, str]:
        """``group_levels`` as {group cn: acr value} (``phr``/``phrh`` read as the URNs)."""
        return {group: level for group, (level, _deadline) in self.group_policies().items()}

    def group_policies(self) -> dict[str, tuple[str, datetime | None]]:
        """``group_levels`` as {group cn: (acr value, the group's enrolment deadline or ``enrol_by``'s)}."""
        policies: dict[str, tuple[str, datetime | None]] = {}
        for entry in self.group_levels:
            group, _, rest = entry.partition("=")
            level, _, day = rest.partition("@")
            deadline = _vietnam_midnight(day.strip()) if day.strip() else self.enrolment_deadline()
            policies[group.strip()] = (ACR_ALIASES.get(level.strip(), level.strip()), deadline)
        return policies

    def problems(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if self.required_level and ACR_ALIASES.get(self.required_level, self.required_level) not in ACR_VALUES:
            problems["required_level"] = f"must be one of {', '.join(ACR_VALUES)} (or phr, phrh)"
        bad = [e for e in self.group_levels if "=" not in e or not e.partition("=")[0].strip()]
        try:
            unknown = any(level not in ACR_VALUES for level in self.levels_by_group().values())
        except ValueError:
            unknown = True  # a date that is not one
        if bad or unknown:
            problems["group_levels"] = (
                "each must be GROUP=LEVEL or GROUP=LEVEL@YYYY-MM-DD, LEVEL one of "
                f"{', '.join(ACR_VALUES)} (or phr, phrh)"
            )
        if any(not _AAGUID.fullmatch(a.lower()) for a in self.hardware_aaguids):
            problems["hardware_aaguids"] = "each must be an AAGUID like cb69481e-8ff7-4039-93ec-0a2729a154a8"
        try:
            self.enrolment_deadline()
        except ValueError:
            problems["enrol_by"] = "must be a date like 2027-03-31"
        if self.encryption_key and len(self.encryption_key) < MIN_KEY_LENGTH:
            problems["encryption_key"] = f"must be at least {MIN_KEY_LENGTH} random characters"
        for name in ("code_failures", "device_code_failures"):
            if not 1 <= getattr(self, name) <= 1000:
                problems[name] = "must be between 1 and 1000"
        if not 60 <= self.code_window_seconds <= 86400:
            problems["code_window_seconds"] = "must be between 60 and 86400"
        return problems

    def production_problems(self) -> dict[str, str]:
        if not self.encryption_key:
            return {"encryption_key": "is required in production (the secrets of TOTP factors are encrypted with it)"}
        return {}


def _vietnam_midnight(day: str) -> datetime:
    """The first instant of ``day`` (YYYY-MM-DD) in Vietnam: ValueError when it is not a date."""
    return datetime.combine(date.fromisoformat(day), time(0), tzinfo=timezone(timedelta(hours=7)))
