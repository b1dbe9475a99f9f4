"""``/api/admin/audit``: the audit log searched and its chain verified through the API, by the same service and
rules as the console: a provincial administrator names an official of their province, the platform administrator
reads it all; another province's official reads like nobody."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from tests.admin.conftest import AdminPlatform
from tests.admin.test_api import problem


def entries(response: requests.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "next_before"}
    items: list[dict[str, Any]] = body["items"]
    return items


def test_an_administrator_reads_the_audit_of_their_officials_only(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    official = admin_platform.new_official("BNH", unique)
    disabled = admin_platform.call("POST", f"/api/admin/officials/{official}/disable", "tuanbv", json={})
    assert disabled.status_code == 200, disabled.text

    # Bắc Ninh's administrator names their official: the disable they did is there, newest first
    mine = entries(admin_platform.call("GET", "/api/admin/audit", "tuanbv", params={"subject": official}))
    assert mine and mine[0]["event"] == "directory:user:disable"
    assert [e["seq"] for e in mine] == sorted((e["seq"] for e in mine), reverse=True)
    # without naming an official: 400, as the console says; a Hà Nội official: nobody
    problem(admin_platform.call("GET", "/api/admin/audit", "tuanbv"), 400)
    problem(admin_platform.call("GET", "/api/admin/audit", "tuanbv", params={"subject": "phonglt"}), 404)

    # the platform administrator reads the whole log, filtered by event and time, page by page
    disables = {"event": "directory:user:disable", "since": "2000-01-01", "size": 1}
    everything = admin_platform.call("GET", "/api/admin/audit", "dungpt", params=disables)
    (first,) = entries(everything)
    assert first["event"] == "directory:user:disable"
    older = everything.json()["next_before"]
    if older is not None:
        for entry in entries(
            admin_platform.call(
                "GET", "/api/admin/audit", "dungpt", params={"event": "directory:user:disable", "before": older}
            )
        ):
            assert entry["seq"] < first["seq"]
    assert entries(admin_platform.call("GET", "/api/admin/audit", "dungpt", params={"until": "2000-01-01"})) == []
    problem(admin_platform.call("GET", "/api/admin/audit", "dungpt", params={"since": "yesterday"}), 400)
    problem(admin_platform.call("GET", "/api/admin/audit", "dungpt", params={"size": 1000}), 400)


def test_the_chain_is_verified_for_those_who_read_the_whole_log(admin_platform: AdminPlatform) -> None:
    verified = admin_platform.call("GET", "/api/admin/audit/verify", "dungpt")
    assert verified.status_code == 200 and verified.json()["ok"] is True and verified.json()["entries_checked"] > 0
    problem(admin_platform.call("GET", "/api/admin/audit/verify", "tuanbv"), 403)
