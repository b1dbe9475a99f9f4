"""A unit's leaders as one step, and a deadline per step, through ``POST /api/signing/requests``: ``signers`` and
``reviewers`` take a leaders' group (``lanh-dao-ht``) beside logins, and objects ``{"login" or "group",
"deadline"}``; the request's ``deadline`` stays the default. Any member of the group working in its unit signs (the
step keeps who), every such member has it waiting, a member working elsewhere neither sees nor acts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from directory.models import UnitKind, UnitRef
from signing.documents.errors import DocumentNotFoundError
from signing.documents.service import document_service
from tests.signing.conftest import BOARD, OFFICE, PROVINCE, Platform
from tests.signing.independent import ades_verdicts, pdfsig
from tests.signing.requests.test_requests import URL, api, bearer, create, person, sign_in_browser

__all__ = ["api"]  # the fixture, shared with the requests' tests

ELSEWHERE = UnitRef("ou=qt,ou=units,dc=antin,dc=vn", "QT", "Tỉnh ủy Quảng Trị", UnitKind.PROVINCIAL_COMMITTEE)
LEADERS = (
    ("lda-bithu", "Hoàng Văn Bí", (PROVINCE,)),
    ("lda-pho", "Đặng Thị Phó", (BOARD, PROVINCE)),
    ("lda-xa", "Tôn Văn Xa", (ELSEWHERE,)),  # in the group, but working in another province
)


@pytest.fixture(scope="module")
def leaders(platform: Platform, api: FlaskClient) -> None:
    for uid, name, path in LEADERS:
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(
                uid, "mật-khẩu-ld", full_name=name, position="Lãnh đạo", unit=path[0], unit_path=path,
                groups=("lanh-dao-ht",),
            )  # fmt: skip


def ids(platform: Platform, uid: str, box: str) -> list[str]:
    return [d.id for d in document_service(platform.instance).inbox(person(platform, uid), box).items]


def test_the_leaders_sign_as_one_step_with_its_own_deadline(
    platform: Platform, api: FlaskClient, leaders: None, tmp_path: Path
) -> None:
    now = platform.instance.clock.now()
    document_deadline = (now + timedelta(days=10)).replace(microsecond=0)
    leaders_deadline = (now + timedelta(days=2)).replace(microsecond=0)
    created = create(
        api,
        platform,
        [{"group": "lanh-dao-ht", "deadline": leaders_deadline.isoformat()}, "thu"],
        reviewers=json.dumps([{"login": "son"}]),
        deadline=document_deadline.isoformat(),
    )
    assert created.status_code == 201, created.get_json()
    request_id, steps = created.get_json()["id"], created.get_json()["steps"]
    assert [(s["kind"], s["signer"], s["group"], s["unit"]) for s in steps] == [
        ("review", "son", None, None),
        ("sign", "", "lanh-dao-ht", PROVINCE.code),
        ("sign", "thu", None, None),
    ]
    due = [datetime.fromisoformat(s["deadline"]).astimezone(UTC) for s in steps]
    assert due == [document_deadline, leaders_deadline, document_deadline]  # its own, else the request's

    documents = document_service(platform.instance)
    documents.review(person(platform, "son"), request_id, True, "")
    # every leader working in Hà Tĩnh (in the province itself or a board under it) has it waiting; not the other
    assert request_id in ids(platform, "lda-bithu", "awaiting") and request_id in ids(platform, "lda-pho", "awaiting")
    assert request_id not in ids(platform, "lda-xa", "awaiting")
    with pytest.raises(DocumentNotFoundError):
        documents.view(person(platform, "lda-xa"), request_id)

    sign_in_browser(platform, "lda-pho", request_id)
    status = api.get(f"{URL}/{request_id}", headers=bearer(platform)).get_json()
    assert [s["status"] for s in status["steps"]] == ["done", "done", "active"]
    assert [s["acted_by"] for s in status["steps"]] == ["son", "lda-pho", None]  # who of the group signed
    assert status["current_step"]["signer"] == "thu"
    step = documents.view(person(platform, "lda-bithu"), request_id).steps[1]
    assert step.acted_by == person(platform, "lda-pho").entry_uuid  # who of the group signed
    assert request_id not in ids(platform, "lda-bithu", "awaiting")  # done by another leader: off every inbox
    sign_in_browser(platform, "thu", request_id)
    download = api.get(f"{URL}/{request_id}/document", headers=bearer(platform))
    material = platform.revocation()
    verdicts = ades_verdicts(download.data, [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses)
    assert len(verdicts) >= 2 and all(v.status == "PASSED" for v in verdicts), verdicts
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(download.data)
    signers = [f.common_name for f in pdfsig(signed, platform.nss) if "Time-Stamping" not in f.common_name]
    assert signers == ["Đặng Thị Phó", "Vũ Thị Thu"], signers  # the leader who acted signed with their own key


def test_bad_groups_and_step_deadlines_are_problems(platform: Platform, api: FlaskClient, leaders: None) -> None:
    unknown = create(api, platform, ["lanh-dao-zz"])
    assert unknown.status_code == 422 and "lanh-dao-zz" in unknown.get_json()["detail"]
    no_group = create(api, platform, ["lanh-dao-" + OFFICE.code.lower()])  # a unit, but no leaders' group for it
    assert no_group.status_code == 422
    past = (platform.instance.clock.now() - timedelta(hours=1)).isoformat()
    for signers in (
        [{"login": "thu", "group": "lanh-dao-ht"}],
        [{"login": "thu", "deadline": "next week"}],
        [{"login": "thu", "deadline": past}],
        [{"login": "thu", "when": "soon"}],
        [{"group": 7}],
        ["lanh-dao-ht", "LANH-DAO-HT"],
    ):
        refused = create(api, platform, signers)
        assert refused.status_code == 400, (signers, refused.get_json())
        assert refused.mimetype == "application/problem+json"
