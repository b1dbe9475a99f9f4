"""Re-sending a rejected document without a browser: with a corrected file (a new version, the old kept) or as it
was with a note (required then); the workflow starts again at the first review, the rejected round keeps its
decision and comment, the history has both; only the drafter re-sends, only a rejected document; told to the
listeners as ``request.resent``."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import update

from directory.models import Person
from signing.documents.errors import ResendRefusedError, UploadRefusedError
from signing.documents.models import DocumentStep
from signing.documents.resend import resend
from signing.documents.service import DocumentService, document_service
from signing.models import aware
from signing.samples import sample_pdf
from tests.signing.conftest import Platform


def person(platform: Platform, uid: str) -> Person:
    found = platform.directory.find_by_login(uid)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def documents(platform: Platform) -> DocumentService:
    return document_service(platform.instance)


def rejected(documents: DocumentService, platform: Platform, title: str) -> str:
    an, cuong, hanh = person(platform, "an"), person(platform, "cuong"), person(platform, "hanh")
    doc = documents.upload(
        an,
        io.BytesIO(sample_pdf(pages=1, size=20_000, title=title)),
        file_name="to-trinh.pdf",
        title=title,
        reviewers=[cuong, hanh],
        signer=an,
    ).id
    documents.review(cuong, doc, True, "Được.")
    documents.review(hanh, doc, False, "Thiếu phụ lục kinh phí.")
    return doc


def test_a_corrected_version_starts_the_workflow_again(platform: Platform, documents: DocumentService) -> None:
    an, cuong, hanh = person(platform, "an"), person(platform, "cuong"), person(platform, "hanh")
    doc = rejected(documents, platform, "Tờ trình gửi lại 1")
    corrected = sample_pdf(pages=3, size=30_000, title="Tờ trình gửi lại 1 (sửa)")
    heard: list[tuple[str, str, DocumentStep | None]] = []
    documents.listeners.append(lambda *event: heard.append(event))
    deadline = platform.instance.clock.now() + timedelta(days=2)
    try:
        done = resend(
            documents,
            an,
            doc,
            stream=io.BytesIO(corrected),
            file_name="to-trinh-sua.pdf",
            note="Đã bổ sung phụ lục.",
            deadline=deadline,
        )
    finally:
        documents.listeners.pop()
    assert done.round == 2 and done.version == 2
    view = documents.view(an, doc)
    assert view.document.status == "in_progress" and view.document.pages == 3
    assert view.document.file_name == "to-trinh-sua.pdf"
    assert [(st.round, st.kind, st.assignee_login, st.status) for st in view.steps] == [
        (1, "review", "cuong", "done"),
        (1, "review", "hanh", "rejected"),
        (1, "sign", "an", "skipped"),
        (2, "review", "cuong", "active"),
        (2, "review", "hanh", "waiting"),
        (2, "sign", "an", "waiting"),
    ]
    assert view.steps[1].comment == "Thiếu phụ lục kinh phí."  # the rejection is kept
    assert all(st.deadline is not None for st in view.steps[3:])
    assert [v.number for v in view.versions] == [1, 2]
    assert view.current.sha256 == hashlib.sha256(corrected).hexdigest()
    assert documents.file(view).read_bytes() == corrected and documents.file(view, 1).read_bytes() != corrected
    assert len(documents.sizes(view)) == 3  # the new file's pages
    assert doc in [d.id for d in documents.inbox(cuong, "awaiting").items]
    assert doc not in [d.id for d in documents.inbox(an, "done").items]
    [(_doc, event, step)] = heard
    assert event == "request.resent" and step is not None and step.assignee_login == "cuong" and step.round == 2

    history = documents.history(view)
    events = [e.event for e in history]
    assert events.index("signing:document:review") < events.index("signing:document:resend")
    (entry,) = [e for e in history if e.event == "signing:document:resend"]
    assert entry.actor == "an" and entry.details["note"] == "Đã bổ sung phụ lục."
    assert entry.details["version"] == 2 and entry.details["sha256"] == view.current.sha256

    # the second round goes through: both reviews, then the signer's turn
    documents.review(cuong, doc, True, "")
    documents.review(hanh, doc, True, "Đã đủ.")
    assert documents.view(an, doc).my_step is not None
    with pytest.raises(ResendRefusedError) as refused:
        resend(documents, an, doc, note="lại")
    assert refused.value.reason == "not-rejected"  # it is in progress


def test_sent_again_as_it_was_needs_a_note(platform: Platform, documents: DocumentService) -> None:
    an, cuong = person(platform, "an"), person(platform, "cuong")
    doc = rejected(documents, platform, "Tờ trình gửi lại 2")
    with pytest.raises(ResendRefusedError) as refused:
        resend(documents, an, doc, note="  ")
    assert refused.value.reason == "note-required"
    with pytest.raises(ResendRefusedError) as refused:
        resend(documents, cuong, doc, note="tôi gửi hộ")  # a reviewer of the same unit sees it but did not send it
    assert refused.value.reason == "not-drafter"
    with pytest.raises(UploadRefusedError):
        resend(documents, an, doc, stream=io.BytesIO(b"not a pdf"), file_name="x.pdf")
    view = documents.view(an, doc)
    assert view.document.status == "rejected" and len(view.versions) == 1  # nothing changed by the refusals
    assert not [p for p in documents.file(view).parent.iterdir() if p.name.startswith(".")]  # no staged file left
    done = resend(documents, an, doc, note="Lãnh đạo đã đồng ý giữ nguyên nội dung.")
    assert done.round == 2 and done.version is None
    after = documents.view(an, doc)
    assert [v.number for v in after.versions] == [1] and after.document.status == "in_progress"
    assert [st.status for st in after.steps if st.round == 2] == ["active", "waiting", "waiting"]
    with pytest.raises(ResendRefusedError):
        resend(documents, an, doc, note="lần nữa")  # twice: the first one counted


def test_the_new_round_keeps_a_deadline_still_ahead(platform: Platform, documents: DocumentService) -> None:
    an, cuong = person(platform, "an"), person(platform, "cuong")
    ahead = platform.instance.clock.now() + timedelta(days=1)
    kept, lapsed = (
        documents.upload(
            an,
            io.BytesIO(sample_pdf(pages=1, size=20_000, title=title)),
            file_name="t.pdf",
            title=title,
            reviewers=[cuong],
            signer=an,
            deadline=ahead,
        ).id
        for title in ("Hạn còn", "Hạn đã qua")
    )
    for doc in (kept, lapsed):
        documents.review(cuong, doc, False, "Sửa.")
    with platform.instance.database.transaction() as conn:
        conn.execute(
            update(DocumentStep)
            .where(DocumentStep.document_id == lapsed)
            .values(deadline=platform.instance.clock.now() - timedelta(hours=1))
        )
    resend(documents, an, kept, note="Đã sửa.")
    resend(documents, an, lapsed, note="Đã sửa.")
    new_kept = [st.deadline for st in documents.view(an, kept).steps if st.round == 2]
    assert [aware(d) if d else None for d in new_kept] == [ahead, ahead]
    assert [st.deadline for st in documents.view(an, lapsed).steps if st.round == 2] == [None, None]
