"""``antin demo``'s documents: one waiting for a demo official's signature, so that the inbox is not empty.

Idempotent: a second start finds the document and adds nothing. A full workflow (reviews, the records office's
seal) comes with the workflow engine; the demo document has the one signature step it needs today.
"""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from antin.kernel.instance import Instance
from directory.instance import directory_service
from signing.documents.models import Document
from signing.documents.service import document_service
from signing.samples import sample_pdf

__all__ = ["DEMO_DRAFTER", "DEMO_SIGNER", "DEMO_TITLE", "seed_demo_documents"]

DEMO_DRAFTER = "dungpt"  # Chuyên viên, Văn phòng Trung ương Đảng
DEMO_SIGNER = "hungnv"  # Chánh Văn phòng, the same unit
DEMO_TITLE = "Công văn về việc chuẩn bị hội nghị sơ kết (mẫu)"
DEMO_NUMBER = "101-CV/VPTW"


def seed_demo_documents(instance: Instance) -> str | None:
    """The demo document's id (made on first start), or None when the demo officials are missing."""
    if instance.settings.production:
        raise RuntimeError("demo documents are for development instances only")
    with instance.database.reading() as s:
        existing = s.scalar(select(Document.id).where(Document.title == DEMO_TITLE))
    if existing is not None:
        return str(existing)
    people = directory_service(instance)
    drafter, signer = people.find_by_login(DEMO_DRAFTER), people.find_by_login(DEMO_SIGNER)
    if drafter is None or signer is None:
        return None
    pdf = sample_pdf(pages=2, title="Cong van 101-CV/VPTW")
    view = document_service(instance).upload(
        drafter,
        io.BytesIO(pdf),
        file_name="cong-van-101.pdf",
        title=DEMO_TITLE,
        number=DEMO_NUMBER,
        signer=signer,
        deadline=instance.clock.now() + timedelta(days=3),  # the inbox's deadline column has something to show
    )
    return view.id
