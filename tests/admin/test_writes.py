"""``/api/admin`` changes: officials created, edited, moved, unlocked and given a new password; units created and
renamed; group members added and removed — through the delegation, audited before/after, guarded by ETags, and
refused cleanly (nothing changed) on bad input, a stranger's target, a stale version or a directory that is down."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from flask import Flask

from admin.bulk_edit import BulkEdits
from admin.delegation import Delegation
from admin.errors import PreconditionFailedError
from admin.exports import Exports
from admin.groups import Groups
from admin.import_jobs import ImportJobs
from admin.imports import Imports
from admin.officials import Officials, person_etag
from admin.service import AdminService, admin_service
from admin.unit_imports import UnitImports
from admin.units import Units
from admin.views import EXTENSION_KEY, register
from antin.kernel.audit import AuditEvent
from antin.kernel.audit.service import AuditRecord
from directory.errors import DirectoryUnavailableError, NotFoundError
from directory.models import AuthStatus, Person, PersonChanges
from directory.service import LdapDirectory
from directory.slapd import free_port
from tests.admin.conftest import OPERATOR, AdminPlatform
from tests.admin.test_api import PROBLEM, problem
from tests.directory.conftest import PASSWORD, config_for

pytestmark = pytest.mark.slapd


def audited(platform: AdminPlatform, **query: str) -> list[AuditRecord]:
    """The audit entries asked for, oldest first."""
    return sorted(platform.instance.audit.entries(**query), key=lambda e: e.seq)


def create(platform: AdminPlatform, caller: str, **body: str) -> requests.Response:
    return platform.call("POST", "/api/admin/officials", caller, json=body)


def test_an_official_is_created_with_a_password_shown_once(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    login = unique("moi")
    response = create(
        admin_platform, "tuanbv", login=login, full_name="Trịnh Văn Mới", unit="BNH-VP", mail=f"{login}@bnh.vn"
    )
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/api/admin/officials/{login}"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["ETag"].startswith('W/"')
    body = response.json()
    assert body["unit_path"] == ["BNH-VP", "BNH", "TW"] and body["full_name"] == "Trịnh Văn Mới"
    # the password works once, and must be changed at that first login
    assert admin_platform.ldap.authenticate(login, body["password"]).status is AuthStatus.MUST_CHANGE
    again = admin_platform.call("GET", f"/api/admin/officials/{login}", "tuanbv")
    assert "password" not in again.json() and again.headers["ETag"] == response.headers["ETag"]
    [entry] = audited(admin_platform, event=AuditEvent.DIRECTORY_USER_CREATE, subject=login)
    assert entry.details["after"]["mail"] == f"{login}@bnh.vn" and body["password"] not in str(entry.details)


def test_bad_creations_are_refused_and_change_nothing(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    login = unique("sai")
    taken = problem(create(admin_platform, "tuanbv", login="hoalt", full_name="Lê Thị Khác", unit="BNH"), 409)
    assert "hoalt" in str(taken["detail"])
    assert admin_platform.ldap.get_person("hoalt").full_name == "Lê Thị Hoa"
    mail_taken = create(
        admin_platform, "tuanbv", login=login, full_name="A B", unit="BNH", mail="hoalt@demo.antin.example"
    )
    problem(mail_taken, 409)
    unknown = problem(create(admin_platform, "tuanbv", login=login, full_name="A B", unit="KHONGCO"), 404)
    stranger = problem(create(admin_platform, "tuanbv", login=login, full_name="A B", unit="HNI-VP"), 404)
    assert unknown["type"] == stranger["type"] == "urn:antin:problem:not-found"
    problem(create(admin_platform, "tuanbv", login=login, full_name="A B", unit="*"), 404)  # the root is not theirs
    problem(create(admin_platform, "tuanbv", login="Có Dấu", full_name="A B", unit="BNH"), 400)
    problem(create(admin_platform, "tuanbv", login=login, full_name="", unit="BNH"), 400)
    problem(create(admin_platform, "tuanbv", login=login, full_name="A B", unit="BNH", password="ngan"), 400)
    problem(admin_platform.call("POST", "/api/admin/officials", "tuanbv", data="not json"), 400)
    problem(create(admin_platform, "yenht", login=login, full_name="A B", unit="BNH"), 403)  # an auditor
    assert admin_platform.ldap.find_by_uid(login) is None


def test_an_edit_needs_the_current_version(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    login = admin_platform.new_official("BNH-VP", unique, full_name="Đỗ Văn Sửa")
    path = f"/api/admin/officials/{login}"
    first = admin_platform.call("GET", path, "tuanbv")
    etag = first.headers["ETag"]
    problem(admin_platform.call("PATCH", path, "tuanbv", json={"position": "Phó Chánh Văn phòng"}), 428)
    # two administrators read the same version; the first saves, the second is told instead of overwriting
    saved = admin_platform.call(
        "PATCH", path, "tuanbv", json={"position": "Phó Chánh Văn phòng"}, headers={"If-Match": etag}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["position"] == "Phó Chánh Văn phòng" and saved.headers["ETag"] != etag
    stale = admin_platform.call("PATCH", path, "dungpt", json={"position": "Chuyên viên"}, headers={"If-Match": etag})
    problem(stale, 412)
    assert stale.headers["ETag"] == saved.headers["ETag"]
    assert admin_platform.ldap.get_person(login).position == "Phó Chánh Văn phòng"
    # the change, the removal of a field, and an e-mail taken by another, with the fresh version
    fresh = {"If-Match": saved.headers["ETag"]}
    changed = admin_platform.call(
        "PATCH",
        path,
        "tuanbv",
        json={"full_name": "Đỗ Văn Đã Sửa", "position": None, "employee_number": "BN-77"},
        headers=fresh,
    )
    assert changed.status_code == 200, changed.text
    person = admin_platform.ldap.get_person(login)
    assert (person.full_name, person.position, person.employee_number) == ("Đỗ Văn Đã Sửa", None, "BN-77")
    entries = audited(admin_platform, event=AuditEvent.DIRECTORY_USER_MODIFY, subject=login)
    assert entries[-1].details["before"]["position"] == "Phó Chánh Văn phòng"
    assert entries[-1].details["after"] == {
        "full_name": "Đỗ Văn Đã Sửa",
        "display_name": "Đỗ Văn Đã Sửa",
        "position": None,
        "employee_number": "BN-77",
    }
    clash = admin_platform.call(
        "PATCH",
        path,
        "tuanbv",
        json={"mail": "hoalt@demo.antin.example"},
        headers={"If-Match": changed.headers["ETag"]},
    )
    problem(clash, 409)
    problem(admin_platform.call("PATCH", path, "tuanbv", json={"unit": "BNH"}, headers={"If-Match": "*"}), 400)
    assert admin_platform.ldap.get_person(login).mail is None


def test_a_move_needs_both_ends_within_reach(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    login = admin_platform.new_official("BNH-VP", unique)
    path = f"/api/admin/officials/{login}/move"
    problem(admin_platform.call("POST", path, "tuanbv", json={"unit": "HNI-VP"}), 404)  # out of Bắc Ninh
    problem(admin_platform.call("POST", path, "tuanbv", json={"unit": "KHONGCO"}), 404)
    problem(admin_platform.call("POST", path, "tuanbv", json={"unit": "BNH"}, headers={"If-Match": '"old"'}), 412)
    assert admin_platform.ldap.get_person(login).unit.code == "BNH-VP"  # type: ignore[union-attr]
    target = unique("BNH-NHAN").upper()
    admin_platform.ldap.create_unit(target, "Chi bộ nhận", "party-cell", "BNH")
    moved = admin_platform.call("POST", path, "tuanbv", json={"unit": target})
    assert moved.status_code == 200 and moved.json()["unit_path"] == [target, "BNH", "TW"]
    problem(admin_platform.call("POST", "/api/admin/officials/toanvd/move", "tuanbv", json={"unit": "BNH"}), 404)
    # Hà Nội's administrator cannot pull a Bắc Ninh official into Hà Nội either
    problem(admin_platform.call("POST", path, "hieunm", json={"unit": "HNI"}), 404)
    across = admin_platform.call("POST", path, "dungpt", json={"unit": "HNI-VP"})  # the platform administrator can
    assert across.status_code == 200 and across.json()["unit"]["code"] == "HNI-VP"
    entries = audited(admin_platform, event=AuditEvent.DIRECTORY_USER_MOVE, subject=login)
    assert [e.details["after"]["unit_path"][0] for e in entries] == [target, "HNI-VP"]
    assert entries[0].details["before"]["unit_path"][0] == "BNH-VP"


def test_a_locked_official_is_unlocked_and_a_password_reset_must_be_changed(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH", unique)
    for _ in range(5):
        admin_platform.ldap.authenticate(login, "Sai-mat-khau-1")
    assert admin_platform.ldap.authenticate(login, PASSWORD).status is AuthStatus.LOCKED
    read = admin_platform.call("GET", f"/api/admin/officials/{login}", "tuanbv")
    assert read.json()["locked"] is True
    problem(admin_platform.call("POST", f"/api/admin/officials/{login}/unlock", "hieunm"), 404)
    problem(admin_platform.call("POST", f"/api/admin/officials/{login}/unlock", "yenht"), 403)
    unlocked = admin_platform.call(
        "POST", f"/api/admin/officials/{login}/unlock", "tuanbv", headers={"If-Match": read.headers["ETag"]}
    )
    assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
    assert admin_platform.ldap.authenticate(login, PASSWORD).ok
    [entry] = audited(admin_platform, event=AuditEvent.DIRECTORY_ACCOUNT_UNLOCK, subject=login)
    assert entry.details == {"before": {"locked": True}, "after": {"locked": False}}

    problem(admin_platform.call("POST", f"/api/admin/officials/{login}/password", "hieunm"), 404)
    reset = admin_platform.call("POST", f"/api/admin/officials/{login}/password", "tuanbv")
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    new = reset.json()["password"]
    assert admin_platform.ldap.authenticate(login, PASSWORD).status is AuthStatus.INVALID_CREDENTIALS
    assert admin_platform.ldap.authenticate(login, new).status is AuthStatus.MUST_CHANGE
    [entry] = audited(admin_platform, event=AuditEvent.DIRECTORY_PASSWORD_RESET, subject=login)
    assert entry.details["after"] == {"must_change": True} and new not in str(entry.details)


def test_units_within_reach_are_listed_created_and_renamed(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    listed = admin_platform.call("GET", "/api/admin/units", "tuanbv").json()["items"]
    codes = {u["code"] for u in listed}
    assert "BNH" in codes and "BNH-PHATTICH" in codes and not any(c.startswith(("HNI", "TW-")) for c in codes)
    [tree] = admin_platform.call("GET", "/api/admin/units", "tuanbv", params={"tree": "true"}).json()["tree"]
    assert tree["code"] == "BNH" and "BNH-VP" in {c["code"] for c in tree["children"]}

    code = unique("BNH-").upper()
    body = {"code": code, "name": "Ban Dân vận Tỉnh ủy", "kind": "department", "parent": "BNH"}
    made = admin_platform.call("POST", "/api/admin/units", "tuanbv", json=body)
    assert made.status_code == 201 and made.json()["parent"] == "BNH"
    problem(admin_platform.call("POST", "/api/admin/units", "tuanbv", json=body), 409)
    problem(
        admin_platform.call("POST", "/api/admin/units", "tuanbv", json={**body, "code": code + "X", "parent": "HNI"}),
        404,
    )
    problem(
        admin_platform.call("POST", "/api/admin/units", "tuanbv", json={**body, "code": code + "X", "parent": None}),
        404,
    )
    problem(
        admin_platform.call("POST", "/api/admin/units", "tuanbv", json={**body, "code": code + "X", "kind": "x"}), 400
    )

    path = f"/api/admin/units/{code}"
    problem(admin_platform.call("PATCH", path, "tuanbv", json={"name": "Ban Dân vận"}), 428)
    problem(
        admin_platform.call("PATCH", path, "tuanbv", json={"name": "Ban Dân vận"}, headers={"If-Match": '"x"'}), 412
    )
    renamed = admin_platform.call(
        "PATCH", path, "tuanbv", json={"name": "Ban Dân vận"}, headers={"If-Match": made.headers["ETag"]}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Ban Dân vận"
    problem(admin_platform.call("PATCH", path, "hieunm", json={"name": "X"}, headers={"If-Match": "*"}), 404)
    assert admin_platform.ldap.get_unit(code).name == "Ban Dân vận"
    [entry] = audited(admin_platform, event=AuditEvent.DIRECTORY_UNIT_MODIFY, subject=code)
    assert entry.details == {"before": {"name": "Ban Dân vận Tỉnh ủy"}, "after": {"name": "Ban Dân vận"}}


def test_group_members_are_added_and_removed_within_reach(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    names = {g["name"] for g in admin_platform.call("GET", "/api/admin/groups", "tuanbv").json()["items"]}
    assert {"ky-so-bnh", "van-thu-bnh"} <= names and not names & {"ky-so-hni", "quan-tri", "ky-so-tw"}
    login = admin_platform.new_official("BNH-VP", unique)
    members = "/api/admin/groups/van-thu-bnh/members"
    before = admin_platform.call("GET", members, "tuanbv")
    problem(admin_platform.call("POST", members, "tuanbv", json={"login": "toanvd"}), 404)  # Hà Nội's official
    problem(admin_platform.call("POST", "/api/admin/groups/van-thu-hni/members", "tuanbv", json={"login": login}), 404)
    added = admin_platform.call(
        "POST", members, "tuanbv", json={"login": login}, headers={"If-Match": before.headers["ETag"]}
    )
    assert added.status_code == 200 and login in added.json()["members"]["officials"]
    assert "van-thu-bnh" in admin_platform.ldap.get_person(login).groups
    problem(
        admin_platform.call("DELETE", f"{members}/{login}", "tuanbv", headers={"If-Match": before.headers["ETag"]}), 412
    )
    removed = admin_platform.call("DELETE", f"{members}/{login}", "tuanbv", headers={"If-Match": added.headers["ETag"]})
    assert removed.status_code == 200 and login not in removed.json()["members"]["officials"]
    problem(admin_platform.call("DELETE", f"{members}/{login}", "tuanbv"), 404)  # no longer a member
    events = [AuditEvent.DIRECTORY_GROUP_MEMBER_ADD, AuditEvent.DIRECTORY_GROUP_MEMBER_REMOVE]
    for event in events:
        [entry] = audited(admin_platform, event=event, subject=login)
        assert entry.details["group"] == "van-thu-bnh"


def service_without_directory(platform: AdminPlatform) -> AdminService:
    """The admin service of the platform's instance over a directory that is down (nothing listens there)."""
    live = platform.instance
    dead = LdapDirectory(config_for(platform.ldap_server, uris=(f"ldap://127.0.0.1:{free_port()}",), timeout=1.0))
    delegation = Delegation(live.database, live.audit, dead, live.clock.now, client_exists=lambda _c: True)
    rest = admin_service(live)  # sessions, audit search and clients: not what these tests are about
    units = Units(dead, delegation, live.audit)
    imports = Imports(dead, delegation, live.audit, lambda _p, _a: {})
    unit_imports = UnitImports(dead, delegation, live.audit)
    officials = Officials(dead, delegation, live.audit, lambda _p, _a: {})
    groups = Groups(dead, delegation, live.audit)
    return AdminService(
        delegation,
        officials,
        units,
        groups,
        rest.security,
        rest.audit,
        rest.clients,
        rest.certificates,
        imports,
        unit_imports,
        ImportJobs(live.database, live.clock.now, {"officials": imports, "units": unit_imports}),
        Exports(dead, delegation, units, live.audit),
        rest.seals,
        rest.pki,
        BulkEdits(officials, groups, delegation, max_logins=200),
    )


def test_a_directory_that_is_down_answers_503_and_the_service_raises_clearly(admin_platform: AdminPlatform) -> None:
    service = service_without_directory(admin_platform)
    with pytest.raises(DirectoryUnavailableError):
        service.units.get(service.actor(admin_platform.ldap.get_person("dungpt").entry_uuid), "BNH")
    app = Flask("down")
    register(app, service, admin_platform.app.extensions[EXTENSION_KEY].verifier)
    token = admin_platform.token("dungpt")
    answer = app.test_client().get("/api/admin/units/BNH", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 503 and answer.content_type == PROBLEM
    assert answer.json is not None and answer.json["type"] == "urn:antin:problem:directory-unavailable"
    with pytest.raises(NotFoundError):
        admin_platform.ldap.get_unit("KHONGCO")  # the real directory was never touched
    service.officials.directory.close()


def test_a_unit_moves_with_its_people_within_reach(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    code = unique("BNH-DI").upper()
    made = admin_platform.call(
        "POST", "/api/admin/units", "tuanbv", json={"code": code, "name": "Chi bộ chuyển", "parent": "BNH"}
    )
    assert made.status_code == 201, made.text
    login = admin_platform.new_official(code, unique)
    target = unique("BNH-DEN").upper()
    admin_platform.ldap.create_unit(target, "Đảng ủy nhận", "party-committee", "BNH")
    path = f"/api/admin/units/{code}/move"
    problem(admin_platform.call("POST", path, "tuanbv", json={"parent": "HNI"}), 404)  # into Hà Nội
    problem(admin_platform.call("POST", "/api/admin/units/HNI-VP/move", "tuanbv", json={"parent": "BNH"}), 404)
    problem(admin_platform.call("POST", path, "tuanbv", json={"parent": "*"}), 404)  # to the top: the root's
    problem(admin_platform.call("POST", path, "tuanbv", json={"parent": code}), 409)  # under itself
    problem(admin_platform.call("POST", path, "tuanbv", json={"parent": "BNH-VP"}, headers={"If-Match": '"x"'}), 412)
    assert admin_platform.ldap.get_unit(code).parent_code == "BNH"
    moved = admin_platform.call(
        "POST", path, "tuanbv", json={"parent": target}, headers={"If-Match": made.headers["ETag"]}
    )
    assert moved.status_code == 200 and moved.json()["parent"] == target
    person = admin_platform.ldap.get_person(login)
    assert [u.code for u in person.unit_path] == [code, target, "BNH", "TW"]
    [entry] = audited(admin_platform, event=AuditEvent.DIRECTORY_UNIT_MOVE, subject=code)
    assert entry.details == {"before": {"parent": "BNH"}, "after": {"parent": target}}


def test_a_change_landing_between_the_check_and_the_write_is_refused(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    """Two administrators save in the same instant: the second's version check passed, but the directory itself
    refuses its write (the entry's entryCSN changed), so the first's change is not silently overwritten."""
    login = admin_platform.new_official("BNH", unique)

    class Racing(LdapDirectory):
        def modify_person(self, uid: str, changes: PersonChanges, *, version: str | None = None) -> Person:
            super().modify_person(uid, PersonChanges(position="Phó Chánh Văn phòng"))  # the other administrator
            return super().modify_person(uid, changes, version=version)

    racing = Racing(admin_platform.ldap.config)
    live = admin_platform.instance
    delegation = Delegation(live.database, live.audit, racing, live.clock.now)
    officials = Officials(racing, delegation, live.audit, lambda _p, _a: {})
    etag = person_etag(racing.get_person(login))
    with pytest.raises(PreconditionFailedError):
        officials.edit(OPERATOR, login, PersonChanges(position="Chuyên viên"), if_match=etag)
    assert admin_platform.ldap.get_person(login).position == "Phó Chánh Văn phòng"
    racing.close()


def test_groups_are_made_nested_and_deleted_within_reach(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    outer, inner = unique("ngoai-"), unique("trong-")
    for name in (outer, inner):
        made = admin_platform.call("POST", "/api/admin/groups", "tuanbv", json={"name": name, "unit": "BNH-VP"})
        assert made.status_code == 201 and made.headers["Location"] == f"/api/admin/groups/{name}", made.text
    assert admin_platform.ldap.get_group(outer).unit_code == "BNH-VP"
    taken = admin_platform.call("POST", "/api/admin/groups", "tuanbv", json={"name": outer, "unit": "BNH"})
    problem(taken, 409)
    problem(admin_platform.call("POST", "/api/admin/groups", "tuanbv", json={"name": unique("x"), "unit": "HNI"}), 404)
    problem(admin_platform.call("POST", "/api/admin/groups", "tuanbv", json={"name": "Có Dấu", "unit": "BNH"}), 400)
    members = f"/api/admin/groups/{outer}/members"
    nested = admin_platform.call("POST", members, "tuanbv", json={"group": inner})
    assert nested.status_code == 200, nested.text
    assert nested.json()["members"]["groups"] == [inner]
    problem(admin_platform.call("POST", f"/api/admin/groups/{inner}/members", "tuanbv", json={"group": outer}), 400)
    problem(admin_platform.call("POST", members, "tuanbv", json={"group": "ky-so-hni"}), 404)  # Hà Nội's group
    problem(admin_platform.call("POST", members, "tuanbv", json={"group": inner, "login": "hoalt"}), 400)
    # Hà Nội's administrator does not see the group
    problem(admin_platform.call("GET", f"/api/admin/groups/{outer}", "hieunm"), 404)
    removed = admin_platform.call("DELETE", f"/api/admin/groups/{outer}/groups/{inner}", "tuanbv")
    assert removed.status_code == 200 and removed.json()["members"]["groups"] == []
    problem(admin_platform.call("DELETE", f"/api/admin/groups/{outer}/groups/{inner}", "tuanbv"), 404)
    assert admin_platform.ldap.get_group(outer).members == ()
    problem(admin_platform.call("DELETE", f"/api/admin/groups/{outer}", "hieunm"), 404)
    problem(admin_platform.call("DELETE", f"/api/admin/groups/{outer}", "tuanbv", headers={"If-Match": '"x"'}), 412)
    assert admin_platform.call("DELETE", f"/api/admin/groups/{outer}", "tuanbv").status_code == 204
    with pytest.raises(NotFoundError):
        admin_platform.ldap.get_group(outer)
    events = [e.event for e in audited(admin_platform, subject=outer)]
    assert events[0] == AuditEvent.DIRECTORY_GROUP_CREATE and events[-1] == AuditEvent.DIRECTORY_GROUP_DELETE
