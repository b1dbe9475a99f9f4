"""``antin demo``'s documents, so that the inbox is not empty: one waiting for a demo official's signature, and one
whose workflow goes on to the records office (văn thư): ``hungnv`` signs, then ``lanntt`` (of the group
``van-thu-tw``) gives the number and date, applies the seal of the Ban Chấp hành Trung ương and issues it to the
Tỉnh ủy Bắc Ninh and the Thành ủy Hà Nội, whose officials find it under "received"; and one drafted in the Văn phòng
Tỉnh ủy Bắc Ninh for the province's leaders (``lanh-dao-bnh``: ``thanhnc`` or ``hoalt`` signs).

Idempotent: a second start finds the documents by title and adds nothing.
"""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from antin.kernel.instance import Instance
from directory.instance import directory_service
from signing.documents.errors import UploadRefusedError
from signing.documents.groups import leaders_named
from signing.documents.models import Document, RecipientKind
from signing.documents.records_office import Recipient
from signing.documents.service import document_service
from signing.samples import sample_pdf

__all__ = [
    "DEMO_DRAFTER",
    "DEMO_LEADERS_TITLE",
    "DEMO_SIGNER",
    "DEMO_TITLE",
    "DEMO_WORKFLOW_TITLE",
    "seed_demo_documents",
]

DEMO_DRAFTER = "dungpt"  # Chuyên viên, Văn phòng Trung ương Đảng
DEMO_SIGNER = "hungnv"  # Chánh Văn phòng, the same unit
DEMO_TITLE = "Công văn về việc chuẩn bị hội nghị sơ kết (mẫu)"
DEMO_NUMBER = "101-CV/VPTW"
DEMO_WORKFLOW_TITLE = "Quyết định thành lập Tổ công tác chuẩn bị hội nghị (mẫu)"
DEMO_RECIPIENTS = ("BNH", "HNI")  # the units it is issued to
DEMO_LEADERS_TITLE = "Tờ trình về kế hoạch kiểm tra, giám sát năm 2027 (mẫu)"
DEMO_LEADERS_DRAFTER = "yenht"  # Chuyên viên, Văn phòng Tỉnh ủy Bắc Ninh
DEMO_LEADERS = "lanh-dao-bnh"  # the province's leaders: thanhnc, hoalt


def seed_demo_documents(instance: Instance) -> str | None:
    """The demo document's id (made on first start), or None when the demo officials are missing."""
    if instance.settings.production:
        raise RuntimeError("demo documents are for development instances only")
    with instance.database.reading() as s:
        existing = s.scalar(select(Document.id).where(Document.title == DEMO_TITLE))
        workflow = s.scalar(select(Document.id).where(Document.title == DEMO_WORKFLOW_TITLE))
        for_leaders = s.scalar(select(Document.id).where(Document.title == DEMO_LEADERS_TITLE))
    if existing is not None and workflow is not None and for_leaders is not None:
        return str(existing)
    people = directory_service(instance)
    drafter, signer = people.find_by_login(DEMO_DRAFTER), people.find_by_login(DEMO_SIGNER)
    if drafter is None or signer is None:
        return None
    documents = document_service(instance)
    if existing is None:
        pdf = sample_pdf(pages=2, title="Cong van 101-CV/VPTW")
        view = documents.upload(
            drafter,
            io.BytesIO(pdf),
            file_name="cong-van-101.pdf",
            title=DEMO_TITLE,
            number=DEMO_NUMBER,
            signer=signer,
            deadline=instance.clock.now() + timedelta(days=3),  # the inbox's deadline column has something to show
        )
        existing = view.id
    if workflow is None:
        units = [people.get_unit(code) for code in DEMO_RECIPIENTS]
        documents.upload(
            drafter,
            io.BytesIO(sample_pdf(pages=1, title="Quyet dinh thanh lap To cong tac")),
            file_name="quyet-dinh-to-cong-tac.pdf",
            title=DEMO_WORKFLOW_TITLE,
            signer=signer,
            recipients=[Recipient(RecipientKind.UNIT, unit.code, unit.name) for unit in units],
        )
    leaders_drafter = people.find_by_login(DEMO_LEADERS_DRAFTER)
    if for_leaders is None and leaders_drafter is not None:
        try:
            leaders = leaders_named(instance, DEMO_LEADERS)
        except UploadRefusedError:  # a directory seeded without the group: no such document, not a failed start
            return str(existing)
        documents.upload(
            leaders_drafter,
            io.BytesIO(sample_pdf(pages=1, title="To trinh ke hoach kiem tra giam sat 2027")),
            file_name="to-trinh-kiem-tra-2027.pdf",
            title=DEMO_LEADERS_TITLE,
            signers=[leaders],
            deadline=instance.clock.now() + timedelta(days=5),
        )
    return str(existing)
