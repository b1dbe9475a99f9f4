"""Enrolment dates per group (``[mfa] group_levels`` entries ``GROUP=LEVEL@YYYY-MM-DD``) beside ``[mfa] enrol_by``:
which level an official must reach now, and which one the login reminds them of, with its date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from antin.kernel.settings import SettingsError
from antin.settings import load_settings
from directory.models import Person
from idp.mfa.policy import official_level, reminder
from idp.mfa.settings import MfaSettings
from idp.oidc.acr import ACR_MFA, ACR_PHISHING_RESISTANT
from tests.idp.conftest import make_directory

BEFORE = datetime(2027, 1, 15, tzinfo=UTC)
AFTER = datetime(2027, 7, 1, tzinfo=UTC)


def an_nguyen() -> Person:  # in the groups can-bo and van-thu
    person = make_directory().find_by_login("an.nguyen")
    assert person is not None and {"can-bo", "van-thu"} <= set(person.groups)
    return person


def test_a_group_with_its_own_date_is_reminded_before_it_and_required_after() -> None:
    settings = MfaSettings(group_levels=("van-thu=phr@2027-03-31", "can-bo=urn:antin:acr:mfa"))
    person = an_nguyen()
    assert official_level(settings, person, BEFORE) == ACR_MFA  # can-bo's level has no date: now
    coming = reminder(settings, person, BEFORE)
    assert coming is not None and coming[0] == ACR_PHISHING_RESISTANT
    assert coming[1].isoformat() == "2027-03-31T00:00:00+07:00"  # midnight in Vietnam
    assert official_level(settings, person, AFTER) == ACR_PHISHING_RESISTANT
    assert reminder(settings, person, AFTER) is None


def test_a_group_without_a_date_takes_enrol_by_and_the_nearest_date_is_shown() -> None:
    settings = MfaSettings(
        group_levels=("van-thu=urn:antin:acr:mfa@2027-05-01", "can-bo=urn:antin:acr:mfa"), enrol_by="2027-02-01"
    )
    person = an_nguyen()
    assert official_level(settings, person, BEFORE) is None
    coming = reminder(settings, person, BEFORE)
    assert coming is not None and coming[0] == ACR_MFA and coming[1].date().isoformat() == "2027-02-01"
    assert official_level(settings, person, datetime(2027, 3, 1, tzinfo=UTC)) == ACR_MFA


@pytest.mark.parametrize("entry", ["van-thu=mfa@2027-13-01", "van-thu=urn:antin:acr:mfa@soon", "van-thu=@2027-01-01"])
def test_a_bad_entry_stops_the_start(entry: str) -> None:
    with pytest.raises(SettingsError, match="ANTIN_MFA_GROUP_LEVELS"):
        load_settings({"ANTIN_MFA_GROUP_LEVELS": entry})
