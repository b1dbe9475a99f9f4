"""Deadlines and reminders without a browser, on an instance of their own (SQLite migrated by Alembic, the
officials in memory) whose mail goes to a real SMTP server (aiosmtpd, STARTTLS and a login): the official whose
step is active is reminded once before the deadline and once when it is overdue, whatever the number of runs or of
instances; the e-mail is Vietnamese first and links the document; finished steps and other officials get nothing;
each reminder is audited and shows in the official's inbox; the server's periodic job sends them too."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from antin.kernel.instance import Instance
from antin.kernel.mail import mailer_for
from antin.migrate import upgrade
from antin.settings import load_settings
from directory.instance import use_directory
from directory.memory import InMemoryDirectory
from directory.models import AccountStatus, Person
from signing.documents.cli import documents as documents_cli
from signing.documents.models import DocumentReminder, DocumentStep
from signing.documents.reminders import ReminderJob, due_of, reminders_for, send_reminders
from signing.documents.service import DocumentService, document_service
from signing.samples import sample_pdf
from tests.signing.conftest import OFFICE, PROVINCE
from tests.smtp_server import SmtpServer, free_port, smtp_server

ISSUER = "http://localhost:5000"


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[SmtpServer]:
    with smtp_server(tmp_path) as server:
        yield server


def officials() -> InMemoryDirectory:
    d = InMemoryDirectory()
    where = {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}
    d.add("tam", "x", full_name="Vũ Minh Tâm", position="Chuyên viên", mail="tam@ht.dcs.vn", **where)
    d.add("nga", "x", full_name="Đinh Thị Nga", position="Phó Chánh Văn phòng", mail="nga@ht.dcs.vn", **where)
    d.add("son", "x", full_name="Lý Văn Sơn", position="Chánh Văn phòng", mail="son@ht.dcs.vn", **where)
    return d


def make_instance(folder: Path, server: SmtpServer, **extra: str) -> Instance:
    env = {
        "ANTIN_DATA_DIR": str(folder),
        "ANTIN_ISSUER": ISSUER,
        "ANTIN_ENV": "test",
        "ANTIN_LOG_LEVEL": "WARNING",
        **{f"ANTIN_MAIL_{k.upper()}": str(v) for k, v in server.settings().items()},
        "ANTIN_DOCUMENTS_NOTIFY_BY_MAIL": "false",  # reminders only: the workflow's own e-mails have their tests
        **extra,
    }
    return Instance(load_settings(env))


@pytest.fixture
def platform(tmp_path: Path, mail_server: SmtpServer) -> Iterator[tuple[Instance, InMemoryDirectory]]:
    instance = make_instance(tmp_path / "one", mail_server)
    upgrade(instance.database)
    directory = officials()
    use_directory(instance, directory)
    try:
        yield instance, directory
    finally:
        instance.close()


def person(directory: InMemoryDirectory, uid: str) -> Person:
    found = directory.find_by_login(uid)
    assert found is not None
    return found


def drafted(documents: DocumentService, directory: InMemoryDirectory, title: str, hours: float) -> str:
    deadline = documents.instance.clock.now() + timedelta(hours=hours)
    return documents.upload(
        person(directory, "tam"),
        io.BytesIO(sample_pdf(pages=1, size=20_000, title=title)),
        file_name="to-trinh.pdf",
        title=title,
        number="12/TTr-VP",
        reviewers=[person(directory, "nga")],
        signers=[person(directory, "son")],
        deadline=deadline,
    ).id


def sent(instance: Instance) -> None:
    assert mailer_for(instance).wait_until_sent()


def test_each_reminder_is_sent_once_before_and_after_the_deadline(
    platform: tuple[Instance, InMemoryDirectory], mail_server: SmtpServer, tmp_path: Path
) -> None:
    instance, directory = platform
    documents = document_service(instance)
    doc = drafted(documents, directory, "Tờ trình mua sắm thiết bị", hours=48)
    nga, son = person(directory, "nga"), person(directory, "son")

    assert send_reminders(instance).as_dict() == {"due_soon": 0, "overdue": 0, "mailed": 0}  # 48 h ahead: not yet
    due = due_of(instance, documents.inbox(nga, "awaiting").items)[doc]
    assert not due.overdue and not due.soon

    instance.clock.advance(timedelta(hours=25))  # 23 h left: inside the 24 h of remind_before_hours
    assert send_reminders(instance).as_dict() == {"due_soon": 1, "overdue": 0, "mailed": 1}
    assert send_reminders(instance).as_dict() == {"due_soon": 0, "overdue": 0, "mailed": 0}  # the same run again
    sent(instance)
    (soon,) = mail_server.received.wait_for(1)
    assert soon["To"] == "nga@ht.dcs.vn"  # the reviewer, whose step is active; not the signer after her
    assert str(soon["Subject"]) == (
        "Ấn Tín: Văn bản sắp đến hạn xử lý: Tờ trình mua sắm thiết bị / A document is due soon"
    )
    body = soon.get_content()
    assert body.index("Kính gửi đồng chí Đinh Thị Nga") < body.index("Dear Đinh Thị Nga")  # Vietnamese first
    assert "Tờ trình mua sắm thiết bị (12/TTr-VP)" in body and "cho ý kiến" in body
    assert f"{ISSUER}/documents/{doc}" in body
    deadline = documents.view(nga, doc).steps[0].deadline
    assert deadline is not None
    shown = (deadline + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M (UTC+7)")
    assert f"Hạn xử lý: {shown}" in body  # Vietnam time
    assert due_of(instance, documents.inbox(nga, "awaiting").items)[doc].soon
    assert [d.id for d, r in reminders_for(instance, nga)] == [doc] and reminders_for(instance, son) == []

    # a second instance on the same database (another host, or cron beside the server): nothing twice
    other = make_instance(tmp_path / "one", mail_server)
    use_directory(other, directory)
    other.clock.advance(timedelta(hours=25))
    try:
        assert send_reminders(other).due_soon == 0
    finally:
        other.close()

    instance.clock.advance(timedelta(hours=24))  # past the deadline
    assert send_reminders(instance).as_dict() == {"due_soon": 0, "overdue": 1, "mailed": 1}
    assert send_reminders(instance).overdue == 0
    sent(instance)
    overdue = mail_server.received.wait_for(2)[1]
    assert str(overdue["Subject"]).startswith("Ấn Tín: Văn bản đã quá hạn xử lý: Tờ trình mua sắm thiết bị")
    assert "đã quá hạn lúc" in overdue.get_content() and "is overdue" in overdue.get_content()
    assert due_of(instance, documents.inbox(nga, "awaiting").items)[doc].overdue
    ((_doc, latest),) = reminders_for(instance, nga)
    assert latest.kind == "overdue"

    # the review done late: the signer's step is active and already overdue: one reminder to him, at once
    documents.review(nga, doc, True, "Đồng ý.")
    assert reminders_for(instance, nga) == []  # nothing waits for her any more
    assert send_reminders(instance).as_dict() == {"due_soon": 0, "overdue": 1, "mailed": 1}
    sent(instance)
    assert mail_server.received.wait_for(3)[2]["To"] == "son@ht.dcs.vn"
    assert "ký" in mail_server.received.messages[2].get_content()

    audited = [e for e in documents.history(documents.view(son, doc)) if e.event == "signing:document:remind"]
    assert [(e.actor, e.details["reminder"], e.details["to"], e.details["step"]) for e in audited] == [
        ("system", "due_soon", ["nga"], 1),
        ("system", "overdue", ["nga"], 1),
        ("system", "overdue", ["son"], 2),
    ]
    assert len(mail_server.received.messages) == 3


def test_finished_documents_and_steps_without_deadline_are_left_alone(
    platform: tuple[Instance, InMemoryDirectory], mail_server: SmtpServer
) -> None:
    instance, directory = platform
    documents = document_service(instance)
    cancelled = drafted(documents, directory, "Công văn đã huỷ", hours=1)
    documents.cancel(cancelled, actor="tam")
    no_deadline = documents.upload(
        person(directory, "tam"),
        io.BytesIO(sample_pdf(pages=1, size=20_000, title="Không hạn")),
        file_name="khong-han.pdf",
        signers=[person(directory, "son")],
    ).id
    instance.clock.advance(timedelta(days=3))
    assert send_reminders(instance).as_dict() == {"due_soon": 0, "overdue": 0, "mailed": 0}
    assert due_of(instance, documents.inbox(person(directory, "son"), "awaiting").items) == {}
    assert no_deadline in [d.id for d in documents.inbox(person(directory, "son"), "awaiting").items]
    with instance.database.reading() as s:
        assert s.scalars(select(DocumentReminder)).all() == []


def test_the_server_job_sends_them_on_its_own(
    platform: tuple[Instance, InMemoryDirectory], mail_server: SmtpServer
) -> None:
    instance, directory = platform
    documents = document_service(instance)
    doc = drafted(documents, directory, "Báo cáo quý IV", hours=2)  # inside the 24 h window from the start
    job = ReminderJob(instance)
    job.interval = 0.2  # seconds, for the test (the setting counts minutes)
    job.start()
    try:
        for _ in range(100):
            if job.runs >= 2:
                break
            time.sleep(0.1)
    finally:
        job.close()
    assert job.runs >= 2
    sent(instance)
    (message,) = mail_server.received.wait_for(1)
    assert message["To"] == "nga@ht.dcs.vn" and doc in message.get_content()
    with instance.database.reading() as s:
        assert len(s.scalars(select(DocumentReminder)).all()) == 1  # two rounds, one reminder


def test_two_hosts_at_once_send_each_reminder_once(
    platform: tuple[Instance, InMemoryDirectory], mail_server: SmtpServer, tmp_path: Path
) -> None:
    """Two instances on one database (two hosts, or cron beside a server) run at the same moment: the unique
    key lets one of them only insert each reminder, so each is sent once in all."""
    instance, directory = platform
    documents = document_service(instance)
    ids = [drafted(documents, directory, f"Công văn {n}", hours=3) for n in range(12)]
    other = make_instance(tmp_path / "one", mail_server)
    use_directory(other, directory)
    runs: list[int] = []
    barrier = threading.Barrier(2)

    def remind(host: Instance) -> None:
        barrier.wait()
        runs.append(send_reminders(host).due_soon)
        assert mailer_for(host).wait_until_sent()

    try:
        threads = [threading.Thread(target=remind, args=(host,)) for host in (instance, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        other.close()
    assert sum(runs) == len(ids)
    received = mail_server.received.wait_for(len(ids))
    time.sleep(0.5)  # a duplicate would arrive now
    assert len(mail_server.received.messages) == len(ids) == len(received)
    assert sorted(doc for m in received for doc in ids if doc in m.get_content()) == sorted(ids)
    assert len(list(instance.audit.entries(event="signing:document:remind", limit=100))) == len(ids)


def test_the_command_sends_what_is_due_and_says_so(
    platform: tuple[Instance, InMemoryDirectory], mail_server: SmtpServer
) -> None:
    """`antin documents remind --json` (a cron job's run): the counts, the e-mails handed over before it exits."""
    instance, directory = platform
    documents = document_service(instance)
    doc = drafted(documents, directory, "Thông báo kết luận", hours=30)
    runner = CliRunner()
    quiet = runner.invoke(documents_cli, ["remind", "--json"], obj=instance)
    assert quiet.exit_code == 0 and json.loads(quiet.stdout) == {"due_soon": 0, "overdue": 0, "mailed": 0}
    instance.clock.advance(timedelta(hours=31))
    overdue = runner.invoke(documents_cli, ["remind", "--json"], obj=instance)
    assert overdue.exit_code == 0, overdue.output
    assert json.loads(overdue.stdout) == {"due_soon": 0, "overdue": 1, "mailed": 1}  # past it: overdue only
    (message,) = mail_server.received.messages  # handed over before the command returned
    assert doc in message.get_content() and "quá hạn" in str(message["Subject"])
    again = runner.invoke(documents_cli, ["remind"], obj=instance)
    assert again.exit_code == 0 and again.stdout.strip() == "reminded: 0 due soon, 0 overdue; 0 e-mail(s) sent"


class GroupDirectory(InMemoryDirectory):
    """The in-memory officials, answering a group's members as the LDAP directory's ``group_members`` does."""

    def group_members(self, name: str) -> list[Person]:
        return [p for p in self.people.values() if name in p.groups]


def test_a_group_step_reminds_each_active_member(tmp_path: Path, mail_server: SmtpServer) -> None:
    """A step for a directory group (a unit's records office): each active member is reminded and sees it in
    their inbox; a member no longer active is not."""
    instance = make_instance(tmp_path / "groups", mail_server)
    upgrade(instance.database)
    directory = GroupDirectory()
    where = {"unit": OFFICE, "unit_path": (OFFICE, PROVINCE)}
    drafter = directory.add("tam", "x", full_name="Vũ Minh Tâm", mail="tam@ht.dcs.vn", **where)
    clerks = [
        directory.add("ha", "x", full_name="Mai Thu Hà", mail="ha@ht.dcs.vn", groups=("van-thu-ht",), **where),
        directory.add("lam", "x", full_name="Hồ Văn Lâm", mail="lam@ht.dcs.vn", groups=("van-thu-ht",), **where),
    ]
    directory.add(
        "cu", "x", full_name="Cựu Văn Thư", mail="cu@ht.dcs.vn", groups=("van-thu-ht",), status=AccountStatus.RETIRED
    )
    use_directory(instance, directory)
    try:
        documents = document_service(instance)
        doc = documents.upload(
            drafter,
            io.BytesIO(sample_pdf(pages=1, size=20_000, title="Quyết định 7")),
            file_name="qd.pdf",
            title="Quyết định 7",
            deadline=instance.clock.now() + timedelta(hours=2),
        ).id
        with instance.database.transaction() as conn:  # the records office's step, as a group step
            conn.execute(
                update(DocumentStep)
                .where(DocumentStep.document_id == doc)
                .values(assignee=None, assignee_login="", assignee_name="", assignee_group="van-thu-ht")
            )
        assert send_reminders(instance).as_dict() == {"due_soon": 1, "overdue": 0, "mailed": 2}
        sent(instance)
        assert sorted(m["To"] for m in mail_server.received.wait_for(2)) == ["ha@ht.dcs.vn", "lam@ht.dcs.vn"]
        assert all([d.id for d, _r in reminders_for(instance, clerk)] == [doc] for clerk in clerks)
        assert reminders_for(instance, drafter) == []
    finally:
        instance.close()


def test_a_dead_mail_server_loses_the_mail_not_the_reminder(tmp_path: Path) -> None:
    """The SMTP server refuses connections: the failure is audited, the reminder stays in the inbox, and the next
    run does not send it again (it was sent once, as far as the platform can)."""
    env = {
        "ANTIN_DATA_DIR": str(tmp_path / "dead"),
        "ANTIN_ISSUER": ISSUER,
        "ANTIN_ENV": "test",
        "ANTIN_LOG_LEVEL": "WARNING",
        "ANTIN_MAIL_HOST": "localhost",
        "ANTIN_MAIL_PORT": str(free_port()),
        "ANTIN_MAIL_STARTTLS": "false",
        "ANTIN_MAIL_FROM_ADDRESS": "no-reply@antin.vn",
        "ANTIN_MAIL_TIMEOUT_SECONDS": "2",
        "ANTIN_DOCUMENTS_NOTIFY_BY_MAIL": "false",
    }
    instance = Instance(load_settings(env))
    upgrade(instance.database)
    directory = officials()
    use_directory(instance, directory)
    try:
        documents = document_service(instance)
        doc = drafted(documents, directory, "Tờ trình gửi khi hỏng thư", hours=1)
        assert send_reminders(instance).as_dict() == {"due_soon": 1, "overdue": 0, "mailed": 1}
        assert mailer_for(instance).wait_until_sent()
        (failure,) = instance.audit.entries(event="signing:mail:failure", limit=5)
        assert failure.subject == f"document:{doc}" and failure.details["to"] == "nga"
        assert "ConnectionRefusedError" in failure.details["error"]
        assert [d.id for d, _r in reminders_for(instance, person(directory, "nga"))] == [doc]
        assert send_reminders(instance).due_soon == 0
    finally:
        instance.close()
