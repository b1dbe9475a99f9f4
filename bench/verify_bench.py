"""Verification of a one-signature PDF (100 KB, 1 MB, 10 MB), ours beside pdfsig and stock pyHanko.

Rows:
- ``antin (in-process)``: :func:`signing.validation.verify_bytes` as the API and the page run it, with the
  EN 319 102-1 processes, hard-fail revocation and the change analysis (the documents are B-LT: a DSS revision
  follows the signature, so the revision snapshots run every time);
- ``antin verify (process)``: the command line, Python start-up included;
- ``pdfsig (process)``: poppler's verifier with an NSS database holding the root, OCSP off;
- ``pyHanko API (in-process)``: stock ``validate_pdf_signature`` with hard-fail and the CRL given;
- ``pyhanko sign validate (process)``: the stock pyHanko command line.

Prints p50, p99, verifications per second (1 / mean) and peak memory (Python allocations for in-process rows,
maximum resident set size for processes). ``python -m bench.verify_bench [ROUNDS]``.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

SIZES = {"100 KB": 100 * 1024, "1 MB": 1024 * 1024, "10 MB": 10 * 1024 * 1024}


def _stats(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return p50 * 1000, p99 * 1000, 1 / statistics.fmean(ordered)


def _in_process(fn: Callable[[], object], rounds: int) -> tuple[list[float], int]:
    fn()  # warm caches (imports, fonts)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return samples, peak


def _process(argv: list[str], rounds: int, env: dict[str, str] | None = None) -> tuple[list[float], int]:
    samples = []
    peak = 0
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        samples.append(time.perf_counter() - start)
    # GNU time reports the program's own peak (rusage of a fork from this big process would count our pages).
    if Path("/usr/bin/time").exists():
        out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, env=env, check=False)
        last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "0"
        peak = int(last) * 1024 if last.isdigit() else 0
    return samples, peak


def main() -> int:
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", nargs="?", type=int, default=30, help="verifications per row (default 30)")
    rounds = parser.parse_args().rounds
    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo / "tests" / "signing"))
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from conftest_verify import blank_pdf, make_pki, sign  # type: ignore[import-not-found]
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from signing.validation import Indication, verify_bytes

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
    env = {**os.environ, "ANTIN_DATA_DIR": str(work / "var")}
    antin = shutil.which("antin") or str(Path(sys.executable).parent / "antin")
    pyhanko_cli = shutil.which("pyhanko") or str(Path(sys.executable).parent / "pyhanko")

    print(f"rounds per row: {rounds}; machine: {os.cpu_count()} cores")
    print(f"{'size':>7} {'verifier':<32} {'p50 ms':>9} {'p99 ms':>9} {'per s':>8} {'peak MB':>9}  verdict")
    for label, size in SIZES.items():
        pdf = sign(pki, blank_pdf(padding=size), level="B-LT", crl=crl)
        path = work / f"doc-{label.replace(' ', '')}.pdf"
        path.write_bytes(pdf)
        report = verify_bytes(pdf, policy)
        assert report.indication is Indication.TOTAL_PASSED, report.as_dict()

        def stock_api(data: bytes = pdf) -> None:
            vc = ValidationContext(
                trust_roots=[asn1_x509.Certificate.load(pki.root_der)],
                crls=[asn1_crl.CertificateList.load(crl)],
                revocation_mode="hard-fail",
                allow_fetching=False,
            )
            sig = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0]
            status = validate_pdf_signature(sig, vc)
            assert status.bottom_line

        rows: list[tuple[str, list[float], int, str]] = []
        samples, peak = _in_process(lambda data=pdf: verify_bytes(data, policy), rounds)
        rows.append(("antin (in-process)", samples, peak, report.indication.value))
        samples, peak = _process([antin, "verify", str(path), "--trust", str(root_pem)], max(3, rounds // 5), env)
        rows.append(("antin verify (process)", samples, peak, ""))
        if have_pdfsig:
            out = subprocess.run(
                ["pdfsig", "-nssdir", f"sql:{nss}", "-no-ocsp", str(path)], capture_output=True, text=True, check=False
            ).stdout
            verdict = "valid" if "Signature is Valid." in out else "?"
            samples, peak = _process(["pdfsig", "-nssdir", f"sql:{nss}", "-no-ocsp", str(path)], rounds)
            rows.append(("pdfsig (process)", samples, peak, verdict))
        samples, peak = _in_process(stock_api, rounds)
        rows.append(("pyHanko API (in-process)", samples, peak, "valid"))
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
        if Path(pyhanko_cli).exists():
            samples, peak = _process(cli, max(3, rounds // 5))
            rows.append(("pyhanko sign validate (process)", samples, peak, "no revocation"))
        for name, samples, peak, verdict in rows:
            p50, p99, rate = _stats(samples)
            print(f"{label:>7} {name:<32} {p50:9.1f} {p99:9.1f} {rate:8.1f} {peak / 1e6:9.1f}  {verdict}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
