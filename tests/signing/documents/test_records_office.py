"""The records office without a browser: a document drafted in a unit ends with a seal step and an issue step for
the unit's records-office group; any member working in the issuing unit acts; the number is unique per unit and
year; the seal is a second PAdES signature with the unit's seal certificate, both valid for pyHanko and pdfsig and
told apart in our report; the recipients find it under "received" once issued, and nobody else outside the unit
ever sees it."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from directory.models import Person, UnitKind, UnitRef
from signing.documents.errors import DocumentNotFoundError, RegisterRefusedError, StepNotActiveError, UploadRefusedError
from signing.documents.models import DocumentIssue, RecipientKind
from signing.documents.records_office import Recipient
from signing.documents.service import DocumentService, document_service
from signing.samples import sample_pdf
from signing.validation.service import policy_from_settings, verify_stream
from tests.signing.conftest import BOARD, OFFICE, PROVINCE, Platform
from tests.signing.independent import ades_verdicts, pdfsig
from tests.signing.test_sole_control import answer, enrol

OTHER_PROVINCE = UnitRef("ou=qt,ou=units,dc=antin,dc=vn", "QT", "Tỉnh ủy Quảng Trị", UnitKind.PROVINCIAL_COMMITTEE)
NGHE_AN = UnitRef("ou=na,ou=units,dc=antin,dc=vn", "NA", "Tỉnh ủy Nghệ An", UnitKind.PROVINCIAL_COMMITTEE)
HERE = {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}
# (uid, name, position, unit fields, groups)
OFFICIALS = (
    ("ro-drafter", "Nguyễn Thị Soạn", "Chuyên viên", HERE, ()),
    ("ro-signer", "Trần Văn Ký", "Chánh Văn phòng", HERE, ()),
    ("ro-clerk", "Lê Thị Vân Thư", "Văn thư", HERE, ("van-thu-ht",)),
    ("ro-clerk2", "Phạm Thị Lưu", "Văn thư", HERE, ("van-thu-ht",)),
    # in the group, but working in another province: not the records office of Hà Tĩnh
    (
        "ro-outsider",
        "Hồ Văn Ngoài",
        "Văn thư",
        {"unit": OTHER_PROVINCE, "unit_path": (OTHER_PROVINCE,)},
        ("van-thu-ht",),
    ),
    ("ro-board", "Đinh Thị Ban", "Chuyên viên", {"unit": BOARD, "unit_path": (BOARD, PROVINCE)}, ()),
    ("ro-reader", "Vũ Văn Nhận", "Chuyên viên", {"unit": OTHER_PROVINCE, "unit_path": (OTHER_PROVINCE,)}, ()),
    ("ro-stranger", "Mai Văn Lạ", "Chuyên viên", {"unit": OTHER_PROVINCE, "unit_path": (OTHER_PROVINCE,)}, ()),
    ("ro-na", "Cao Văn Nghệ", "Bí thư", {"unit": NGHE_AN, "unit_path": (NGHE_AN,)}, ()),
    ("ro-na-clerk", "Thái Thị An", "Văn thư", {"unit": NGHE_AN, "unit_path": (NGHE_AN,)}, ("van-thu-na",)),
)


@pytest.fixture(scope="module")
def documents(platform: Platform) -> DocumentService:
    for uid, name, position, unit, groups in OFFICIALS:
        if platform.directory.find_by_login(uid) is None:
            platform.directory.add(uid, "mật-khẩu-vt", full_name=name, position=position, groups=groups, **unit)
    return document_service(platform.instance)


def who(platform: Platform, uid: str) -> Person:
    found = platform.directory.find_by_login(uid)
    assert found is not None
    return found


def drafted(platform: Platform, documents: DocumentService, title: str) -> str:
    recipients = [
        Recipient(RecipientKind.UNIT, BOARD.code, BOARD.name),
        Recipient(RecipientKind.OFFICIAL, who(platform, "ro-reader").entry_uuid, "Vũ Văn Nhận"),
    ]
    view = documents.upload(
        who(platform, "ro-drafter"),
        io.BytesIO(sample_pdf(pages=1, size=20_000, title=title)),
        file_name="quyet-dinh.pdf",
        title=title,
        signer=who(platform, "ro-signer"),
        recipients=recipients,
    )
    return view.id


def sign_step(platform: Platform, documents: DocumentService, uid: str, document_id: str, **register: object) -> None:
    official = who(platform, uid)
    key = enrol(platform.instance, official.entry_uuid, origin=platform.base_url)
    auth_id, options, _digest = documents.begin_signing(official, document_id)
    documents.sign(
        official,
        document_id,
        authorisation_id=auth_id,
        credential=answer(key, options),
        reason="",
        location="Hà Tĩnh",
        **register,  # type: ignore[arg-type]
    )


def ids(documents: DocumentService, official: Person, box: str) -> list[str]:
    return [d.id for d in documents.inbox(official, box).items]


def test_the_records_office_numbers_seals_and_issues_in_order(platform: Platform, documents: DocumentService) -> None:
    doc = drafted(platform, documents, "Quyết định khen thưởng 2026")
    drafter, clerk, clerk2 = who(platform, "ro-drafter"), who(platform, "ro-clerk"), who(platform, "ro-clerk2")
    outsider, board, reader = who(platform, "ro-outsider"), who(platform, "ro-board"), who(platform, "ro-reader")
    stranger = who(platform, "ro-stranger")
    view = documents.view(drafter, doc)
    assert [(st.kind, st.assignee_login or st.assignee_group, st.status) for st in view.steps] == [
        ("sign", "ro-signer", "active"),
        ("seal", "van-thu-ht", "waiting"),
        ("issue", "van-thu-ht", "waiting"),
    ]
    assert view.issue is not None and view.issue.unit_code == PROVINCE.code  # HT-VP has no records office of its own
    assert [r.label for r in view.recipients] == [BOARD.name, "Vũ Văn Nhận"]

    # the records office cannot act before the signature, and a group member of another province never can
    with pytest.raises(StepNotActiveError):
        documents.begin_signing(clerk, doc)
    for nobody in (outsider, board, reader, stranger):
        with pytest.raises(DocumentNotFoundError):
            documents.view(nobody, doc)  # not issued yet: invisible outside the unit
    sign_step(platform, documents, "ro-signer", doc)

    assert doc in ids(documents, clerk, "awaiting") and doc in ids(documents, clerk2, "awaiting")
    assert doc not in ids(documents, outsider, "awaiting")
    with pytest.raises(DocumentNotFoundError):
        documents.begin_signing(outsider, doc)
    with pytest.raises(StepNotActiveError):
        documents.issue(clerk, doc)  # the seal comes first
    today = platform.instance.clock.now().date()
    with pytest.raises(RegisterRefusedError) as bad:
        sign_step(platform, documents, "ro-clerk", doc, number="mười hai", issued_on=today)
    assert bad.value.reason == "bad-number"
    with pytest.raises(RegisterRefusedError) as future:
        sign_step(platform, documents, "ro-clerk", doc, number="12/QĐ-TU", issued_on=today + timedelta(days=3))
    assert future.value.reason == "bad-date"
    sign_step(platform, documents, "ro-clerk", doc, number="12/QĐ-TU", issued_on=today)

    view = documents.view(clerk2, doc)
    assert view.document.number == "12/QĐ-TU" and view.issue is not None and view.issue.issued_on == today
    assert [(st.kind, st.status) for st in view.steps][1:] == [("seal", "done"), ("issue", "active")]
    assert view.steps[1].acted_by == clerk.entry_uuid
    assert doc not in ids(documents, reader, "received")  # sealed, not yet sent
    issued = documents.issue(clerk2, doc)  # any member of the records office may send it
    assert issued.document.status == "done" and issued.steps[2].acted_by == clerk2.entry_uuid
    with pytest.raises(StepNotActiveError):
        documents.issue(clerk, doc)  # sent once

    # the recipients (a unit's official, an official by name) find it, read-only; others still do not
    for recipient in (board, reader):
        assert doc in ids(documents, recipient, "received")
        assert documents.view(recipient, doc).my_step is None
    assert doc not in ids(documents, drafter, "received")
    for nobody in (outsider, stranger):
        with pytest.raises(DocumentNotFoundError):
            documents.view(nobody, doc)
        assert doc not in ids(documents, nobody, "received")

    # two signatures: the official's, then the unit's seal; both valid for pyHanko and pdfsig, told apart by us
    signed = documents.file(documents.view(reader, doc)).read_bytes()
    out = Path(platform.data_dir / "sealed.pdf")
    out.write_bytes(signed)
    # B-LTA: each signature is followed by a document time-stamp, which pdfsig cannot check
    found = [f for f in pdfsig(out, platform.nss) if "Time-Stamping" not in f.common_name]
    assert [f.common_name for f in found] == ["Trần Văn Ký", PROVINCE.name]
    assert all(f.signature_validation == "Signature is Valid." for f in found), found
    assert all(f.certificate_validation == "Certificate is Trusted." for f in found), found
    # the seal shows the number and date the records office gave (drawn text, extractable), as does its reason
    shown = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert f"Số: 12/QĐ-TU, ngày {today:%d/%m/%Y}" in shown and "Đóng dấu: Tỉnh ủy Hà Tĩnh" in shown
    material = platform.revocation()
    verdicts = ades_verdicts(signed, [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses)
    assert len(verdicts) >= 2 and all(v.status == "PASSED" for v in verdicts), verdicts
    report = verify_stream(
        io.BytesIO(signed), len(signed), policy_from_settings(platform.instance.settings), file_name="qd.pdf"
    ).as_dict()
    signatures = [s for s in report["signatures"] if s["kind"] == "signature"]
    assert [(s["signed_as"], s["indication"]) for s in signatures] == [
        ("official", "TOTAL_PASSED"),
        ("seal", "TOTAL_PASSED"),
    ]
    events = [e.event for e in documents.history(issued)]
    assert events.count("signing:document:complete") == 2 and events[-1] == "signing:document:issue"


def test_a_number_is_unique_per_unit_and_year(platform: Platform, documents: DocumentService) -> None:
    first, second = (drafted(platform, documents, f"Công văn {n}") for n in (1, 2))
    for doc in (first, second):
        sign_step(platform, documents, "ro-signer", doc)
    today = platform.instance.clock.now().date()
    sign_step(platform, documents, "ro-clerk", first, number="7/CV-TU", issued_on=today)
    with pytest.raises(RegisterRefusedError) as taken:
        sign_step(platform, documents, "ro-clerk2", second, number="7/cv-tu", issued_on=today)  # case is no escape
    assert taken.value.reason == "number-taken"
    view = documents.view(who(platform, "ro-clerk"), second)
    assert view.my_step is not None and view.my_step.kind == "seal" and len(view.versions) == 2  # nothing sealed
    # the register is per year: had the first been issued last year, the number is free again
    with platform.instance.database.session() as s:
        register = s.get(DocumentIssue, first)
        assert register is not None and register.year == today.year
        register.year = today.year - 1
    sign_step(platform, documents, "ro-clerk2", second, number="7/CV-TU", issued_on=today)
    assert documents.view(who(platform, "ro-clerk"), second).document.number == "7/CV-TU"
    # another unit's register is its own: Nghệ An may issue its own 7/CV-TU this year too
    na = who(platform, "ro-na")
    elsewhere = documents.upload(
        na,
        io.BytesIO(sample_pdf(pages=1, size=10_000, title="NA")),
        file_name="cv.pdf",
        recipients=[Recipient(RecipientKind.UNIT, BOARD.code, BOARD.name)],
    ).id
    sign_step(platform, documents, "ro-na", elsewhere)
    sign_step(platform, documents, "ro-na-clerk", elsewhere, number="7/CV-TU", issued_on=today)
    view = documents.view(na, elsewhere)
    assert view.document.number == "7/CV-TU" and view.issue is not None and view.issue.unit_code == "NA"


def test_a_document_to_issue_needs_recipients_and_a_records_office(
    platform: Platform, documents: DocumentService
) -> None:
    pdf = sample_pdf(pages=1, size=10_000, title="x")
    with pytest.raises(UploadRefusedError) as none:
        documents.upload(who(platform, "ro-drafter"), io.BytesIO(pdf), file_name="x.pdf", recipients=[])
    assert none.value.reason == "no-recipients"
    # Quảng Trị has no van-thu-… group of its own members in the directory
    to = [Recipient(RecipientKind.UNIT, BOARD.code, BOARD.name)]
    with pytest.raises(UploadRefusedError) as nowhere:
        documents.upload(who(platform, "ro-stranger"), io.BytesIO(pdf), file_name="x.pdf", recipients=to)
    assert nowhere.value.reason == "no-records-office"


def test_parse_number_keeps_the_written_form() -> None:
    from signing.documents.records_office import parse_number

    assert parse_number(" 12/QĐ-TU ") == ("12/QĐ-TU", "12/qđ-tu")
    assert parse_number("05-CT/TW")[0] == "05-CT/TW"
    for bad in ("", "QĐ-TU", "12", "12/", "12/ QĐ", "x" * 70):
        with pytest.raises(RegisterRefusedError):
            parse_number(bad)
