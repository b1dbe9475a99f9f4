"""SCIM filters narrowed by slapd (admin/scim/ldap_filters.py): the LDAP filter made from a SCIM filter, and, on the
real directory of the demo, the same officials found with it as by matching every official one by one."""

from __future__ import annotations

import pytest

from admin.delegation import Actor
from admin.scim.filters import matches, parse_filter
from admin.scim.ldap_filters import superset_filter
from admin.scim.store import ExternalIds
from admin.scim.users import ScimUsers
from directory.models import AccountStatus
from tests.admin.conftest import AdminPlatform

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.mark.parametrize(
    ("scim", "ldap"),
    [
        ('userName eq "an.nguyen"', "(uid=an.nguyen)"),
        ('name.familyName sw "Nguy"', "(sn=Nguy*)"),
        ('emails.value ew "@antin.vn"', "(mail=*@antin.vn)"),
        ('displayName co "Văn"', "(|(displayName=*Văn*)(cn=*Văn*))"),
        (f'{ENTERPRISE}:employeeNumber eq "CB-1"', "(employeeNumber=CB-1)"),
        ('title pr and userName sw "a"', "(&(antinPosition=*)(uid=a*))"),
        ('userName eq "a" or userName eq "b"', "(|(uid=a)(uid=b))"),
        # what LDAP cannot say the same way narrows nothing, and the rest of an "and" still narrows
        ('userName eq "a" and active eq true', "(uid=a)"),
        ('userName ne "a"', None),
        ('not (userName eq "a")', None),
        ('userName eq "a" or active eq false', None),
        ('emails[type eq "work"]', None),
        ('meta.lastModified gt "2026-01-01T00:00:00Z"', None),
        # the value is escaped (RFC 4515): a filter cannot be smuggled in
        ('userName eq "a*)(uid=*"', r"(uid=a\2a\29\28uid=\2a)"),
    ],
)
def test_the_ldap_filter_made_from_a_scim_filter(scim: str, ldap: str | None) -> None:
    assert superset_filter(parse_filter(scim)) == ldap


@pytest.mark.slapd
@pytest.mark.parametrize(
    "scim",
    [
        'name.familyName eq "Nguyễn"',
        'name.familyName eq "nguyễn"',  # SCIM compares these without case, and so does LDAP
        'displayName co "thị"',
        'userName sw "h" and name.givenName ew "a"',
        'emails.value co "antin" or userName eq "tuanbv"',
        'userName sw "t" and not (name.familyName eq "Trần")',
        "title pr",
    ],
)
def test_slapd_narrows_to_the_same_officials_as_matching_each(admin_platform: AdminPlatform, scim: str) -> None:
    users = ScimUsers(admin_platform.service, ExternalIds(admin_platform.instance.database), "https://x/scim/v2")
    operator = Actor("cli:test", operator=True)
    found = users.search(operator, scim, 1, 10_000)
    tree = parse_filter(scim)
    everyone = [p for p in admin_platform.ldap.iter_people() if p.status is not AccountStatus.RETIRED]
    expected = sorted(p.uid for p in everyone if matches(users.resource(p, None), tree))
    assert sorted(r["userName"] for r in found.resources) == expected
    assert found.total == len(expected) and expected  # each filter finds someone in the demo's tree
