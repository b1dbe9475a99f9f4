"""Bulk import of officials by an administrator (admin/imports.py, POST /api/admin/imports), against a real slapd."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence

import pytest

from admin.delegation import Actor
from admin.imports import MAX_IMPORT_BYTES, BadImportFileError, ImportTooLargeError
from antin.kernel.audit import AuditEvent
from directory.errors import NotFoundError
from directory.models import AccountStatus, Person
from directory.transfer import plan_import, read_rows
from idp.oidc import resource_server_checks
from tests.admin.conftest import AdminPlatform
from tests.admin.test_api import PROBLEM
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser, RelyingParty

HEADER = "uid,name,unit,mail,employee_number,position,phone,party_card,status\n"


def actor_of(platform: AdminPlatform, login: str) -> Actor:
    return platform.service.actor(platform.ldap.get_person(login).entry_uuid)


@pytest.fixture
def commune(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> str:
    """A commune of Bắc Ninh of the test's own: other tests count the demo units' officials."""
    code = unique("BNH-NK").upper()
    admin_platform.ldap.create_unit(code, "Đảng ủy xã Nhân Khang", "commune-committee", "BNH")
    return code


def exists(platform: AdminPlatform, uid: str) -> bool:
    try:
        platform.ldap.get_person(uid)
    except NotFoundError:
        return False
    return True


def test_a_dry_run_reports_each_row_and_writes_nothing(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    existing = admin_platform.new_official("BNH-VP", unique, full_name="Nguyễn Thị Hoa")
    new = unique("nv")
    csv = (
        HEADER + f"{new},Trần Văn Nam,BNH-VP,,,,,,\n"
        f"{existing},Nguyễn Thị Hoa,BNH-VP,,,Chánh văn phòng,,,\n"
        f"{unique('hn')},Lê Văn Hà,HNI-VP,,,,,,\n"
        f"{unique('xx')},,BNH-VP,,,,,,\n"
    ).encode()
    report = admin_platform.service.imports.preview(actor_of(admin_platform, "tuanbv"), csv)
    assert report.dry_run and report.status == "dry-run"
    by_line = {r.line: r for r in report.rows}
    assert by_line[2].action == "create" and by_line[2].login == new
    assert by_line[3].action == "change" and by_line[3].fields == ("position",)
    assert by_line[4].action == "refused" and "HNI-VP" in by_line[4].reason
    assert by_line[5].action == "refused" and "name" in by_line[5].reason
    assert report.counts() == {"create": 1, "change": 1, "unchanged": 0, "refused": 2, "applied": 0}
    assert not exists(admin_platform, new)
    assert admin_platform.ldap.get_person(existing).position is None


def test_apply_creates_and_changes_and_the_report_matches(
    admin_platform: AdminPlatform, unique: Callable[[str], str], commune: str
) -> None:
    moved = admin_platform.new_official("BNH-VP", unique, full_name="Phạm Văn Đức")
    new = unique("nv")
    csv = (
        HEADER + f"{new},Trần Văn Nam,{commune},{new}@bacninh.example,,,,,\n"
        f"{moved},Phạm Văn Đức,{commune},,,,,,suspended\n"
    ).encode()
    tuanbv = actor_of(admin_platform, "tuanbv")
    report = admin_platform.service.imports.apply(tuanbv, csv)
    assert report.status == "applied" and not report.dry_run
    assert [(r.login, r.action, r.outcome) for r in report.rows] == [
        (new, "create", "applied"),
        (moved, "change", "applied"),
    ]
    assert set(report.rows[1].fields) == {"unit", "status"}
    created = admin_platform.ldap.get_person(new)
    assert created.full_name == "Trần Văn Nam" and created.unit is not None and created.unit.code == commune
    changed = admin_platform.ldap.get_person(moved)
    assert changed.unit is not None and changed.unit.code == commune
    assert changed.status is AccountStatus.SUSPENDED
    entry = sorted(
        admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_IMPORT, actor=tuanbv.name),
        key=lambda e: e.seq,
    )[-1]
    assert entry.details["create"] == 1 and entry.details["change"] == 1 and entry.details["applied"] == 2
    again = admin_platform.service.imports.apply(tuanbv, csv)  # the same file again: nothing left to do
    assert [r.action for r in again.rows] == ["unchanged", "unchanged"] and again.applied == 0


def test_rows_outside_reach_are_refused_and_then_nothing_is_written(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    mine, theirs = unique("bn"), unique("hn")
    csv = (
        HEADER + f"{mine},Trần Văn Nam,BNH-VP,,,,,,\n{theirs},Lê Văn Hà,HNI-VP,,,,,,\ntoanvd,Vũ Đức Toàn,BNH-VP,,,,,,\n"
    ).encode()
    report = admin_platform.service.imports.apply(actor_of(admin_platform, "tuanbv"), csv)
    assert report.status == "nothing-applied" and report.applied == 0
    reasons = {r.login: r.reason for r in report.rows if r.action == "refused"}
    assert reasons == {theirs: "unit HNI-VP is outside your reach", "toanvd": "official toanvd is outside your reach"}
    assert not exists(admin_platform, mine) and not exists(admin_platform, theirs)
    toanvd = admin_platform.ldap.get_person("toanvd")
    assert toanvd.unit is not None and toanvd.unit.code == "HNI-VP"
    skipped = admin_platform.service.imports.apply(actor_of(admin_platform, "tuanbv"), csv, skip_refused=True)
    assert skipped.status == "applied" and skipped.applied == 1
    assert exists(admin_platform, mine) and not exists(admin_platform, theirs)


def test_a_unit_administrator_s_file_is_read_once_and_planned_as_before(
    admin_platform: AdminPlatform, unique: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reach check's read of the file's officials is handed to the planner: one search for them, not two, and
    the same per-row report as a plan that reads them itself."""
    changed = admin_platform.new_official("BNH-VP", unique, full_name="Nguyễn Thị Hoa")
    kept = admin_platform.new_official("BNH-VP", lambda p: unique(p + "k"), full_name="Đỗ Văn Bình")
    new = unique("nv")
    csv = (
        HEADER + f"{new},Trần Văn Nam,BNH-VP,,,,,,\n"
        f"{changed},Nguyễn Thị Hoa,BNH-VP,,,Chánh văn phòng,,,\n"
        f"{kept},Đỗ Văn Bình,BNH-VP,,,,,,\n"
        f"{unique('hn')},Lê Văn Hà,HNI-VP,,,,,,\n"
        "toanvd,Vũ Đức Toàn,BNH-VP,,,,,,\n"
        f"{new},Trần Văn Nam,BNH-VP,,,,,,\n"
        f"{unique('xx')},,BNH-VP,,,,,,\n"
    ).encode()
    directory = admin_platform.service.imports.directory
    reads: list[list[str]] = []
    find_people = directory.find_people

    def counted(uids: Sequence[str], *, chunk: int = 200) -> dict[str, Person]:
        reads.append(list(uids))
        return find_people(uids, chunk=chunk)

    monkeypatch.setattr(directory, "find_people", counted)
    report = admin_platform.service.imports.preview(actor_of(admin_platform, "tuanbv"), csv)
    assert len(reads) == 1 and changed in reads[0]  # the reach check's search; the planner's is saved
    rows = [(r.line, r.login, r.action, r.fields, r.reason) for r in report.rows]
    assert rows == [
        (2, new, "create", (), ""),
        (3, changed, "change", ("position",), ""),
        (4, kept, "unchanged", (), ""),
        (5, rows[3][1], "refused", (), "unit HNI-VP is outside your reach"),
        (6, "toanvd", "refused", (), "official toanvd is outside your reach"),
        (7, new, "refused", (), "duplicate of line 2"),
        (8, rows[6][1], "refused", (), rows[6][4]),
    ]
    assert "name" in rows[6][4]
    # the platform administrator's import reads nothing for the reach check: the planner reads the officials itself
    reads.clear()
    whole = admin_platform.service.imports.preview(actor_of(admin_platform, "dungpt"), csv)
    assert len(reads) == 1
    assert [(r.login, r.action, r.fields) for r in whole.rows if r.line in (2, 3, 4, 7)] == [
        (new, "create", ()),
        (changed, "change", ("position",)),
        (kept, "unchanged", ()),
        (new, "refused", ()),
    ]


def test_a_plan_given_the_officials_already_read_is_the_plan_that_reads_them(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    """directory.transfer.plan_import's ``people``: the same operations and rejections, with or without it."""
    changed = admin_platform.new_official("BNH-VP", unique, full_name="Nguyễn Thị Hoa")
    csv = (
        HEADER
        + f"{unique('nv')},Trần Văn Nam,BNH-VP,,,,,,\n{changed},Nguyễn Thị Hoa,BNH-BTC,,,,,,\nbad uid,X,BNH,,,,,,\n"
    )
    rows, unreadable = read_rows(csv, "csv")
    directory = admin_platform.service.imports.directory
    by_itself = plan_import(directory, rows, unreadable)
    given = plan_import(directory, rows, unreadable, people=directory.find_people([r.values["uid"] for r in rows]))
    assert (given.operations, given.rejections) == (by_itself.operations, by_itself.rejections)
    assert [op.action for op in given.operations] == ["create", "update"] and len(given.rejections) == 1


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (b"", BadImportFileError, "empty"),
        (b"login,full_name\nx,y\n", BadImportFileError, "missing column"),
        (b"uid,name,colour\nx,y,z\n", BadImportFileError, "unknown column"),
        ("uid,name\nnguyễn,Nguyễn\n".encode("utf-16"), BadImportFileError, "UTF-8"),
        (b"uid,name\n", BadImportFileError, "no rows"),
        (b"uid,name\n" + b"a" * MAX_IMPORT_BYTES, ImportTooLargeError, "MiB"),
    ],
)
def test_a_bad_file_is_refused_whole_with_a_clear_error(
    admin_platform: AdminPlatform, body: bytes, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        admin_platform.service.imports.preview(actor_of(admin_platform, "tuanbv"), body)


def test_the_api_previews_then_imports(admin_platform: AdminPlatform, unique: Callable[[str], str]) -> None:
    new = unique("api")
    csv = (HEADER + f"{new},Đỗ Thị Lan,BNH-VP,,,,,,\n").encode()
    headers = {"Content-Type": "text/csv"}
    dry = admin_platform.call("POST", "/api/admin/imports?dry_run=true", "tuanbv", headers=headers, data=csv)
    assert dry.status_code == 200, dry.text
    assert dry.json()["rows"] == [
        {"line": 2, "login": new, "action": "create", "fields": [], "reason": "", "outcome": "planned"}
    ]
    assert not exists(admin_platform, new)
    real = admin_platform.call("POST", "/api/admin/imports?dry_run=false", "tuanbv", headers=headers, data=csv)
    assert real.status_code == 200 and real.json()["status"] == "applied" and real.json()["applied"] == 1
    assert admin_platform.ldap.get_person(new).full_name == "Đỗ Thị Lan"


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b'{"uid": "x"}', 400),
        ("text/csv", b"nothing,here\n1,2\n", 400),
        ("text/csv", b"uid,name\n" + b"a" * (MAX_IMPORT_BYTES + 1), 413),
    ],
)
def test_the_api_answers_a_bad_file_with_a_problem(
    admin_platform: AdminPlatform, content_type: str, body: bytes, status: int
) -> None:
    response = admin_platform.call(
        "POST", "/api/admin/imports?dry_run=false", "tuanbv", headers={"Content-Type": content_type}, data=body
    )
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM and "Traceback" not in response.text
    bad_flag = admin_platform.call(
        "POST", "/api/admin/imports?dry_run=maybe", "tuanbv", headers={"Content-Type": "text/csv"}, data=HEADER.encode()
    )
    assert bad_flag.status_code == 400


def test_a_row_that_suspends_an_official_ends_their_sessions_and_tokens_at_once(
    admin_platform: AdminPlatform, unique: Callable[[str], str], commune: str
) -> None:
    uid = admin_platform.new_official(commune, unique, full_name="Trần Thị Bích")
    rp = RelyingParty.register(admin_platform)  # type: ignore[arg-type]
    browser = Browser(admin_platform.issuer)
    tokens = rp.code_flow(browser, username=uid, password=PASSWORD)
    jti = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "==").decode())["jti"]
    checks = resource_server_checks(admin_platform.instance)
    assert not checks.access_token_revoked(jti)
    csv = (HEADER + f"{uid},Trần Thị Bích,{commune},,,,,,suspended\n").encode()
    report = admin_platform.service.imports.apply(actor_of(admin_platform, "tuanbv"), csv)
    assert [(r.action, r.fields, r.outcome) for r in report.rows] == [("change", ("status",), "applied")]
    assert admin_platform.ldap.get_person(uid).status is AccountStatus.SUSPENDED
    assert checks.access_token_revoked(jti)
    assert rp.authorize(browser, prompt="none").params["error"] == "login_required"
