"""The official's signing on the portal, and page previews: Ấn Tín beside stock pyHanko and pypdfium2.

- ``confirmation to signed file B-LTA 1MB``: what runs between the official's press on "sign with my security
  key" and the signed file being ready (``DocumentService.sign``: the WebAuthn assertion checked and claimed,
  the document's bytes hashed and matched, the PAdES B-LTA signature with the key in SoftHSM2, the time-stamps
  and revocation data from the platform's TSA and OCSP responder, the new version stored, the step closed, the
  audit entries). The assertion comes from a software authenticator, made before the clock starts (in the
  browser, that is the official's touch). Beside it ``pyhanko-lib``: stock pyHanko signing the same 1 MB file
  at B-LTA (``bench.signing_bench``'s worker), with no sole control and no bookkeeping.
- ``records office``: after the official's signature (untimed), the records office's number and date with the
  unit's seal (a second B-LTA signature with the seal certificate), and the issue to the recipients.
- ``preview one page``: a page rendered to a PNG whose longest side is 1200 pixels. ``antin``: ``pdftoppm`` in a
  child process under ``prlimit`` (what the portal runs, before its cache); ``pypdfium2``: the same page in
  process (no bound on a hostile file's time or memory), when pypdfium2 is installed.

Every signed file is checked with stock pyHanko's validator, every preview's PNG size is checked.
Usage: ``python -m bench.documents_bench [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.rows import Run, add_arguments, row_from_samples
from bench.signing_bench import build_service, check_signed, peak_rss, run_worker, serving

BENCH = "documents"
PIXELS = 1200
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "pdf-signatures" / "dss"


def add(run: Run, operation: str, side: str, result: dict[str, Any], note: str = "") -> None:
    run.add(
        row_from_samples(
            BENCH,
            operation,
            side,
            result["wall"],
            cpu=result["cpu"],
            rss_bytes=result.get("rss"),
            checked=result["checked"],
            wrong=result["wrong"],
            note=note,
        )
    )


def bench_portal_signing(service: Any, pdf: bytes, n: int, root_pem: Path) -> dict[str, Any]:
    """Upload (untimed), ask for the official's assertion (untimed), then time the confirmation's POST path."""
    from signing.documents.service import document_service
    from tests.idp.mfa.soft_authenticator import SoftAuthenticator
    from tests.signing.test_sole_control import answer, enrol

    instance = service.instance
    official = service.directory.find_by_login("an")
    key: SoftAuthenticator = enrol(instance, official.entry_uuid, origin=instance.settings.core.issuer)
    documents = document_service(instance)
    wall, cpu, wrong = [], [], 0
    for index in range(n + 1):  # the first is a warm-up
        view = documents.upload(official, io.BytesIO(pdf), file_name="bench.pdf", title=f"Bench {index}")
        authorisation, options, _ = documents.begin_signing(official, view.id)
        credential = answer(key, options)
        t0, c0 = time.perf_counter(), time.process_time()
        documents.sign(
            official, view.id, authorisation_id=authorisation, credential=credential, reason="Ký", location="Hà Nội"
        )
        if index:
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    signed = documents.file(documents.view(official, view.id))
    wrong = int(not check_signed(signed, "B-LTA", root_pem))
    return {"wall": wall, "cpu": cpu, "rss": peak_rss(), "checked": 1, "wrong": wrong}


def bench_records_office(service: Any, pdf: bytes, n: int, root_pem: Path) -> dict[str, dict[str, Any]]:
    """A document the official signed (untimed), then the records office's two steps, each timed: the number and
    date with the unit's seal (B-LTA, a second signature), and the issue to the recipients."""
    from datetime import timedelta, timezone

    from signing.documents.models import RecipientKind
    from signing.documents.records_office import Recipient
    from signing.documents.service import document_service
    from tests.signing.test_sole_control import answer, enrol

    instance = service.instance
    official = service.directory.find_by_login("an")
    assert official is not None and official.unit is not None
    clerk = service.directory.find_by_login("thu") or service.directory.add(
        "thu",
        "x",
        full_name="Trần Thị Thư",
        position="Văn thư",
        unit=official.unit,
        unit_path=official.unit_path,
        groups=(f"van-thu-{official.unit.code.lower()}",),
    )
    keys = {p.uid: enrol(instance, p.entry_uuid, origin=instance.settings.core.issuer) for p in (official, clerk)}
    documents = document_service(instance)
    to = [Recipient(RecipientKind.UNIT, official.unit.code, official.unit.name)]
    today = instance.clock.now().astimezone(timezone(timedelta(hours=7))).date()
    seal: dict[str, list[float]] = {"wall": [], "cpu": []}
    issue: dict[str, list[float]] = {"wall": [], "cpu": []}
    for index in range(n + 1):  # the first is a warm-up
        view = documents.upload(official, io.BytesIO(pdf), file_name="qd.pdf", title=f"QĐ {index}", recipients=to)
        for person, register in ((official, {}), (clerk, {"number": f"{index + 1}/QĐ-BENCH", "issued_on": today})):
            authorisation, options, _ = documents.begin_signing(person, view.id)
            credential = answer(keys[person.uid], options)
            t0, c0 = time.perf_counter(), time.process_time()
            documents.sign(
                person,
                view.id,
                authorisation_id=authorisation,
                credential=credential,
                reason="",
                location="",
                **register,
            )
            if index and person is clerk:
                seal["wall"].append(time.perf_counter() - t0)
                seal["cpu"].append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        documents.issue(clerk, view.id)
        if index:
            issue["wall"].append(time.perf_counter() - t0)
            issue["cpu"].append(time.process_time() - c0)
    sealed = documents.file(documents.view(official, view.id))
    wrong = int(not check_signed(sealed, "B-LTA", root_pem, signatures=2))
    return {
        "seal": {**seal, "rss": peak_rss(), "checked": 1, "wrong": wrong},
        "issue": {**issue, "checked": n, "wrong": int(documents.view(official, view.id).document.status != "done")},
    }


def preview_files(data_dir: Path, pdf_1mb: Path) -> dict[str, tuple[Path, int]]:
    found = {"1 MB sample, 4 pages": (pdf_1mb, 4)}
    for name in ("pades-bes.pdf", "pades-5-signatures-and-1-document-timestamp.pdf"):
        if (CORPUS / name).is_file():
            found[f"corpus {name}"] = (CORPUS / name, 1)
    return found


def bench_previews_poppler(path: Path, pages: int, rounds: int, cache: Path) -> dict[str, Any]:
    from PIL import Image

    from signing.documents.previews import PreviewRenderer

    renderer = PreviewRenderer(pixels=PIXELS, seconds=10, memory_mb=512)
    wall, cpu, wrong = [], [], 0
    for r in range(rounds):
        for page in range(1, pages + 1):
            target = cache / f"{path.stem}-{r}-{page}.png"
            t0 = time.perf_counter()
            children0 = os.times()
            renderer.render(path, page, target)
            children1 = os.times()
            wall.append(time.perf_counter() - t0)
            cpu.append(
                children1.children_user
                + children1.children_system
                - children0.children_user
                - children0.children_system
            )
            with Image.open(target) as image:
                wrong += int(max(image.size) != PIXELS)
    return {"wall": wall, "cpu": cpu, "rss": None, "checked": len(wall), "wrong": wrong}


def bench_previews_pdfium(path: Path, pages: int, rounds: int) -> dict[str, Any] | None:
    try:
        import pypdfium2
    except ImportError:
        return None
    wall, cpu, wrong = [], [], 0
    for _ in range(rounds):
        for index in range(pages):
            t0, c0 = time.perf_counter(), time.process_time()
            document = pypdfium2.PdfDocument(str(path))
            page = document[index]
            width, height = page.get_size()
            image = page.render(scale=PIXELS / max(width, height)).to_pil()
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            document.close()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            wrong += int(abs(max(image.size) - PIXELS) > 1)
    return {"wall": wall, "cpu": cpu, "rss": None, "checked": len(wall), "wrong": wrong}


def main(argv: list[str] | None = None) -> int:
    from signing.samples import sample_pdf
    from tests.components import free_port

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    quick = args.quick
    if quick:
        os.environ["BENCH_SIGNING_QUICK"] = "1"
    run = Run(BENCH, quick)
    with tempfile.TemporaryDirectory(prefix="antin-documents-bench-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        base_url = f"http://localhost:{port}"
        service = build_service(data_dir, base_url)
        service.ensure_pki()
        cert = service.issue_certificate("an", actor="bench")
        (data_dir / "signer-label").write_text(cert.key_label)
        pdf_path = data_dir / "sample-1MB.pdf"
        pdf_path.write_bytes(sample_pdf(pages=4, size=1_000_000, title="Bench 1MB"))
        run.notes.append("ECDSA P-256 keys in SoftHSM2, TSA and OCSP in-process; previews 1200 px on the long side")
        with serving(service, port):
            operation = "confirmation to signed file B-LTA 1MB"
            n = 3 if quick else 20
            add(
                run,
                operation,
                "antin",
                bench_portal_signing(service, pdf_path.read_bytes(), n, data_dir / "pki" / "root-ca.pem"),
                "WebAuthn assertion checked and claimed, B-LTA signature, version stored, audit",
            )
            add(
                run,
                operation,
                "pyhanko-lib",
                run_worker("pyhanko", data_dir, base_url, "B-LTA", pdf_path, 2 if quick else 10),
                "stock pyHanko, PKCS11Signer, B-LTA, no sole control",
            )
            office = bench_records_office(service, pdf_path.read_bytes(), n, data_dir / "pki" / "root-ca.pem")
            add(
                run,
                "records office: number and seal B-LTA 1MB",
                "antin",
                office["seal"],
                "the number taken in the register, the unit's seal as a second signature, version stored, audit",
            )
            add(run, "records office: issue to recipients", "antin", office["issue"], "step done, document issued")
        rounds = 1 if quick else 5
        cache = data_dir / "previews"
        for label, (path, pages) in preview_files(data_dir, pdf_path).items():
            operation = f"preview one page: {label}"
            add(
                run,
                operation,
                "antin",
                bench_previews_poppler(path, pages, rounds, cache),
                "pdftoppm in a child under prlimit; CPU is the child's",
            )
            pdfium = bench_previews_pdfium(path, pages, rounds)
            if pdfium is not None:
                add(run, operation, "pypdfium2", pdfium, "in process, no bound on time or memory")
        service.instance.close()
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    raise SystemExit(main())
