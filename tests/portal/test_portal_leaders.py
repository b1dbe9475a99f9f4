"""A unit's leaders as one step in the portal, over real HTTP: the drafter names the group ``lanh-dao-ht`` as reviewer
and as signer, each step with its own deadline (or the document's) on the upload page; every leader working in Hà
Tĩnh has the document waiting in their inbox; one approves, another signs with their own key and security key (a
software authenticator); the document page says which leader acted; a member of the group working in another
province never sees it. An unknown group and a past step deadline are refused on the upload page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from directory.models import UnitKind, UnitRef
from tests.idp.rp import Browser
from tests.portal.test_portal_pages import csrf
from tests.portal.test_portal_records import PASSWORD, signed_in, upload
from tests.portal.test_portal_records import sign as sign_with_key
from tests.signing.conftest import BOARD, OFFICE, PROVINCE, Platform
from tests.signing.independent import pdfsig

ELSEWHERE = UnitRef("ou=ln,ou=units,dc=antin,dc=vn", "LN", "Tỉnh ủy Lạng Sơn", UnitKind.PROVINCIAL_COMMITTEE)
OFFICIALS = (
    ("ld-soan", "Đinh Thị Soạn", (OFFICE, PROVINCE), ()),
    ("ld-bithu", "Hoàng Văn Bí", (PROVINCE,), ("lanh-dao-ht",)),
    ("ld-pho", "Đặng Thị Phó", (BOARD, PROVINCE), ("lanh-dao-ht",)),
    ("ld-xa", "Tôn Văn Xa", (ELSEWHERE,), ("lanh-dao-ht",)),  # in the group, but working in another province
)
VIETNAM = timedelta(hours=7)


def add_officials(
    platform: Platform, officials: tuple[tuple[str, str, tuple[UnitRef, ...], tuple[str, ...]], ...]
) -> None:
    for uid, name, path, groups in officials:
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(
                uid, PASSWORD, full_name=name, position="Lãnh đạo", unit=path[0], unit_path=path, groups=groups
            )


@pytest.fixture(scope="module")
def browsers(platform: Platform) -> dict[str, Browser]:
    add_officials(platform, OFFICIALS)
    return {uid: signed_in(platform, uid) for uid, *_ in OFFICIALS}


def form_time(when: datetime) -> str:
    """As the browser's date-time field sends it: Vietnam time, to the minute."""
    return (when.astimezone(UTC) + VIETNAM).strftime("%Y-%m-%dT%H:%M")


def awaiting(browser: Browser, platform: Platform) -> str:
    return browser.session.get(platform.base_url + "/documents?box=awaiting", timeout=10).text


def test_unknown_group_and_past_step_deadline_are_refused(platform: Platform, browsers: dict[str, Browser]) -> None:
    drafter = browsers["ld-soan"]
    form = drafter.session.get(platform.base_url + "/documents/new", timeout=10).text
    assert 'id="step-deadlines"' in form and "step_deadlines.js" in form
    unknown = upload(drafter, platform, "Tờ trình sai nhóm", signers="lanh-dao-zz")
    assert unknown.status_code == 422 and 'data-reason="unknown-group"' in unknown.text
    assert "lanh-dao-zz" in unknown.text
    past = form_time(platform.instance.clock.now() - timedelta(hours=2))
    late = upload(drafter, platform, "Tờ trình quá hạn", signers="lanh-dao-ht", **{"deadline-sign-lanh-dao-ht": past})
    assert late.status_code == 422 and 'data-reason="deadline-past"' in late.text
    assert "deadline-sign-lanh-dao-ht" in late.text  # the typed deadlines come back to the form


def test_the_leaders_review_and_sign_as_one_step(platform: Platform, browsers: dict[str, Browser]) -> None:
    drafter, chief, deputy, away = (browsers[uid] for uid in ("ld-soan", "ld-bithu", "ld-pho", "ld-xa"))
    now = platform.instance.clock.now()
    review_by, document_by = now + timedelta(days=1), now + timedelta(days=7)
    created = upload(
        drafter,
        platform,
        "Tờ trình xin ý kiến lãnh đạo",
        reviewers="lanh-dao-ht",
        signers="lanh-dao-ht",
        deadline=form_time(document_by),
        **{"deadline-review-lanh-dao-ht": form_time(review_by), "deadline-sign-lanh-dao-ht": ""},
    )
    assert created.status_code == 303, created.text
    url = platform.base_url + created.headers["Location"]
    page = drafter.session.get(url, timeout=10).text
    assert page.count(f"leaders of {PROVINCE.name}") == 2
    due = [datetime.fromisoformat(d).astimezone(UTC) for d in re.findall(r'data-deadline="([^"]+)"', page)]
    assert [d.strftime("%Y-%m-%d %H:%M") for d in due] == [
        review_by.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),  # its own
        document_by.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),  # the document's
    ]

    # every leader working in Hà Tĩnh has it waiting; the member working in Lạng Sơn neither sees nor finds it
    assert "Tờ trình xin ý kiến lãnh đạo" in awaiting(chief, platform)
    assert "Tờ trình xin ý kiến lãnh đạo" in awaiting(deputy, platform)
    assert "Tờ trình xin ý kiến lãnh đạo" not in awaiting(away, platform)
    for path in ("", "/file", "/history"):
        assert away.session.get(url + path, timeout=10).status_code == 404

    review_page = deputy.session.get(url, timeout=10)
    approved = deputy.session.post(
        url + "/review",
        data={"csrf_token": csrf(review_page), "decision": "approve", "comment": "Đồng ý trình ký."},
        timeout=10,
        allow_redirects=False,
    )
    assert approved.status_code == 303
    page = drafter.session.get(url, timeout=10).text
    assert re.search(r"Review — leaders of Tỉnh ủy Hà Tĩnh <span[^>]*>\(by Đặng Thị Phó\)</span>: Approved", page)
    again = chief.session.post(
        url + "/review",
        data={"csrf_token": csrf(chief.session.get(url, timeout=10)), "decision": "approve", "comment": ""},
        timeout=10,
        allow_redirects=False,
    )
    assert again.status_code == 409  # decided already, by another leader

    signed = sign_with_key(chief, platform, "ld-bithu", url)
    assert signed.status_code == 303
    page = drafter.session.get(url, timeout=10).text
    assert "(by Hoàng Văn Bí)" in page
    assert "Tờ trình xin ý kiến lãnh đạo" not in awaiting(deputy, platform)  # done by the chief: off every inbox
    assert deputy.session.get(url + "/sign", timeout=10).status_code == 409
    out = platform.data_dir / "signed-by-the-leaders.pdf"
    out.write_bytes(drafter.session.get(url + "/file", timeout=30).content)
    found = [f for f in pdfsig(out, platform.nss) if "Time-Stamping" not in f.common_name]
    assert [f.common_name for f in found] == ["Hoàng Văn Bí"]  # the leader who acted, with their own certificate
    assert found[0].signature_validation == "Signature is Valid.", found
