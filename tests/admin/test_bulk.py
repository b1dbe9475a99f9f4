"""Bulk work in the service against real slapd: units imported by CSV (a dry run per row, rows outside the
administrator's reach refused naming the unit, a subtree built in one file, a unit moved), the real run as a job in
SQL whose progress a second instance over the same database reads and which it may take up when the first instance
died, and officials and units exported as CSV within reach (read back by the importers)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from admin.delegation import Actor
from admin.errors import NotPermittedError, OutOfReachError
from admin.import_jobs import STALE_AFTER, ImportJobs, ImportJobView
from admin.imports import ImportReport, Progress
from admin.models import AdminImportJob
from admin.service import admin_service
from antin.kernel.audit import AuditEvent
from antin.kernel.instance import Instance
from directory.errors import NotFoundError
from tests.admin.conftest import AdminPlatform
from tests.directory.conftest import PASSWORD

pytestmark = pytest.mark.slapd

UNITS_HEADER = "code,name,kind,parent,description\n"


def actor_of(platform: AdminPlatform, login: str) -> Actor:
    return platform.service.actor(platform.ldap.get_person(login).entry_uuid)


def unit_exists(platform: AdminPlatform, code: str) -> bool:
    try:
        platform.ldap.get_unit(code)
    except NotFoundError:
        return False
    return True


def wait_for(jobs: ImportJobs, actor: Actor, job_id: str) -> ImportJobView:
    """The job once its background run is over (a wait for it, not a measure of it)."""
    for _ in range(600):
        view = jobs.get(actor, job_id)
        if view.finished:
            return view
        time.sleep(0.05)
    raise AssertionError(f"the import did not finish: {view}")


def test_a_units_file_is_checked_row_by_row_within_reach_and_then_imported(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    tuanbv = actor_of(admin_platform, "tuanbv")
    ward, cell = unique("BNH-P").upper(), unique("BNH-CB").upper()
    body = (
        UNITS_HEADER
        + f"{ward},Đảng ủy phường Đông Ngàn,ward-committee,BNH,\n"  # a new ward in Bắc Ninh
        + f"{cell},Chi bộ khu phố 1,party-cell,{ward},\n"  # under the ward the line above creates
        + "BNH-VP,Văn phòng Tỉnh ủy Bắc Ninh,department,BNH,\n"  # as it is
        + f"{unique('HNI-X').upper()},Đơn vị Hà Nội,department,HNI,\n"  # under Hà Nội: outside the reach
        + "HNI-VP,Văn phòng Thành ủy Hà Nội,department,BNH,\n"  # Hà Nội's unit moved into Bắc Ninh: outside
        + f"{unique('BNH-Y').upper()},Không cha,department,,\n"  # a top unit: the platform administrator's only
        + f"{unique('BNH-Z').upper()},Kiểu lạ,planet,BNH,\n"  # the directory's importer refuses the kind
    ).encode()
    preview = admin_platform.service.unit_imports.preview(tuanbv, body)
    by_line = {r.line: r for r in preview.rows}
    assert [by_line[n].action for n in range(2, 9)] == [
        "create",
        "create",
        "unchanged",
        "refused",
        "refused",
        "refused",
        "refused",
    ]
    assert by_line[5].reason == "unit HNI is outside your reach"
    assert by_line[6].reason == "unit HNI-VP is outside your reach"
    assert "platform administrator" in by_line[7].reason and "kind" in by_line[8].reason
    assert not unit_exists(admin_platform, ward)  # the dry run wrote nothing

    refused = admin_platform.service.unit_imports.apply(tuanbv, body)
    assert refused.status == "nothing-applied" and not unit_exists(admin_platform, ward)
    report = admin_platform.service.unit_imports.apply(tuanbv, body, skip_refused=True)
    assert report.status == "applied" and report.applied == 2
    assert admin_platform.ldap.get_unit(cell).parent_code == ward
    assert admin_platform.ldap.get_unit("HNI-VP").parent_code == "HNI"
    entry = next(admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_IMPORT, limit=1))
    assert entry.subject == "units.csv" and entry.details["applied"] == 2

    # the same cell under another unit of the province: moved, with its subtree
    moved = admin_platform.service.unit_imports.apply(
        tuanbv, (UNITS_HEADER + f"{cell},Chi bộ khu phố 1,party-cell,BNH-VP,\n").encode()
    )
    assert [(r.action, r.fields, r.outcome) for r in moved.rows] == [("change", ("parent",), "applied")]
    assert admin_platform.ldap.get_unit(cell).parent_code == "BNH-VP"


def test_a_units_file_needs_units_write_and_a_readable_header(admin_platform: AdminPlatform) -> None:
    body = (UNITS_HEADER + "BNH-VP,Văn phòng Tỉnh ủy Bắc Ninh,department,BNH,\n").encode()
    with pytest.raises(NotPermittedError):
        admin_platform.service.unit_imports.preview(actor_of(admin_platform, "yenht"), body)  # an auditor
    tuanbv = actor_of(admin_platform, "tuanbv")
    for bad, words in (
        (b"ma,ten\nX,Y\n", "missing column"),
        (b"code,name,colour\nX,Y,red\n", "unknown column"),
        (UNITS_HEADER.encode(), "no rows"),
        (b"\xff\xfe", "UTF-8"),
    ):
        with pytest.raises(Exception, match=words) as raised:
            admin_platform.service.unit_imports.preview(tuanbv, bad)
        assert getattr(raised.value, "status", None) == 400


def test_the_real_run_reports_each_row_written_as_it_goes(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    tuanbv = actor_of(admin_platform, "tuanbv")
    commune = unique("BNH-XA").upper()
    admin_platform.ldap.create_unit(commune, "Đảng ủy xã Tam Sơn", "commune-committee", "BNH")
    body = ("uid,name,unit\n" + "".join(f"{unique('pg')}{i:03d},Trần Văn An,{commune}\n" for i in range(120))).encode()
    seen: list[tuple[int, int]] = []
    report = admin_platform.service.imports.apply(tuanbv, body, progress=lambda done, total: seen.append((done, total)))
    assert report.status == "applied" and report.applied == 120
    assert seen == [(n, 120) for n in range(121)]  # every row, in order, from nothing written to all


class SteppedImporter:
    """An importer that stops at each row until the test lets it go on (to read the job between two rows)."""

    def __init__(self, rows: int) -> None:
        import threading

        self.rows = rows

        self.step = threading.Semaphore(0)
        self.reached = threading.Semaphore(0)

    def preview(self, actor: Actor, csv_bytes: bytes) -> ImportReport:
        from admin.imports import RowOutcome

        return ImportReport(dry_run=True, rows=[RowOutcome(n + 2, f"u{n}", "create") for n in range(self.rows)])

    def apply(
        self, actor: Actor, csv_bytes: bytes, *, skip_refused: bool = False, progress: Progress | None = None
    ) -> ImportReport:
        from admin.imports import RowOutcome

        assert progress is not None
        for done in range(self.rows + 1):
            progress(done, self.rows)
            self.reached.release()
            assert self.step.acquire(timeout=30)
        rows = [RowOutcome(n + 2, f"u{n}", "create", outcome="applied") for n in range(self.rows)]
        return ImportReport(dry_run=False, rows=rows, status="applied")


@pytest.fixture
def second_instance(admin_platform: AdminPlatform) -> Iterator[Instance]:
    """Another instance of the platform over the same database (as a second host behind the load balancer)."""
    from directory.instance import SERVICE_KEY

    other = Instance(admin_platform.instance.settings)
    try:
        yield other
    finally:
        other.extensions.pop(SERVICE_KEY, None)  # the directory is the first instance's: it stays open
        other.close()


def test_an_import_job_runs_in_the_background_and_another_instance_reads_its_progress(
    admin_platform: AdminPlatform, second_instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("admin.import_jobs.PROGRESS_EVERY", 0.0)  # every row written (the default: twice a second)
    tuanbv = actor_of(admin_platform, "tuanbv")
    stepped = SteppedImporter(3)
    here = ImportJobs(admin_platform.instance.database, admin_platform.instance.clock.now, {"officials": stepped})
    there = ImportJobs(second_instance.database, second_instance.clock.now, {"officials": stepped})
    job = here.check(tuanbv, "officials", "ba-dong.csv", b"uid,name\n")
    assert (job.status, job.done, job.total) == ("checked", 0, 3)
    with pytest.raises(OutOfReachError):
        there.get(actor_of(admin_platform, "hieunm"), job.id)  # another administrator: no such import

    here.start(tuanbv, job.id)
    for done in range(4):
        assert stepped.reached.acquire(timeout=30)
        view = there.get(tuanbv, job.id)  # the other instance, through the database
        assert (view.status, view.done, view.total) == ("running", done, 3)
        assert there.start(tuanbv, job.id).status == "running"  # a second click elsewhere runs nothing twice
        stepped.step.release()
    final = wait_for(there, tuanbv, job.id)
    assert final.status == "applied" and final.report["applied"] == 3 and not final.report["dry_run"]
    assert here.start(tuanbv, job.id).status == "applied"  # over: the back button does not run it again
    here.close()


def test_a_job_whose_instance_died_is_shown_interrupted_and_another_instance_continues_it(
    admin_platform: AdminPlatform, second_instance: Instance, unique: Callable[[str], str]
) -> None:
    tuanbv = actor_of(admin_platform, "tuanbv")
    commune = unique("BNH-XA").upper()
    admin_platform.ldap.create_unit(commune, "Đảng ủy xã Nội Duệ", "commune-committee", "BNH")
    news = [f"{unique('ht')}{i:02d}" for i in range(20)]
    body = ("uid,name,unit\n" + "".join(f"{uid},Phạm Thị Hà,{commune}\n" for uid in news)).encode()
    here = admin_platform.service.import_jobs
    job = here.check(tuanbv, "officials", "noi-due.csv", body)
    # the first instance wrote half the rows and died: its job says "running", its heartbeat stopped long ago
    half = body.split(b"\n")
    admin_platform.service.imports.apply(tuanbv, b"\n".join(half[:11]) + b"\n")
    with admin_platform.instance.database.session() as s:
        s.execute(
            update(AdminImportJob)
            .where(AdminImportJob.id == job.id)
            .values(status="running", done=10, heartbeat_at=admin_platform.instance.clock.now() - STALE_AFTER * 2)
        )
    from directory.instance import use_directory

    use_directory(second_instance, admin_platform.ldap)
    there = admin_service(second_instance).import_jobs
    assert there.get(tuanbv, job.id).status == "interrupted"
    there.start(tuanbv, job.id)
    final = wait_for(there, tuanbv, job.id)
    assert final.status == "applied" and final.done == final.total == 10  # the other ten were written already
    outcomes = {r["login"]: (r["action"], r["outcome"]) for r in final.report["rows"]}
    assert outcomes[news[0]] == ("unchanged", "unchanged") and outcomes[news[-1]] == ("create", "applied")
    assert all(admin_platform.ldap.get_person(uid).unit.code == commune for uid in news)  # type: ignore[union-attr]


def test_a_job_that_cannot_reach_the_directory_fails_saying_so_and_may_be_started_again(
    admin_platform: AdminPlatform,
) -> None:
    from tests.admin.test_writes import service_without_directory

    down = service_without_directory(admin_platform)
    tuanbv = actor_of(admin_platform, "tuanbv")
    jobs = admin_platform.service.import_jobs
    job = jobs.check(
        tuanbv, "units", "don-vi.csv", (UNITS_HEADER + "BNH-VP,Văn phòng Tỉnh ủy Bắc Ninh,department,BNH,\n").encode()
    )
    failed_run = ImportJobs(
        admin_platform.instance.database, admin_platform.instance.clock.now, {"units": down.unit_imports}
    )
    failed_run.start(tuanbv, job.id)
    failed = wait_for(jobs, tuanbv, job.id)
    assert failed.status == "failed" and failed.report["error"]
    again = jobs.start(tuanbv, job.id)  # the directory is back: the same checked file runs
    assert wait_for(jobs, tuanbv, again.id).status == "applied"
    down.officials.directory.close()


def test_officials_and_units_are_exported_within_reach_in_files_the_imports_read_back(
    admin_platform: AdminPlatform,
) -> None:
    tuanbv = actor_of(admin_platform, "tuanbv")
    exports = admin_platform.service.exports
    officials = list(csv.DictReader(io.StringIO("".join(exports.officials_csv(tuanbv)))))
    assert officials and all(r["unit"].startswith("BNH") for r in officials)
    assert "tuanbv" in {r["uid"] for r in officials} and "toanvd" not in {r["uid"] for r in officials}
    assert "password" not in officials[0]
    units = list(csv.DictReader(io.StringIO("".join(exports.units_csv(tuanbv)))))
    codes = [r["code"] for r in units]
    assert codes[0] == "BNH" and "BNH-VP" in codes and not any(c.startswith("HNI") for c in codes)
    assert codes.index("BNH-KINHBAC") < codes.index("BNH-KINHBAC-CB1")  # parents first: the import reads it back
    # read back: the same files change nothing
    again = admin_platform.service.unit_imports.preview(tuanbv, "".join(exports.units_csv(tuanbv)).encode())
    assert {r.action for r in again.rows} == {"unchanged"}
    with pytest.raises(OutOfReachError):
        exports.officials_csv(tuanbv, "HNI")
    with pytest.raises(OutOfReachError):
        exports.units_csv(tuanbv, "HNI")
    entry = next(admin_platform.instance.audit.entries(event=AuditEvent.DIRECTORY_EXPORT, limit=1))
    assert entry.actor == tuanbv.name and entry.subject == "units.csv"


def test_a_cell_a_spreadsheet_would_run_is_quoted_in_an_export(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    from directory.models import NewPerson

    uid = unique("cs")
    admin_platform.ldap.create_person(
        NewPerson(uid=uid, full_name="=HYPERLINK(1)", unit_code="BNH-VP", password=PASSWORD)
    )
    lines = admin_platform.service.exports.officials_csv(actor_of(admin_platform, "tuanbv"), "BNH-VP")
    row = next(r for r in csv.DictReader(io.StringIO("".join(lines))) if r["uid"] == uid)
    assert row["name"] == "'=HYPERLINK(1)"


def test_old_jobs_are_removed(admin_platform: AdminPlatform) -> None:
    tuanbv = actor_of(admin_platform, "tuanbv")
    jobs = admin_platform.service.import_jobs
    body = (UNITS_HEADER + "BNH-VP,Văn phòng Tỉnh ủy Bắc Ninh,department,BNH,\n").encode()
    old = jobs.check(tuanbv, "units", "cu.csv", body)
    admin_platform.instance.clock.advance(timedelta(days=2))
    try:
        jobs.check(tuanbv, "units", "moi.csv", body)
    finally:
        admin_platform.instance.clock.advance(timedelta(days=-2))
    with pytest.raises(OutOfReachError):
        jobs.get(tuanbv, old.id)


def test_the_api_imports_units_runs_jobs_and_exports(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    csv_headers = {"Content-Type": "text/csv"}
    ward = unique("BNH-P").upper()
    body = (UNITS_HEADER + f"{ward},Đảng ủy phường Hạp Lĩnh,ward-committee,BNH,\n").encode()
    dry = admin_platform.call("POST", "/api/admin/units/imports", "tuanbv", data=body, headers=csv_headers)
    assert dry.status_code == 200 and dry.json()["create"] == 1 and not unit_exists(admin_platform, ward)

    created = admin_platform.call(
        "POST", "/api/admin/import-jobs", "tuanbv", params={"kind": "units"}, data=body, headers=csv_headers
    )
    assert created.status_code == 201 and created.json()["status"] == "checked" and created.json()["total"] == 1
    location = created.headers["Location"]
    assert admin_platform.call("GET", location, "hieunm").status_code == 404  # Hà Nội's administrator: no such job
    started = admin_platform.call("POST", location + "/start", "tuanbv")
    assert started.status_code == 202 and started.json()["status"] in ("running", "applied")
    for _ in range(300):
        job = admin_platform.call("GET", location, "tuanbv").json()
        if job["finished"]:
            break
        time.sleep(0.05)
    assert job["status"] == "applied" and job["done"] == job["total"] == 1 and job["report"]["applied"] == 1
    assert admin_platform.ldap.get_unit(ward).parent_code == "BNH"
    bad = admin_platform.call(
        "POST", "/api/admin/import-jobs", "tuanbv", params={"kind": "groups"}, data=body, headers=csv_headers
    )
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"

    units = admin_platform.call("GET", "/api/admin/exports/units.csv", "tuanbv", params={"unit": ward})
    assert units.status_code == 200 and units.headers["Content-Type"].startswith("text/csv")
    assert [r["code"] for r in csv.DictReader(io.StringIO(units.content.decode("utf-8-sig")))] == [ward]
    officials = admin_platform.call("GET", "/api/admin/exports/officials.csv", "tuanbv", params={"unit": "BNH-VP"})
    rows = list(csv.DictReader(io.StringIO(officials.content.decode("utf-8-sig"))))
    # the unit and its subtree (other tests put units under Văn phòng), and nobody from elsewhere
    paths = {code: [u.code for u in admin_platform.ldap.unit_path(code)] for code in {r["unit"] for r in rows}}
    assert "BNH-VP" in paths and all("BNH-VP" in path for path in paths.values()), paths


@pytest.fixture
def second_app(admin_platform: AdminPlatform, second_instance: Instance) -> Iterator[str]:
    """A second app over the same database and directory, served on its own port: its base URL."""
    import threading

    from werkzeug.serving import make_server

    from antin.app import create_app
    from directory.instance import use_directory
    from idp.oidc.service import replace_directory

    use_directory(second_instance, admin_platform.ldap)
    replace_directory(second_instance, admin_platform.ldap)
    app = create_app(second_instance.settings, instance=second_instance)
    server = make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def test_an_import_job_checked_on_one_instance_is_started_on_another_and_followed_on_the_first(
    admin_platform: AdminPlatform, second_app: str, unique: Callable[[str], str]
) -> None:
    import requests

    commune = unique("BNH-XA").upper()
    admin_platform.ldap.create_unit(commune, "Đảng ủy xã Hòa Long", "commune-committee", "BNH")
    news = [f"{unique('hl')}{i:03d}" for i in range(300)]
    body = ("uid,name,unit\n" + "".join(f"{uid},Ngô Văn Long,{commune}\n" for uid in news)).encode()
    auth = {"Authorization": f"Bearer {admin_platform.token('tuanbv')}"}
    first, second = admin_platform.base_url, second_app
    created = requests.post(
        first + "/api/admin/import-jobs", data=body, headers={**auth, "Content-Type": "text/csv"}, timeout=30
    )
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    on_second = requests.get(second + location, headers=auth, timeout=30).json()
    assert on_second["status"] == "checked" and on_second["total"] == 300  # the second instance reads the job
    assert requests.post(second + location + "/start", headers=auth, timeout=30).status_code == 202
    for _ in range(600):  # followed on the first instance while the second runs it
        job = requests.get(first + location, headers=auth, timeout=30).json()
        assert 0 <= job["done"] <= job["total"] == 300
        if job["finished"]:
            break
        time.sleep(0.05)
    assert job["status"] == "applied" and job["report"]["applied"] == 300
    assert admin_platform.ldap.get_person(news[-1]).unit.code == commune  # type: ignore[union-attr]
