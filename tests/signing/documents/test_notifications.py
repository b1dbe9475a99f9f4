"""The workflow's e-mails, in the service (SQLite migrated by Alembic, the officials in memory, mail to a real SMTP
server with STARTTLS and a login): the official whose step becomes active is told, with the title, number, drafter,
deadline in Vietnam time and a link; a records-office step tells the group's members working in the unit only; a
rejection tells the drafter with the comment, a re-sent round its first official again; an issue tells the drafter
and each official named (a unit named gets no e-mail); a signed document tells its drafter unless they signed it
last; the setting off sends nothing; a dead mail server never stops the workflow and is audited.

The signature and the seal themselves (SoftHSM2) are tested in test_records_office.py: here their outcome is
written to the database and the event they send is given to the mailer, as the signing code does."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import update

from antin.kernel.instance import Instance
from antin.kernel.mail import Mail, mailer_for
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.models import Person, UnitKind, UnitRef
from signing.documents.models import Document, DocumentIssue, DocumentStatus, DocumentStep, RecipientKind, StepStatus
from signing.documents.notifications import Notice, letters_for, mail_workflow_event
from signing.documents.records_office import Recipient
from signing.documents.resend import resend
from signing.documents.service import DocumentService, document_service
from signing.samples import sample_pdf
from tests.signing.conftest import BOARD, OFFICE, PROVINCE
from tests.signing.documents.test_deadlines import ISSUER, GroupDirectory, mail_server, make_instance
from tests.smtp_server import SmtpServer, free_port

__all__ = ["mail_server"]  # the fixture, shared with the deadlines' tests

ELSEWHERE = UnitRef("ou=cb,ou=units,dc=antin,dc=vn", "CB", "Tỉnh ủy Cao Bằng", UnitKind.PROVINCIAL_COMMITTEE)
HERE = {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}


def officials() -> GroupDirectory:
    d = GroupDirectory()
    d.add("tam", "x", full_name="Vũ Minh Tâm", mail="tam@ht.dcs.vn", **HERE)
    d.add("nga", "x", full_name="Đinh Thị Nga", mail="nga@ht.dcs.vn", **HERE)
    d.add("son", "x", full_name="Lý Văn Sơn", mail="son@ht.dcs.vn", **HERE)
    for uid, name in (("ha", "Mai Thu Hà"), ("lam", "Hồ Văn Lâm")):  # the records office of Hà Tĩnh
        d.add(uid, "x", full_name=name, mail=f"{uid}@ht.dcs.vn", groups=("van-thu-ht",), **HERE)
    d.add("ngoai", "x", full_name="Hồ Văn Ngoài", mail="ngoai@cb.dcs.vn", groups=("van-thu-ht",),
          unit=ELSEWHERE, unit_path=(ELSEWHERE,))  # fmt: skip
    board = {"unit": BOARD, "unit_path": (BOARD, PROVINCE)}
    d.add("nhan", "x", full_name="Vũ Văn Nhận", mail="nhan@ht.dcs.vn", **board)  # named as a recipient
    d.add("ban", "x", full_name="Đinh Thị Ban", mail="ban@ht.dcs.vn", **board)  # in the unit named: no e-mail
    return d


@pytest.fixture
def workflow(tmp_path: Path, mail_server: SmtpServer) -> Iterator[tuple[Instance, GroupDirectory]]:
    instance = make_instance(tmp_path / "notify", mail_server, ANTIN_DOCUMENTS_NOTIFY_BY_MAIL="true")
    upgrade(instance.database)
    directory = officials()
    use_directory(instance, directory)
    try:
        yield instance, directory
    finally:
        instance.close()


def drafted(documents: DocumentService, d: GroupDirectory, **extra: object) -> str:
    return documents.upload(
        d.people["tam"],
        io.BytesIO(sample_pdf(pages=1, size=20_000, title="To trinh")),
        file_name="to-trinh.pdf",
        title="Tờ trình mua sắm thiết bị",
        number="12/TTr-VP",
        **extra,  # type: ignore[arg-type]
    ).id


def arrived(instance: Instance, server: SmtpServer, count: int) -> list[EmailMessage]:
    """The messages once every queued one was handled: exactly ``count`` of them."""
    assert mailer_for(instance).wait_until_sent()
    messages = server.received.wait_for(count, timeout=5)
    assert len(messages) == count, [m["To"] for m in messages]
    return messages


def to(messages: list[EmailMessage]) -> list[str]:
    return sorted(str(m["To"]) for m in messages)


def test_the_reviewer_then_the_signer_are_told_their_turn(
    workflow: tuple[Instance, GroupDirectory], mail_server: SmtpServer
) -> None:
    instance, d = workflow
    documents = document_service(instance)
    deadline = instance.clock.now() + timedelta(days=2)
    doc = drafted(documents, d, reviewers=[d.people["nga"]], signers=[d.people["son"]], deadline=deadline)

    (review,) = arrived(instance, mail_server, 1)
    assert review["To"] == "nga@ht.dcs.vn"  # the reviewer only: the signer's turn has not come
    assert str(review["Subject"]) == (
        "Ấn Tín: Văn bản chờ đồng chí cho ý kiến: Tờ trình mua sắm thiết bị / A document awaits your review"
    )
    body = review.get_content()
    assert body.index("Kính gửi đồng chí Đinh Thị Nga") < body.index("Dear Đinh Thị Nga")  # Vietnamese first
    assert "«Tờ trình mua sắm thiết bị (12/TTr-VP)»" in body and "Người soạn thảo: Vũ Minh Tâm" in body
    step_deadline = documents.view(d.people["nga"], doc).steps[0].deadline
    assert step_deadline is not None
    shown = (step_deadline + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M (UTC+7)")
    assert f"Hạn xử lý: {shown}" in body and f"Due by: {shown}" in body  # Vietnam time
    assert f"{ISSUER}/documents/{doc}" in body

    documents.review(d.people["nga"], doc, True, "Đồng ý")
    signer = arrived(instance, mail_server, 2)[1]
    assert signer["To"] == "son@ht.dcs.vn"
    assert "A document awaits your signature" in str(signer["Subject"])
    assert "Văn bản chờ đồng chí ký" in signer.get_content()


def test_a_rejection_tells_the_drafter_with_the_comment_and_a_resent_round_the_reviewer(
    workflow: tuple[Instance, GroupDirectory], mail_server: SmtpServer
) -> None:
    instance, d = workflow
    documents = document_service(instance)
    doc = drafted(documents, d, reviewers=[d.people["nga"]], signers=[d.people["son"]])
    documents.review(d.people["nga"], doc, False, "Bổ sung bảng dự toán kinh phí")

    review, rejected = arrived(instance, mail_server, 2)
    assert (review["To"], rejected["To"]) == ("nga@ht.dcs.vn", "tam@ht.dcs.vn")  # the signer hears nothing
    assert "A document was rejected" in str(rejected["Subject"])
    body = rejected.get_content()
    assert "bị trả lại bởi Đinh Thị Nga" in body and "Ý kiến: Bổ sung bảng dự toán kinh phí" in body
    assert f"{ISSUER}/documents/{doc}" in body

    resend(documents, d.people["tam"], doc, note="Đã bổ sung bảng dự toán.")  # the new round's first step: told again
    again = arrived(instance, mail_server, 3)[2]
    assert again["To"] == "nga@ht.dcs.vn" and "A document awaits your review" in str(again["Subject"])


def test_the_records_office_then_the_named_recipients_are_told(
    workflow: tuple[Instance, GroupDirectory], mail_server: SmtpServer
) -> None:
    instance, d = workflow
    documents = document_service(instance)
    recipients = [
        Recipient(RecipientKind.UNIT, BOARD.code, BOARD.name),
        Recipient(RecipientKind.OFFICIAL, d.people["nhan"].entry_uuid, "Vũ Văn Nhận"),
    ]
    doc = drafted(documents, d, signer=d.people["son"], recipients=recipients)
    assert to(arrived(instance, mail_server, 1)) == ["son@ht.dcs.vn"]
    sign, seal, issue = documents.view(d.people["son"], doc).steps

    # the signature made (test_records_office.py makes it with SoftHSM2): the seal step is the records office's
    with instance.database.session() as s:
        s.execute(update(DocumentStep).where(DocumentStep.id == sign.id).values(status=StepStatus.DONE.value))
        s.execute(update(DocumentStep).where(DocumentStep.id == seal.id).values(status=StepStatus.ACTIVE.value))
    mail_workflow_event(instance, doc, "step.completed", sign)
    sealing = arrived(instance, mail_server, 3)[1:]
    assert to(sealing) == ["ha@ht.dcs.vn", "lam@ht.dcs.vn"]  # not the member who works in Cao Bằng
    assert all("A document awaits its number and seal" in str(m["Subject"]) for m in sealing)

    with instance.database.session() as s:  # and sealed, numbered: its issue is the records office's turn
        s.execute(update(DocumentStep).where(DocumentStep.id == seal.id).values(status=StepStatus.DONE.value))
        s.execute(update(DocumentStep).where(DocumentStep.id == issue.id).values(status=StepStatus.ACTIVE.value))
        s.execute(update(DocumentIssue).where(DocumentIssue.document_id == doc).values(number="7/QĐ-TU"))
    documents.issue(d.people["ha"], doc)
    issued = arrived(instance, mail_server, 5)[3:]
    assert to(issued) == ["nhan@ht.dcs.vn", "tam@ht.dcs.vn"]  # the drafter, and the official named; not the unit
    drafter = next(m for m in issued if m["To"] == "tam@ht.dcs.vn")
    assert "A document was issued" in str(drafter["Subject"])
    received = next(m for m in issued if m["To"] == "nhan@ht.dcs.vn")
    assert "A document was sent to you" in str(received["Subject"])
    body = received.get_content()
    assert "«Tờ trình mua sắm thiết bị (7/QĐ-TU)» do Tỉnh ủy Hà Tĩnh ban hành" in body  # the number the seal gave


def test_a_signed_document_tells_its_drafter_unless_they_signed_it_last(
    workflow: tuple[Instance, GroupDirectory],
) -> None:
    """Signed (test_documents.py signs with SoftHSM2): its outcome written here, the letters it calls for read."""
    instance, d = workflow
    documents = document_service(instance)
    tam, son = d.people["tam"], d.people["son"]
    for signer, told in ((son, ["tam@ht.dcs.vn"]), (tam, [])):  # the drafter signing their own needs no e-mail
        doc = drafted(documents, d, signer=signer)
        (step,) = documents.view(tam, doc).steps
        with instance.database.session() as s:
            s.execute(
                update(DocumentStep)
                .where(DocumentStep.id == step.id)
                .values(status=StepStatus.DONE.value, acted_by=signer.entry_uuid)
            )
            s.execute(update(Document).where(Document.id == doc).values(status=DocumentStatus.DONE.value))
        letters = list(letters_for(instance, doc, "request.finished", None))
        assert [(x.notice, x.mail.to) for x in letters] == [(Notice.FINISHED, to) for to in told]
        if letters:
            assert "A document is signed" in letters[0].mail.subject
            assert "«Tờ trình mua sắm thiết bị (12/TTr-VP)» đã được ký xong" in letters[0].mail.text


def test_the_setting_off_sends_nothing(tmp_path: Path, mail_server: SmtpServer) -> None:
    instance = make_instance(tmp_path / "off", mail_server, ANTIN_DOCUMENTS_NOTIFY_BY_MAIL="false")
    upgrade(instance.database)
    d = officials()
    use_directory(instance, d)
    try:
        documents = document_service(instance)
        doc = drafted(documents, d, reviewers=[d.people["nga"]], signers=[d.people["son"]])
        documents.review(d.people["nga"], doc, False, "Chưa đạt")
        mailer_for(instance).submit(lambda: Mail("kiem-tra@ht.dcs.vn", "marker", "the only message"))
        (only,) = arrived(instance, mail_server, 1)
        assert only["To"] == "kiem-tra@ht.dcs.vn"
    finally:
        instance.close()


def test_a_dead_mail_server_never_stops_the_workflow(tmp_path: Path) -> None:
    env = {
        "ANTIN_DATA_DIR": str(tmp_path),
        "ANTIN_ISSUER": ISSUER,
        "ANTIN_ENV": "test",
        "ANTIN_LOG_LEVEL": "WARNING",
        "ANTIN_MAIL_HOST": "localhost",
        "ANTIN_MAIL_PORT": str(free_port()),  # nothing listens
        "ANTIN_MAIL_STARTTLS": "false",
        "ANTIN_MAIL_FROM_ADDRESS": "no-reply@antin.vn",
        "ANTIN_MAIL_TIMEOUT_SECONDS": "2",
    }
    instance = Instance(load_settings(env))
    upgrade(instance.database)
    d = officials()
    use_directory(instance, d)
    try:
        documents = document_service(instance)
        doc = drafted(documents, d, reviewers=[d.people["nga"]], signers=[d.people["son"]])
        decided = documents.review(d.people["nga"], doc, True, "")
        assert decided.status == StepStatus.DONE.value
        son: Person = d.people["son"]
        assert [x.id for x in documents.inbox(son, "awaiting").items] == [doc]  # the workflow went on
        assert mailer_for(instance).wait_until_sent()
        failures = instance.audit.entries(event="signing:mail:failure", limit=5)
        assert sorted((f.details["notice"], f.details["to"]) for f in failures) == [
            ("awaits", "nga"),
            ("awaits", "son"),
        ]
        assert all(f.subject == f"document:{doc}" and "ConnectionRefusedError" in f.details["error"] for f in failures)
    finally:
        instance.close()


def test_a_late_mailer_still_tells_each_official_whose_turn_came(tmp_path: Path) -> None:
    """The mailer's thread runs behind the workflow (a busy machine): nga reviews before the letter that her review
    awaits is composed, and the server is dead. Each event still gets its letters — each failure audited and
    logged —, as of the moment it happened (a race seen once in 1,706 tests of a fresh-clone run)."""
    env = {
        "ANTIN_DATA_DIR": str(tmp_path),
        "ANTIN_ISSUER": ISSUER,
        "ANTIN_ENV": "test",
        "ANTIN_LOG_LEVEL": "WARNING",
        "ANTIN_MAIL_HOST": "localhost",
        "ANTIN_MAIL_PORT": str(free_port()),  # nothing listens
        "ANTIN_MAIL_STARTTLS": "false",
        "ANTIN_MAIL_FROM_ADDRESS": "no-reply@antin.vn",
        "ANTIN_MAIL_TIMEOUT_SECONDS": "2",
    }
    instance = Instance(load_settings(env))
    upgrade(instance.database)
    d = officials()
    use_directory(instance, d)
    gate = threading.Event()

    def held() -> None:  # the mailer's thread waits here until the workflow has moved on
        gate.wait(10)

    try:
        mailer_for(instance).submit(held)
        documents = document_service(instance)
        doc = drafted(documents, d, reviewers=[d.people["nga"]], signers=[d.people["son"]])
        documents.review(d.people["nga"], doc, True, "")
        gate.set()
        assert mailer_for(instance).wait_until_sent()
        failures = instance.audit.entries(event="signing:mail:failure", limit=5)
        assert sorted((f.details["notice"], f.details["to"]) for f in failures) == [
            ("awaits", "nga"),
            ("awaits", "son"),
        ]
    finally:
        gate.set()
        instance.close()


def test_a_late_mailer_announces_no_turn_of_a_document_cancelled_meanwhile(
    workflow: tuple[Instance, GroupDirectory], mail_server: SmtpServer
) -> None:
    instance, d = workflow
    gate = threading.Event()

    def held() -> None:
        gate.wait(10)

    mailer_for(instance).submit(held)
    try:
        documents = document_service(instance)
        doc = drafted(documents, d, reviewers=[d.people["nga"]], signers=[d.people["son"]])
        assert documents.cancel(doc, actor="tam")
    finally:
        gate.set()
    mailer_for(instance).submit(lambda: Mail("kiem-tra@ht.dcs.vn", "marker", "after the upload's job"))
    (only,) = arrived(instance, mail_server, 1)
    assert only["To"] == "kiem-tra@ht.dcs.vn"  # nga's review never came: no letter says it awaits her
