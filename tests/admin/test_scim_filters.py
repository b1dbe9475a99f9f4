"""SCIM filters and PATCH operations on a resource's JSON, without a server (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from admin.scim.errors import ScimError
from admin.scim.filters import ENTERPRISE, matches, parse_filter
from admin.scim.patch import PATCH_OP, apply_patch

USER: dict[str, Any] = {
    "id": "2819c223-7f76-453a-919d-413861904646",
    "userName": "huongdt",
    "externalId": "HR-7",
    "name": {"formatted": "Đặng Thị Hương", "familyName": "Đặng", "givenName": "Hương"},
    "emails": [{"value": "huongdt@tw.vn", "type": "work"}],
    "active": True,
    ENTERPRISE: {"department": "TW-VP", "employeeNumber": "TW-001"},
    "meta": {"lastModified": "2026-12-04T10:00:00Z"},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "HUONGDT"', True),  # case-insensitive
        ('externalId eq "hr-7"', False),  # caseExact
        ('name.familyName sw "Đặ"', True),
        ('emails co "@tw.vn"', True),
        ('emails[type eq "work" and value ew ".vn"]', True),
        ('emails[type eq "home"]', False),
        ("title pr", False),
        ("active eq true", True),
        (f'{ENTERPRISE}:department eq "tw-vp"', True),
        ('meta.lastModified gt "2026-12-04T09:59:59Z"', True),
        ('meta.lastModified ge "2026-12-04T10:00:01Z"', False),
        ('userName eq "x" or (displayName pr or name.givenName eq "Hương")', True),
        ('not (userName eq "huongdt")', False),
        ('userName ne "x" and emails.value sw "huong"', True),
    ],
)
def test_filters(text: str, expected: bool) -> None:
    assert matches(USER, parse_filter(text)) is expected


@pytest.mark.parametrize(
    "text",
    ["", "userName", 'userName eq "x" and', 'userName xx "x"', '(userName eq "x"', "userName eq x", 'a.b.c eq "x"'],
)
def test_bad_filters_are_invalid_filter_errors(text: str) -> None:
    with pytest.raises(ScimError) as err:
        parse_filter(text)
    assert err.value.status == 400 and err.value.scim_type in ("invalidFilter", "invalidPath")


def patch(resource: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    return apply_patch(
        resource, {"schemas": [PATCH_OP], "Operations": list(operations)}, frozenset({"emails", "members"})
    )


def test_patch_operations() -> None:
    changed = patch(
        USER,
        {"op": "replace", "path": "name.givenName", "value": "Thu Hương"},
        {"op": "add", "path": "title", "value": "Chuyên viên"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "h@tw.vn"},
        {"op": "add", "value": {ENTERPRISE: {"department": "TW-BTC"}}},
        {"op": "remove", "path": f"{ENTERPRISE}:employeeNumber"},
    )
    assert changed["name"]["givenName"] == "Thu Hương" and changed["title"] == "Chuyên viên"
    assert changed["emails"] == [{"value": "h@tw.vn", "type": "work"}]
    assert changed[ENTERPRISE] == {"department": "TW-BTC"}
    assert USER["name"]["givenName"] == "Hương"  # the original is untouched
    group = {"members": [{"value": "a"}, {"value": "b"}]}
    assert patch(group, {"op": "remove", "path": 'members[value eq "a"]'})["members"] == [{"value": "b"}]
    assert patch(group, {"op": "add", "path": "members", "value": [{"value": "c"}]})["members"][-1] == {"value": "c"}
    assert patch(group, {"op": "replace", "path": "members", "value": []})["members"] == []
    # a work e-mail set through a filter that matches nothing yet is created (as provisioning clients expect)
    fresh = patch({"userName": "x"}, {"op": "replace", "path": 'emails[type eq "work"].value', "value": "x@y.vn"})
    assert fresh["emails"] == [{"type": "work", "value": "x@y.vn"}]


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": [{"op": "add", "path": "title", "value": "x"}]}, "invalidValue"),  # no schemas
        ({"schemas": [PATCH_OP], "Operations": []}, "invalidValue"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "copy", "path": "title"}]}, "invalidValue"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "remove"}]}, "noTarget"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "a.b.c", "value": 1}]}, "invalidPath"),
        (
            {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": 'emails[type eq "x"]', "value": {}}]},
            "noTarget",
        ),
    ],
)
def test_bad_patches(body: dict[str, Any], scim_type: str) -> None:
    with pytest.raises(ScimError) as err:
        apply_patch(USER, body, frozenset({"emails"}))
    assert err.value.scim_type == scim_type
