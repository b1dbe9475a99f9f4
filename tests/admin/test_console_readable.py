"""What an administrator reads on the console, over real HTTP (real slapd, the provider's sign-in): a page they may
not use says which right it needs, in their language, with a way back; the audit's details are labelled fields,
not JSON (the API keeps the JSON); a certificate's subject speaks Vietnamese on the page (the API keeps its string);
every time is day-first in Vietnam's time; a session names its browser instead of a user-agent cut mid-word."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest

from antin.kernel.readable import local_time
from tests.admin.conftest import AdminPlatform, console_browser
from tests.directory.conftest import PASSWORD
from tests.idp.rp import Browser

pytestmark = [pytest.mark.slapd, pytest.mark.usefixtures("any_level")]

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def visible(page_html: str) -> str:
    """The text a person sees: no tags, no attributes (a title keeps the raw value on purpose)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page_html))


def test_a_page_the_administrator_may_not_use_names_the_right_it_needs(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "kiendm")  # manages Bắc Ninh's applications, nothing else
    base = admin_platform.base_url
    officials = browser.session.get(base + "/admin/officials", timeout=30)
    assert officials.status_code == 403 and 'data-code="not-permitted"' in officials.text
    text = visible(officials.text)
    assert "Không có quyền" in text and "Việc này cần quyền xem thông tin cán bộ" in text
    assert "officials:read" not in text and 'href="/admin/"' in officials.text  # words, not keys; a way back
    english = visible(browser.session.get(base + "/admin/audit?lang=en", timeout=30).text)
    assert "This needs the right to read the audit log, which your account does not hold." in english
    unit_admin, _home = console_browser(admin_platform, "tuanbv")  # reads Bắc Ninh's audit, not the whole chain
    verify = visible(unit_admin.session.get(base + "/admin/audit/verify?lang=en", timeout=30).text)
    assert "This needs the right to read the audit log on the whole platform" in verify
    # what does not exist is still "not found", not a refusal
    assert browser.session.get(base + "/admin/no-such-page", timeout=30).status_code == 404


def test_the_audit_shows_labelled_details_and_vietnam_times(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "dungpt")
    page = browser.session.get(admin_platform.base_url + "/admin/audit?event=admin:grant:add", timeout=30)
    assert page.status_code == 200
    (newest,) = admin_platform.instance.audit.entries(event="admin:grant:add", limit=1)
    row = page.text.split(f'data-seq="{newest.seq}"', 1)[1].split("</tr>", 1)[0]
    # the newest grant is whatever another test of this platform made last: every role by its Vietnamese name
    role = {
        "platform-admin": "quản trị hệ thống",
        "unit-admin": "quản trị đơn vị",
        "auditor": "kiểm tra viên",
        "certificate-officer": "cán bộ chứng thư số",
        "client-manager": "quản lý ứng dụng",
    }[newest.details["role"]]
    assert f"<dt>vai trò</dt><dd>{role}</dd>" in row  # the role by its name too
    assert "{&#34;" not in row and '{"' not in row  # no JSON on the page
    assert f"<td>{local_time(newest.occurred_at, seconds=True)}</td>" in row  # dd/mm/yyyy, UTC+7
    assert "Thời điểm (UTC+7)" in page.text
    english = browser.session.get(admin_platform.base_url + "/admin/audit?event=admin:grant:add&lang=en", timeout=30)
    assert "<dt>role</dt>" in english.text and "<dt>grant number</dt>" in english.text
    answer = admin_platform.call("GET", "/api/admin/audit?event=admin:grant:add", "dungpt")
    assert answer.json()["items"][0]["details"]["role"] == newest.details["role"]  # the API keeps its JSON


def test_the_ca_page_labels_the_subject_in_the_pages_language(admin_platform: AdminPlatform) -> None:
    browser, _home = console_browser(admin_platform, "dungpt")
    page = browser.session.get(admin_platform.base_url + "/admin/pki", timeout=30)
    assert page.status_code == 200
    text = visible(page.text)
    assert '<span class="subject-label">Tên</span>: ' in page.text
    assert "Common Name" not in text and "Country" not in text and "Organization" not in text
    english = browser.session.get(admin_platform.base_url + "/admin/pki?lang=en", timeout=30).text
    assert '<span class="subject-label">Common name</span>: ' in english
    status = admin_platform.call("GET", "/api/admin/pki", "dungpt").json()
    assert status["certificates"][0]["subject"].startswith("Common Name: ")  # the API's string is unchanged
    assert re.search(r"\d{2}/\d{2}/\d{4}", text) and not re.search(r"\d{4}-\d{2}-\d{2}", text)


def test_a_session_names_its_browser_and_keeps_the_raw_string_in_its_title(
    admin_platform: AdminPlatform, unique: Callable[[str], str]
) -> None:
    login = admin_platform.new_official("BNH", unique)
    official = Browser(admin_platform.base_url, **{"User-Agent": CHROME_WINDOWS})
    official.login(official.go(admin_platform.base_url + "/account").page, login, PASSWORD)  # type: ignore[arg-type]
    browser, _home = console_browser(admin_platform, "tuanbv")
    page = browser.session.get(admin_platform.base_url + f"/admin/officials/{login}", timeout=30)
    assert f'title="{CHROME_WINDOWS}">Chrome 131 trên Windows</span>' in page.text
    english = browser.session.get(admin_platform.base_url + f"/admin/officials/{login}?lang=en", timeout=30)
    assert ">Chrome 131 on Windows</span>" in english.text
    account = official.go(admin_platform.base_url + "/account").page  # the official's own list says the same
    assert account is not None and ">Chrome 131 trên Windows</span>" in account.text
