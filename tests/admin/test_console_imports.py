"""The console's bulk import over real HTTP against real slapd: upload → the dry run row by row (paged) → Import →
the result and its per-row report as CSV; a bad file is a clear page; another administrator cannot reach an upload."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable

import pytest
import requests

from directory.errors import NotFoundError
from tests.admin.conftest import AdminPlatform, console_browser
from tests.idp.rp import Browser, forms_of

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]

HEADER = "uid,name,unit,position\n"


def upload(platform: AdminPlatform, browser: Browser, body: bytes, name: str = "can-bo.csv") -> requests.Response:
    form_page = browser.go(platform.base_url + "/admin/import").page
    assert form_page is not None and form_page.status_code == 200 and 'id="import-upload-form"' in form_page.text
    csrf = forms_of(form_page.text)["import-upload-form"]["inputs"]["csrf_token"]
    return browser.session.post(
        platform.base_url + "/admin/import",
        data={"csrf_token": csrf},
        files={"file": (name, body, "text/csv")},
        timeout=30,
    )


def finished(browser: Browser, answer: requests.Response) -> requests.Response:
    """The job's page once its background run is over, read through the progress JSON the page itself polls."""
    match = re.search(r'data-progress-url="([^"]+)"', answer.text)
    if match is None:
        return answer  # already over
    progress_url = answer.url.split("/admin/")[0] + match.group(1)
    for _ in range(600):  # a wait for the run, not a measure of it
        progress = browser.session.get(progress_url, timeout=30).json()
        assert progress["total"] >= progress["done"] >= 0
        if progress["finished"]:
            return browser.session.get(answer.url, timeout=30)
        time.sleep(0.1)
    raise AssertionError(f"the import did not finish: {progress}")


def rows_on(html: str) -> dict[int, tuple[str, str]]:
    """The dry run's or result's rows on the page: line → (action, outcome)."""
    found = re.findall(r'<tr data-line="(\d+)" data-action="([a-z]+)" data-outcome="([a-z-]+)">', html)
    return {int(line): (action, outcome) for line, action, outcome in found}


def exists(platform: AdminPlatform, uid: str) -> bool:
    try:
        platform.ldap.get_person(uid)
    except NotFoundError:
        return False
    return True


def test_an_administrator_checks_a_file_imports_it_and_downloads_the_report(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    browser, home = console_browser(admin_platform, "tuanbv")
    assert 'id="menu-import"' in home.text
    changed = admin_platform.new_official("BNH-VP", unique, full_name="Hoàng Văn Sơn")
    news = [f"{unique('ci')}{i:02d}" for i in range(30)]  # more than a page (the console's page size is 25)
    lines = [f"{uid},Nguyễn Văn Bình,BNH-VP,\n" for uid in news]
    body = HEADER + "".join(lines) + f"{changed},Hoàng Văn Sơn,BNH-VP,Phó Văn phòng\n" + "toanvd,Vũ Đức Toàn,HNI-VP,\n"
    preview = upload(admin_platform, browser, body.encode())
    assert preview.status_code == 200 and "Traceback" not in preview.text
    assert 'id="import-form"' in preview.text and 'id="refused-warning"' in preview.text
    first = rows_on(preview.text)
    assert len(first) == 25 and all(first[line] == ("create", "planned") for line in range(2, 27))
    assert not any(exists(admin_platform, uid) for uid in news)  # the dry run wrote nothing
    second_page = browser.session.get(preview.url, params={"page": "2"}, timeout=30)
    second = rows_on(second_page.text)
    assert second[32] == ("change", "planned") and "position" in second_page.text
    assert second[33] == ("refused", "refused") and "unit HNI-VP is outside your reach" in second_page.text

    form = forms_of(preview.text)["import-form"]
    result = browser.session.post(
        admin_platform.base_url + form["action"],
        data={"csrf_token": form["inputs"]["csrf_token"], "skip_refused": "1"},
        timeout=60,
    )
    result = finished(browser, result)
    assert result.status_code == 200 and 'data-status="applied"' in result.text
    assert rows_on(result.text)[2] == ("create", "applied")
    assert all(exists(admin_platform, uid) for uid in news)
    assert admin_platform.ldap.get_person(changed).position == "Phó Văn phòng"
    toanvd = admin_platform.ldap.get_person("toanvd")
    assert toanvd.unit is not None and toanvd.unit.code == "HNI-VP"

    download = re.search(r'id="download-report" href="([^"]+)"', result.text)
    assert download is not None
    report = browser.session.get(admin_platform.base_url + download.group(1), timeout=30)
    assert report.headers["Content-Type"].startswith("text/csv")
    assert "can-bo-report.csv" in report.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert len(table) == 32
    by_login = {r["login"]: r for r in table}
    assert by_login[news[0]]["outcome"] == "applied" and by_login[changed]["action"] == "change"
    assert by_login["toanvd"]["outcome"] == "refused" and "outside your reach" in by_login["toanvd"]["reason"]

    again = finished(
        browser, browser.session.post(admin_platform.base_url + form["action"], data=form["inputs"], timeout=30)
    )
    assert again.status_code == 200 and 'data-status="applied"' in again.text  # a second click imports nothing more

    # Hà Nội's administrator cannot open Bắc Ninh's upload, its report, or import it
    other, _ = console_browser(admin_platform, "hieunm")
    for path in (preview.url, admin_platform.base_url + download.group(1)):
        assert other.session.get(path, timeout=30).status_code == 404


def test_a_bad_file_gets_a_clear_page_and_nothing_is_kept(admin_platform: AdminPlatform) -> None:
    browser, _ = console_browser(admin_platform, "tuanbv")
    for body, words in ((b"login;full_name\nx;y\n", "missing column"), (b"\xff\xfeu\x00i\x00d\x00", "UTF-8")):
        answer = upload(admin_platform, browser, body, name="sai.csv")
        assert answer.status_code == 400 and 'id="form-problem"' in answer.text and words in answer.text
        assert "Traceback" not in answer.text


def test_an_upload_without_the_csrf_token_or_by_an_auditor_is_refused(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    browser, _ = console_browser(admin_platform, "tuanbv")
    uid = unique("csrf")
    body = (HEADER + f"{uid},Nguyễn Văn Bình,BNH-VP,\n").encode()
    forged = browser.session.post(
        admin_platform.base_url + "/admin/import", files={"file": ("x.csv", body, "text/csv")}, timeout=30
    )
    assert forged.status_code in (400, 403) and "import-rows" not in forged.text
    auditor, home = console_browser(admin_platform, "yenht")
    assert 'id="menu-import"' not in home.text
    assert auditor.session.get(admin_platform.base_url + "/admin/import", timeout=30).status_code == 403
    assert upload_status(admin_platform, auditor, body) == 403
    assert not exists(admin_platform, uid)


def upload_status(platform: AdminPlatform, browser: Browser, body: bytes) -> int:
    """An upload with the CSRF token of another console page (the auditor has no upload form)."""
    page = browser.go(platform.base_url + "/account").page
    assert page is not None
    csrf = next(f["inputs"]["csrf_token"] for f in forms_of(page.text).values() if "csrf_token" in f["inputs"])
    answer = browser.session.post(
        platform.base_url + "/admin/import",
        data={"csrf_token": csrf},
        files={"file": ("x.csv", body, "text/csv")},
        timeout=30,
    )
    return answer.status_code


def test_the_import_pages_speak_vietnamese_first(admin_platform: AdminPlatform) -> None:
    browser, _ = console_browser(admin_platform, "tuanbv")
    page = browser.go(admin_platform.base_url + "/admin/import").page
    assert page is not None and "Nhập cán bộ" in page.text


def test_an_interrupted_import_is_shown_so_and_continued_from_its_page(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    from sqlalchemy import update

    from admin.import_jobs import STALE_AFTER
    from admin.models import AdminImportJob

    browser, _ = console_browser(admin_platform, "tuanbv")
    news = [f"{unique('gd')}{i}" for i in range(3)]
    preview = upload(admin_platform, browser, (HEADER + "".join(f"{u},Đinh Văn Tú,BNH-VP,\n" for u in news)).encode())
    job_id = preview.url.rstrip("/").rsplit("/", 1)[1]
    with admin_platform.instance.database.session() as s:  # its instance died while running it
        s.execute(
            update(AdminImportJob)
            .where(AdminImportJob.id == job_id)
            .values(status="running", heartbeat_at=admin_platform.instance.clock.now() - 2 * STALE_AFTER)
        )
    page = browser.session.get(preview.url, timeout=30)
    assert page.status_code == 200 and 'id="import-interrupted"' in page.text and 'id="import-running"' in page.text
    assert browser.session.get(preview.url + "/progress", timeout=30).json()["status"] == "interrupted"
    form = forms_of(page.text)["import-form"]
    done = finished(
        browser, browser.session.post(admin_platform.base_url + form["action"], data=form["inputs"], timeout=30)
    )
    assert 'data-status="applied"' in done.text and all(exists(admin_platform, uid) for uid in news)
