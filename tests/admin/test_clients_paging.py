"""``/api/admin/clients`` is paged like ``/api/admin/officials``: ``q`` (name with or without diacritics, or
client_id), ``unit``, ``size`` and the ``next_cursor`` of the previous page, against the real slapd; a bad page size,
search or cursor is a 400 problem, another province's unit a 404."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.admin.conftest import AdminPlatform
from tests.admin.test_api import problem
from tests.admin.test_clients_api import CB, register

pytestmark = pytest.mark.slapd

NAMES = ("Họp trực tuyến", "Hồ sơ công việc", "Thư điện tử", "Hỏi đáp", "Lịch công tác")


def pages(platform: AdminPlatform, login: str, **params: str) -> list[list[str]]:
    """The client_ids of each page, following next_cursor to the end."""
    found: list[list[str]] = []
    cursor = ""
    while True:
        answer = platform.call("GET", "/api/admin/clients", login, params={**params, "cursor": cursor})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found.append([c["client_id"] for c in body["items"]])
        if body["next_cursor"] is None:
            return found
        cursor = body["next_cursor"]


@pytest.fixture
def unit_with_clients(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> tuple[str, list[str]]:
    """A new unit of Bắc Ninh's with five clients, registered by its client manager; their ids in order."""
    code = unique("BNH-P").upper()
    admin_platform.ldap.create_unit(code, "Văn phòng số", "department", "BNH")
    prefix = unique("pg")
    ids = []
    for index, name in enumerate(NAMES):
        made = register(
            admin_platform, "kiendm", client_name=name, redirect_uris=[CB], unit=code, client_id=f"{prefix}-{index}"
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["client_id"])
    return code, ids


def test_the_clients_of_a_unit_come_page_by_page_each_once(
    admin_platform: AdminPlatform, unit_with_clients: tuple[str, list[str]]
) -> None:
    code, ids = unit_with_clients
    assert pages(admin_platform, "kiendm", unit=code, size="2") == [ids[0:2], ids[2:4], ids[4:5]]
    assert pages(admin_platform, "kiendm", unit=code) == [ids]  # 50 by default
    one = admin_platform.call("GET", "/api/admin/clients", "kiendm", params={"unit": code, "size": "5"}).json()
    assert one["next_cursor"] is None and [c["unit"] for c in one["items"]] == [code] * 5
    assert all(c["orphaned"] is False for c in one["items"])


def test_a_client_registered_while_paging_neither_repeats_nor_hides_the_others(
    admin_platform: AdminPlatform, unit_with_clients: tuple[str, list[str]]
) -> None:
    code, ids = unit_with_clients
    first = admin_platform.call("GET", "/api/admin/clients", "kiendm", params={"unit": code, "size": "2"}).json()
    assert [c["client_id"] for c in first["items"]] == ids[:2]
    earlier = register(admin_platform, "kiendm", redirect_uris=[CB], unit=code, client_id=ids[0] + "a")
    assert earlier.status_code == 201  # sorts among the page already read
    rest = admin_platform.call(
        "GET", "/api/admin/clients", "kiendm", params={"unit": code, "size": "10", "cursor": first["next_cursor"]}
    ).json()
    assert [c["client_id"] for c in rest["items"]] == ids[2:]


def test_clients_are_found_by_name_with_or_without_diacritics_and_by_client_id(
    admin_platform: AdminPlatform, unit_with_clients: tuple[str, list[str]]
) -> None:
    code, ids = unit_with_clients
    assert pages(admin_platform, "kiendm", unit=code, q="hop truc") == [[ids[0]]]
    assert pages(admin_platform, "kiendm", unit=code, q="Hồ Sơ") == [[ids[1]]]
    assert pages(admin_platform, "kiendm", unit=code, q="cong", size="1") == [[ids[1]], [ids[4]]]
    assert pages(admin_platform, "kiendm", q=ids[3]) == [[ids[3]]]  # all the caller's units
    assert pages(admin_platform, "kiendm", unit=code, q="không có") == [[]]
    # Hà Nội's client manager: not one of them, whatever they search
    assert pages(admin_platform, "quyenlt", q=ids[3]) == [[]]


def test_a_bad_page_size_search_or_cursor_is_a_clear_problem(
    admin_platform: AdminPlatform, unit_with_clients: tuple[str, list[str]]
) -> None:
    code, _ids = unit_with_clients
    call = admin_platform.call
    for bad in ({"size": "0"}, {"size": "201"}, {"size": "nhiều"}, {"q": "x" * 129}, {"cursor": "không-phải"}):
        body = problem(call("GET", "/api/admin/clients", "kiendm", params={"unit": code, **bad}), 400)
        assert body["detail"], bad
    first = call("GET", "/api/admin/clients", "kiendm", params={"unit": code, "size": "2"}).json()
    # a cursor belongs to its search: with another q or unit it is refused, not misread
    for other in ({"unit": code, "q": "hop"}, {"unit": "BNH"}):
        problem(call("GET", "/api/admin/clients", "kiendm", params={**other, "cursor": first["next_cursor"]}), 400)
    problem(call("GET", "/api/admin/clients", "kiendm", params={"unit": "HNI", "size": "2"}), 404)
