"""A unit's leaders as one step, in the service (SQLite migrated by Alembic, the officials in memory, mail to a real
SMTP server): each step planned with its own deadline or the document's; the leaders working in the unit are
reminded and have it waiting, a member working elsewhere neither; the migration gives the records office's steps
made before it their unit, so that their clerks keep finding them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from antin.kernel.instance import Instance
from antin.migrate import upgrade
from directory.instance import use_directory
from directory.models import UnitKind, UnitRef
from signing.documents.errors import DocumentNotFoundError, StepNotActiveError, UploadRefusedError
from signing.documents.groups import Planned, leaders_named
from signing.documents.reminders import send_reminders
from signing.documents.resend import resend
from signing.documents.service import document_service
from signing.samples import sample_pdf
from tests.signing.conftest import BOARD, OFFICE, PROVINCE
from tests.signing.documents.test_deadlines import GroupDirectory, mail_server, make_instance
from tests.smtp_server import SmtpServer

__all__ = ["mail_server"]  # the fixture, shared with the deadlines' tests

ELSEWHERE = UnitRef("ou=cb,ou=units,dc=antin,dc=vn", "CB", "Tỉnh ủy Cao Bằng", UnitKind.PROVINCIAL_COMMITTEE)


@pytest.fixture
def leaders(tmp_path: Path, mail_server: SmtpServer) -> Iterator[tuple[Instance, GroupDirectory]]:
    instance = make_instance(tmp_path / "leaders", mail_server)
    upgrade(instance.database)
    directory = GroupDirectory()
    directory.add("tam", "x", full_name="Vũ Minh Tâm", mail="tam@ht.dcs.vn", unit=OFFICE, unit_path=(OFFICE, PROVINCE))
    for uid, name, path in (
        ("bi", "Hoàng Văn Bí", (PROVINCE,)),
        ("pho", "Đặng Thị Phó", (BOARD, PROVINCE)),
        ("xa", "Tôn Văn Xa", (ELSEWHERE,)),
    ):
        directory.add(uid, "x", full_name=name, mail=f"{uid}@ht.dcs.vn", unit=path[0], unit_path=path,
                      groups=("lanh-dao-ht",))  # fmt: skip
    use_directory(instance, directory)
    try:
        yield instance, directory
    finally:
        instance.close()


def test_the_leaders_step_waits_for_and_reminds_the_leaders_of_the_unit(
    leaders: tuple[Instance, GroupDirectory], mail_server: SmtpServer
) -> None:
    instance, directory = leaders
    drafter, bi, pho, xa = (directory.people[uid] for uid in ("tam", "bi", "pho", "xa"))
    documents = document_service(instance)
    now = instance.clock.now()
    group = leaders_named(instance, "lanh-dao-ht")
    assert (group.group, group.unit.code) == ("lanh-dao-ht", PROVINCE.code)
    view = documents.upload(
        drafter,
        io.BytesIO(sample_pdf(pages=1, size=20_000, title="To trinh 3")),
        file_name="tt.pdf",
        title="Tờ trình 3",
        reviewers=[Planned(group, now + timedelta(hours=2))],
        signers=[group],
        deadline=now + timedelta(days=5),
    )
    review, signature = view.steps
    assert (review.assignee_group, review.assignee_unit, review.assignee) == ("lanh-dao-ht", PROVINCE.code, None)
    assert review.deadline is not None and signature.deadline is not None
    assert signature.deadline - review.deadline == timedelta(days=5) - timedelta(hours=2)
    (uploaded,) = documents.history(view)
    assert uploaded.details["signer"] == "lanh-dao-ht" and list(uploaded.details["step_deadlines"]) == [
        "review:lanh-dao-ht"  # the audit trail keeps the deadline given to that step
    ]

    awaiting = {uid: [d.id for d in documents.inbox(p, "awaiting").items] for uid, p in (("bi", bi), ("pho", pho))}
    assert awaiting == {"bi": [view.id], "pho": [view.id]}
    assert documents.inbox(xa, "awaiting").items == ()
    with pytest.raises(DocumentNotFoundError):
        documents.view(xa, view.id)
    with pytest.raises(StepNotActiveError):
        documents.review(drafter, view.id, True, "")  # the drafter is not a leader

    # the review is due within the day: the leaders working in Hà Tĩnh are reminded, not the one in Cao Bằng
    assert send_reminders(instance).as_dict() == {"due_soon": 1, "overdue": 0, "mailed": 2}
    assert sorted(m["To"] for m in mail_server.received.wait_for(2)) == ["bi@ht.dcs.vn", "pho@ht.dcs.vn"]

    decided = documents.review(pho, view.id, True, "Đồng ý.")
    assert decided.acted_by == pho.entry_uuid
    with pytest.raises(StepNotActiveError):
        documents.review(bi, view.id, True, "")  # taken by another leader
    assert [d.id for d in documents.inbox(bi, "awaiting").items] == [view.id]  # now the signature waits
    assert documents.view(bi, view.id).my_step is not None


def test_a_rejected_leaders_step_is_sent_again_with_its_own_deadline(leaders: tuple[Instance, GroupDirectory]) -> None:
    """A leader rejects; the drafter re-sends with a note and no new deadline: each step of the new round keeps its
    own deadline (the review's, the document's), and the leaders' review waits again in each leader's inbox."""
    instance, directory = leaders
    drafter, bi, pho = (directory.people[uid] for uid in ("tam", "bi", "pho"))
    documents = document_service(instance)
    now = instance.clock.now()
    group = leaders_named(instance, "lanh-dao-ht")
    view = documents.upload(
        drafter,
        io.BytesIO(sample_pdf(pages=1, size=20_000, title="To trinh 4")),
        file_name="tt.pdf",
        reviewers=[Planned(group, now + timedelta(days=1))],
        signers=[drafter],
        deadline=now + timedelta(days=3),
    )
    documents.review(bi, view.id, False, "Bổ sung số liệu.")
    resent = resend(documents, drafter, view.id, note="Đã bổ sung.")
    steps = [st for st in documents.view(drafter, view.id).steps if st.round == resent.round]
    assert [(st.assignee_group, st.assignee_unit) for st in steps] == [("lanh-dao-ht", PROVINCE.code), (None, None)]
    assert [st.deadline for st in steps] == [st.deadline for st in view.steps]  # each its own, not the first's
    for leader in (bi, pho):
        assert [d.id for d in documents.inbox(leader, "awaiting").items] == [view.id]


def test_an_unknown_leaders_group_is_refused(leaders: tuple[Instance, GroupDirectory]) -> None:
    instance, _directory = leaders
    for name in ("lanh-dao-zz", "lanh-dao-" + OFFICE.code.lower(), "lanh-dao-"):
        with pytest.raises(UploadRefusedError) as refused:
            leaders_named(instance, name)
        assert refused.value.reason == "unknown-group"


def test_the_migration_gives_the_records_office_steps_their_unit(tmp_path: Path, mail_server: SmtpServer) -> None:
    instance = make_instance(tmp_path / "migrated", mail_server)
    try:
        upgrade(instance.database, "e1a0c0rd0001")  # before group steps kept their unit
        with instance.database.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO signing_document (id, unit_code, title, number, file_name, status, created_by,"
                    " created_by_name, pages, current_version, created_at, updated_at) VALUES ('d1', 'HT-VP', 't', '',"
                    " 'f.pdf', 'in_progress', 's', 'n', 1, 1, '2026-12-01', '2026-12-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO signing_document_issue (document_id, unit_code, unit_name, records_office)"
                    " VALUES ('d1', 'HT', 'Tỉnh ủy Hà Tĩnh', 'van-thu-ht')"
                )
            )
            for position, kind, group in ((1, "sign", None), (2, "seal", "van-thu-ht"), (3, "issue", "van-thu-ht")):
                conn.execute(
                    text(
                        "INSERT INTO signing_document_step (document_id, position, kind, assignee_login, assignee_name,"
                        " assignee_group, status, reason, location, comment, round)"
                        " VALUES ('d1', :p, :k, '', '', :g, 'waiting', '', '', '', 1)"
                    ),
                    {"p": position, "k": kind, "g": group},
                )
        upgrade(instance.database)
        with instance.database.transaction() as conn:
            units = conn.execute(text("SELECT position, assignee_unit FROM signing_document_step ORDER BY position"))
            assert list(units) == [(1, None), (2, "HT"), (3, "HT")]
    finally:
        instance.close()
