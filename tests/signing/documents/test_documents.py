"""Officials' documents without a browser: uploads refused with a reason, previews rendered by poppler under
limits and cached, the default place and the covered-content check, who may see a document, the inbox, and
signing under sole control (a software authenticator) with a reused or wrong-document assertion refused."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from directory.models import Person
from signing.documents.errors import DocumentNotFoundError, StepNotActiveError, UploadRefusedError
from signing.documents.placement import Box
from signing.documents.service import DocumentService, document_service
from signing.errors import SoleControlRefused
from signing.samples import sample_pdf
from tests.signing.conftest import Platform
from tests.signing.independent import ades_verdicts, pdfsig
from tests.signing.test_sole_control import answer, enrol

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "pdf-signatures" / "dss"


def person(platform: Platform, uid: str) -> Person:
    found = platform.directory.find_by_login(uid)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def documents(platform: Platform) -> DocumentService:
    return document_service(platform.instance)


def upload(documents: DocumentService, who: Person, pdf: bytes, **kw: object) -> str:
    return documents.upload(who, io.BytesIO(pdf), file_name="cong-van.pdf", **kw).id  # type: ignore[arg-type]


def reason_for(documents: DocumentService, who: Person, data: bytes) -> str:
    with pytest.raises(UploadRefusedError) as refused:
        upload(documents, who, data)
    return refused.value.reason


def test_unusable_uploads_are_refused_with_their_reason(
    platform: Platform, documents: DocumentService, tmp_path: Path
) -> None:
    an = person(platform, "an")
    assert reason_for(documents, an, b"") == "empty"
    assert reason_for(documents, an, b"GIF89a not a pdf") == "not-pdf"
    big = b"%PDF-1.7\n" + b"0" * (documents.max_bytes + 1)
    assert reason_for(documents, an, big) == "too-large"
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(sample_pdf(pages=1, size=20_000, title="x"))
    locked = tmp_path / "locked.pdf"
    subprocess.run(["qpdf", "--encrypt", "u", "o", "256", "--", str(plain), str(locked)], check=True)
    assert reason_for(documents, an, locked.read_bytes()) == "encrypted"
    no_change = (CORPUS / "dss-2554_certified-no-change-permitted.pdf").read_bytes()
    assert reason_for(documents, an, no_change) == "locked"
    # nothing of the refused files stays behind
    assert not any(p.name.startswith(".upload-") for p in documents.root.rglob("*"))


def test_previews_are_rendered_once_and_the_default_place_is_blank(
    platform: Platform, documents: DocumentService
) -> None:
    an = person(platform, "an")
    view = documents.view(an, upload(documents, an, sample_pdf(pages=3, size=60_000, title="Ke hoach 12")))
    first = documents.preview(view, 1)
    with Image.open(first) as image:
        assert max(image.size) == documents.settings.preview_pixels and image.height > image.width  # A4, upright
    mtime = first.stat().st_mtime_ns
    assert documents.preview(view, 1).stat().st_mtime_ns == mtime  # cached, not rendered again
    with pytest.raises(DocumentNotFoundError):
        documents.preview(view, 4)
    placement = documents.placement(view)
    assert placement.box.page == 3 and not placement.chosen  # the bottom of the last page by default
    assert placement.box.y < 100 and placement.box.x > placement.size.width / 2
    # over the page's title and body text, the check warns
    top = documents.place(an, view.id, Box(1, 40, placement.size.height - 120, 300, 100))
    assert top.covers_content and top.box.page == 1
    # a box dragged off the page comes back onto it
    off = documents.place(an, view.id, Box(9, -50, 5000, 220, 80))
    assert off.box.page == 3 and off.box.x == 0 and off.box.y == off.size.height - 80


def test_another_units_official_cannot_see_the_document(platform: Platform, documents: DocumentService) -> None:
    an, cuong, dung = person(platform, "an"), person(platform, "cuong"), person(platform, "dung")
    doc = upload(documents, an, sample_pdf(pages=1, size=20_000, title="Bao cao"), title="Báo cáo quý", number="7/BC")
    assert documents.view(cuong, doc).document.title == "Báo cáo quý"  # the same unit's colleague
    with pytest.raises(DocumentNotFoundError):
        documents.view(dung, doc)  # another unit's official: as if it did not exist
    with pytest.raises(StepNotActiveError):
        documents.begin_signing(cuong, doc)  # not theirs to sign
    # sent to dung (another unit) to sign: now dung sees it, in the inbox
    sent = documents.upload(
        an,
        io.BytesIO(sample_pdf(pages=1, size=20_000, title="To trinh")),
        file_name="tt.pdf",
        title="Tờ trình 9",
        signer=dung,
    )
    assert documents.view(dung, sent.id).my_step is not None
    assert [d.id for d in documents.inbox(dung, "awaiting").items] == [sent.id]
    assert sent.id in [d.id for d in documents.inbox(an, "sent", query="tờ trình").items]
    assert documents.inbox(an, "sent", query="7/bc").total == 1


def test_signing_needs_the_officials_assertion_over_exactly_this_document(
    platform: Platform, documents: DocumentService
) -> None:
    binh = person(platform, "binh")
    key = enrol(platform.instance, binh.entry_uuid, origin=platform.base_url)
    first = upload(documents, binh, sample_pdf(pages=2, size=80_000, title="QD 45"), title="Quyết định 45")
    second = upload(documents, binh, sample_pdf(pages=1, size=30_000, title="QD 46"), title="Quyết định 46")

    # an assertion over the first document, presented for the second: refused, nothing signed
    auth_id, options, digest = documents.begin_signing(binh, first)
    assert digest == bytes.fromhex(documents.view(binh, first).current.sha256)
    credential = answer(key, options)
    with pytest.raises(SoleControlRefused) as refused:
        documents.sign(binh, second, authorisation_id=auth_id, credential=credential, reason="r", location="l")
    assert refused.value.reason == "wrong_document"
    assert documents.view(binh, second).versions[-1].number == 1

    # a fresh one over the first signs it; the same answer again is refused
    auth_id, options, _ = documents.begin_signing(binh, first)
    credential = answer(key, options)
    # while another tab's signature of this step is being made, this one is told there is nothing to sign
    step = documents.view(binh, first).my_step
    assert step is not None
    documents._claim_step(step)
    with pytest.raises(StepNotActiveError):
        documents.sign(binh, first, authorisation_id=auth_id, credential=credential, reason="", location="")
    documents._release_step(step)  # that signature failed: the step waits again
    outcome = documents.sign(
        binh, first, authorisation_id=auth_id, credential=credential, reason="Ký ban hành", location="Hà Tĩnh"
    )
    view = documents.view(binh, first)
    assert view.document.status == "done" and view.signed and view.current.signature_reference == outcome.reference
    signed = documents.file(view).read_bytes()
    assert hashlib.sha256(signed).hexdigest() == view.current.sha256
    out = Path(platform.data_dir / "signed-first.pdf")
    out.write_bytes(signed)
    found = pdfsig(out, platform.nss)[0]  # then the B-LTA level's document time-stamp
    assert found.signature_validation == "Signature is Valid." and "Bình" in found.common_name
    material = platform.revocation()
    verdicts = ades_verdicts(signed, [platform.root_der], crls=material.crls, ocsps=material.ocsp_responses)
    assert verdicts and all(v.status == "PASSED" for v in verdicts), verdicts
    with pytest.raises(StepNotActiveError):
        documents.sign(binh, first, authorisation_id=auth_id, credential=credential, reason="", location="")
    events = [e.event for e in documents.history(view)]
    assert events[0] == "signing:document:upload" and "signing:document:complete" in events
    assert "signing:document:refuse" in [e.event for e in documents.history(documents.view(binh, second))]


def test_a_page_poppler_cannot_render_is_a_preview_error_within_limits(tmp_path: Path) -> None:
    from signing.documents.errors import PreviewError
    from signing.documents.previews import Limits, PreviewRenderer

    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n%%EOF\n")
    with pytest.raises(PreviewError) as failed:
        PreviewRenderer(pixels=800, seconds=2, memory_mb=128).render(garbage, 1, tmp_path / "p.png")
    assert failed.value.reason in ("failed", "no-page") and not (tmp_path / "p.png").exists()
    command = Limits(3, 100).command(["pdftoppm", "x.pdf"])
    assert command[1:4] == [f"--as={100 * 1024 * 1024}", "--cpu=3", "--"]  # every render runs under prlimit
