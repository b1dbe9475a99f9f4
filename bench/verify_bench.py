"""Verification of signed PDFs, ours beside pdfsig and stock pyHanko, in-process and as processes.

Documents: one B-LT signature on 100 KB, 1 MB and 10 MB (``--quick``: 1 MB), and a 1 MB document with five
signatures (B-LT, one after another) and a document time-stamp (the fifth at B-LTA).

Rows, two operations per document:
- ``… (in-process)``: ``antin`` is :func:`signing.validation.verify_bytes` as the API and the page run it, with
  the EN 319 102-1 processes, hard-fail revocation and the change analysis (the documents carry a DSS revision
  after their signature, so the revision snapshots run every time); beside it ``pyhanko-api``, stock
  ``validate_pdf_signature`` (and ``validate_pdf_timestamp``) of every signature with hard-fail and the CRL given;
- ``… (process)``: ``antin`` is the ``antin verify`` command, Python start-up included; beside it ``pdfsig``
  (poppler, an NSS database holding the root, OCSP off; it cannot verify document time-stamps) and
  ``pyhanko-cli`` (``pyhanko sign validate``, no revocation check).

Every answer is checked: the platform's verdict TOTAL_PASSED for every signature and time-stamp, the exit status
of the commands, pdfsig's "Signature is Valid." for every signature, pyHanko's bottom line.
CPU per operation is this process's for in-process rows, the child's for processes.
``python -m bench.verify_bench [--rounds 30] [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.rows import Run, add_arguments, row_from_samples

BENCH = "verify"
SIZES = {"100 KB": 100 * 1024, "1 MB": 1024 * 1024, "10 MB": 10 * 1024 * 1024}


def in_process(fn: Callable[[], bool], rounds: int) -> tuple[list[float], list[float], int]:
    """Wall and CPU seconds of ``rounds`` calls after one warm-up; the number of wrong answers."""
    wrong = int(not fn())  # warms caches (imports, fonts)
    wall, cpu = [], []
    for _ in range(rounds):
        start, cpu0 = time.perf_counter(), time.process_time()
        wrong += not fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu0)
    return wall, cpu, wrong


def as_process(
    argv: list[str], rounds: int, right: Callable[[subprocess.CompletedProcess[str]], bool], env: dict[str, str]
) -> tuple[list[float], list[float], int, int]:
    """Wall and CPU seconds of ``rounds`` runs, wrong answers, and the program's peak RSS (GNU time)."""
    wall, cpu, wrong = [], [], 0
    for _ in range(rounds):
        before = os.times()
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        wall.append(time.perf_counter() - start)
        after = os.times()
        cpu.append(after.children_user + after.children_system - before.children_user - before.children_system)
        wrong += not right(done)
    peak = 0
    if Path("/usr/bin/time").exists():  # the program's own peak, not this big process's pages
        out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, env=env, check=False)
        last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "0"
        peak = int(last) * 1024 if last.isdigit() else 0
    return wall, cpu, wrong, peak


def main(argv: list[str] | None = None) -> int:
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="verifications per in-process row (default 30)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    process_rounds = 1 if args.quick else max(3, rounds // 5)
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko_certvalidator import ValidationContext

    from signing.validation import Indication, verify_bytes
    from tests.signing.signed_pdfs import blank_pdf, make_pki, sign

    run = Run(BENCH, args.quick)
    work = Path(tempfile.mkdtemp(prefix="verify-bench-"))
    pki = make_pki(work)
    crl = pki.crl()
    policy = pki.trusted()
    root_pem = pki.root_pem_path
    nss = work / "nss"
    have_pdfsig = shutil.which("pdfsig") is not None and shutil.which("certutil") is not None
    if have_pdfsig:
        nss.mkdir()
        subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
        subprocess.run(
            ["certutil", "-A", "-d", f"sql:{nss}", "-n", "root", "-t", "CT,C,C", "-i", str(root_pem)],
            check=True,
            capture_output=True,
        )
    else:
        run.notes.append("pdfsig or certutil is not installed: no pdfsig rows")
    env = {**os.environ, "ANTIN_DATA_DIR": str(work / "var")}
    antin = shutil.which("antin") or str(Path(sys.executable).parent / "antin")
    pyhanko_cli = shutil.which("pyhanko") or str(Path(sys.executable).parent / "pyhanko")

    documents: dict[str, tuple[bytes, int]] = {}  # name: (pdf, signatures); the last one adds a document time-stamp
    for label, size in SIZES.items():
        if not args.quick or label == "1 MB":
            documents[f"1 signature {label}"] = (sign(pki, blank_pdf(padding=size), level="B-LT", crl=crl), 1)
    pdf = blank_pdf(padding=SIZES["1 MB"])
    for i in range(1, 6):
        pdf = sign(pki, pdf, field=f"ChuKy{i}", level="B-LTA" if i == 5 else "B-LT", crl=crl)
    documents["5 signatures + doc time-stamp 1 MB"] = (pdf, 5)

    for name, (data, signatures) in documents.items():
        path = work / f"{name.replace(' ', '-')}.pdf"
        path.write_bytes(data)
        timestamps = 1 if signatures == 5 else 0

        def antin_in_process(data: bytes = data, signatures: int = signatures, timestamps: int = timestamps) -> bool:
            report = verify_bytes(data, policy).as_dict()
            return (
                report["indication"] == Indication.TOTAL_PASSED.value
                and report["signature_count"] == signatures
                and report["timestamp_count"] == timestamps
                and all(s["indication"] == Indication.TOTAL_PASSED.value for s in report["signatures"])
            )

        def stock_api(data: bytes = data, signatures: int = signatures, timestamps: int = timestamps) -> bool:
            vc = ValidationContext(
                trust_roots=[asn1_x509.Certificate.load(pki.root_der)],
                crls=[asn1_crl.CertificateList.load(crl)],
                revocation_mode="hard-fail",
                allow_fetching=False,
            )
            reader = PdfFileReader(io.BytesIO(data), strict=False)
            found = reader.embedded_regular_signatures
            stamps = reader.embedded_timestamp_signatures
            ok = len(found) == signatures and len(stamps) == timestamps
            ok = ok and all(validate_pdf_signature(sig, vc).bottom_line for sig in found)
            return ok and all(validate_pdf_timestamp(ts, vc).valid for ts in stamps)

        operation = f"verify {name} (in-process)"
        wall, cpu, wrong = in_process(antin_in_process, rounds)
        run.add(row_from_samples(BENCH, operation, "antin", wall, cpu=cpu, checked=rounds + 1, wrong=wrong))
        wall, cpu, wrong = in_process(stock_api, rounds)
        run.add(row_from_samples(BENCH, operation, "pyhanko-api", wall, cpu=cpu, checked=rounds + 1, wrong=wrong))

        operation = f"verify {name} (process)"
        wall, cpu, wrong, peak = as_process(
            [antin, "verify", str(path), "--trust", str(root_pem)],
            process_rounds,
            lambda done: done.returncode == 0,
            env,
        )
        run.add(
            row_from_samples(
                BENCH, operation, "antin", wall, cpu=cpu, rss_bytes=peak, checked=process_rounds, wrong=wrong
            )
        )
        if have_pdfsig:
            pdfsig = ["pdfsig", "-nssdir", f"sql:{nss}", "-no-ocsp", str(path)]

            def pdfsig_right(done: subprocess.CompletedProcess[str], signatures: int = signatures) -> bool:
                return done.stdout.count("Signature is Valid.") == signatures  # its exit status says nothing

            wall, cpu, wrong, peak = as_process(pdfsig, process_rounds * 3, pdfsig_right, env)
            note = "does not verify document time-stamps" if timestamps else ""
            run.add(
                row_from_samples(
                    BENCH,
                    operation,
                    "pdfsig",
                    wall,
                    cpu=cpu,
                    rss_bytes=peak,
                    checked=process_rounds * 3,
                    wrong=wrong,
                    note=note,
                )
            )
        if Path(pyhanko_cli).exists():
            cli = [
                pyhanko_cli,
                "sign",
                "validate",
                "--trust",
                str(root_pem),
                "--trust-replace",
                "--no-strict-syntax",
                "--no-revocation-check",
                str(path),
            ]
            wall, cpu, wrong, peak = as_process(cli, process_rounds, lambda done: done.returncode == 0, env)
            run.add(
                row_from_samples(
                    BENCH,
                    operation,
                    "pyhanko-cli",
                    wall,
                    cpu=cpu,
                    rss_bytes=peak,
                    checked=process_rounds,
                    wrong=wrong,
                    note="no revocation check",
                )
            )
    shutil.rmtree(work, ignore_errors=True)
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
