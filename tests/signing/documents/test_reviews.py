"""Review steps without a browser: an approval opens the next step, a rejection stops the document (rejected,
later steps skipped, the comment kept) and shows in the right inbox boxes, nobody acts out of turn, every
decision is audited and told to the listeners."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from antin.kernel.database import Database
from directory.models import Person
from signing.documents.errors import ReviewRefusedError, StepNotActiveError
from signing.documents.models import DocumentStep
from signing.documents.service import DocumentService, document_service
from signing.samples import sample_pdf
from tests.postgres_standby import kill_host
from tests.servers import postgres_server
from tests.signing.conftest import Platform


def person(platform: Platform, uid: str) -> Person:
    found = platform.directory.find_by_login(uid)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def documents(platform: Platform) -> DocumentService:
    return document_service(platform.instance)


def drafted(documents: DocumentService, drafter: Person, title: str, reviewers: list[Person], signer: Person) -> str:
    pdf = sample_pdf(pages=1, size=20_000, title=title)
    return documents.upload(
        drafter, io.BytesIO(pdf), file_name="to-trinh.pdf", title=title, signer=signer, reviewers=reviewers
    ).id


def ids(documents: DocumentService, who: Person, box: str) -> list[str]:
    return [d.id for d in documents.inbox(who, box).items]


def test_an_approval_opens_the_next_step_in_order(platform: Platform, documents: DocumentService) -> None:
    an, binh, cuong = person(platform, "an"), person(platform, "binh"), person(platform, "cuong")
    heard: list[tuple[str, str, DocumentStep | None]] = []
    documents.listeners.append(lambda *event: heard.append(event))
    try:
        doc = drafted(documents, an, "Tờ trình duyệt 1", [cuong, binh], binh)
        view = documents.view(an, doc)
        assert [(st.kind, st.assignee_login, st.status) for st in view.steps] == [
            ("review", "cuong", "active"),
            ("review", "binh", "waiting"),
            ("sign", "binh", "waiting"),
        ]
        assert doc in ids(documents, cuong, "awaiting") and doc not in ids(documents, binh, "awaiting")
        # binh's review is not open yet, and a reviewer cannot sign instead of reviewing
        with pytest.raises(StepNotActiveError):
            documents.review(binh, doc, True, "")
        with pytest.raises(StepNotActiveError):
            documents.begin_signing(cuong, doc)
        documents.review(cuong, doc, True, "  Đồng ý.  ")
        with pytest.raises(StepNotActiveError):
            documents.review(cuong, doc, False, "changed my mind")  # decided already
        after = documents.view(binh, doc)
        assert [st.status for st in after.steps] == ["done", "active", "waiting"]
        assert after.steps[0].comment == "Đồng ý." and after.steps[0].acted_by == cuong.entry_uuid
        assert after.my_step is not None and after.my_step.kind == "review"
        documents.review(binh, doc, True, "")
        signer_view = documents.view(binh, doc)
        assert signer_view.my_step is not None and signer_view.my_step.kind == "sign"
        assert signer_view.document.status == "in_progress"
        assert doc in ids(documents, binh, "awaiting")
    finally:
        documents.listeners.pop()
    assert [(d, e, st.position if st else None) for d, e, st in heard if d == doc] == [
        (doc, "step.completed", 1),
        (doc, "step.completed", 2),
    ]
    reviews = [e for e in documents.history(documents.view(an, doc)) if e.event == "signing:document:review"]
    assert [(e.actor, e.details["decision"], e.details["comment"]) for e in reviews] == [
        ("cuong", "approved", "Đồng ý."),
        ("binh", "approved", ""),
    ]


def test_a_rejection_stops_the_document_with_its_comment(platform: Platform, documents: DocumentService) -> None:
    an, binh, cuong = person(platform, "an"), person(platform, "binh"), person(platform, "cuong")
    doc = drafted(documents, an, "Tờ trình duyệt 2", [cuong, binh], binh)
    documents.review(cuong, doc, True, "")
    with pytest.raises(ReviewRefusedError) as refused:
        documents.review(binh, doc, False, "   ")
    assert refused.value.reason == "comment-required"
    assert documents.view(binh, doc).my_step is not None  # nothing was decided
    heard: list[tuple[str, str, DocumentStep | None]] = []
    documents.listeners.append(lambda *event: heard.append(event))
    try:
        documents.review(binh, doc, False, "Sửa số liệu ở mục 2.")
    finally:
        documents.listeners.pop()
    view = documents.view(an, doc)
    assert view.document.status == "rejected"
    assert [st.status for st in view.steps] == ["done", "rejected", "skipped"]
    assert view.steps[1].comment == "Sửa số liệu ở mục 2."
    [(_doc, event, step)] = heard
    assert event == "request.rejected" and step is not None and step.comment == "Sửa số liệu ở mục 2."
    # the drafter finds it sent and done; the reviewers who acted, done; nobody has it waiting
    assert doc in ids(documents, an, "sent") and doc in ids(documents, an, "done")
    assert documents.inbox(an, "sent").rejections[doc] == "Sửa số liệu ở mục 2."  # beside it in the list
    assert doc in ids(documents, cuong, "done") and doc in ids(documents, binh, "done")
    assert all(doc not in ids(documents, who, "awaiting") for who in (an, binh, cuong))
    with pytest.raises(StepNotActiveError):
        documents.begin_signing(binh, doc)  # the signature step was skipped
    with pytest.raises(StepNotActiveError):
        documents.review(binh, doc, True, "")


def test_a_signer_never_reached_does_not_see_the_rejection_as_done(
    platform: Platform, documents: DocumentService
) -> None:
    an, cuong, dung = person(platform, "an"), person(platform, "cuong"), person(platform, "dung")
    doc = drafted(documents, an, "Tờ trình duyệt 3", [cuong], dung)  # dung: another unit's signer
    assert doc not in ids(documents, dung, "awaiting")  # the review comes first
    documents.review(cuong, doc, False, "Không đúng thẩm quyền.")
    assert doc not in ids(documents, dung, "done") and doc not in ids(documents, dung, "awaiting")


@pytest.mark.postgres
def test_a_listener_meeting_a_database_outage_is_one_line(
    platform: Platform, documents: DocumentService, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener (the webhook queue) whose database is away as the decision is told (issue 14: a failover): the
    review stands, and the log gets one warning line naming the outage, not a traceback. Real PostgreSQL, stopped."""
    an, binh, cuong = person(platform, "an"), person(platform, "binh"), person(platform, "cuong")
    doc = drafted(documents, an, "Tờ trình duyệt 3", [cuong], binh)
    caplog.set_level(logging.WARNING, logger="signing.documents.service")
    with postgres_server(tmp_path / "pg") as url:
        queue = Database(url, pool_size=1)
        kill_host(url)

        def queue_a_webhook(document_id: str, event: str, _step: DocumentStep | None) -> None:
            with queue.session() as session:
                session.execute(text("select :d, :e"), {"d": document_id, "e": event})

        documents.listeners.append(queue_a_webhook)
        try:
            documents.review(cuong, doc, True, "")
        finally:
            documents.listeners.pop()
            queue.dispose()
    assert [st.status for st in documents.view(an, doc).steps] == ["done", "active"]
    logged = [r for r in caplog.records if r.name == "signing.documents.service"]
    assert [r.exc_info for r in logged] == [None]
    assert logged[0].getMessage().endswith("the database is unavailable (OperationalError)")
