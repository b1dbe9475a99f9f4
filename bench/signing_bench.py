"""PAdES signing speed: Ấn Tín beside stock pyHanko, keys in SoftHSM2 (ECDSA P-256 for everyone).

B-B, B-T, B-LT and B-LTA signatures of 100 KB, 1 MB and 10 MB PDFs (``--quick``: 1 MB only, a few of each),
each configuration in a fresh process, and a batch of 20 documents signed with one authorisation:

- ``antin``: the platform's engine (``signing.pades.PadesEngine``): signer and session kept, signature space
  sized, time-stamps from the platform's TSA in-process, revocation data from its own OCSP responder and CRLs.
- ``pyhanko-lib``: stock pyHanko as a library: ``PKCS11Signer`` (session kept), ``PdfSigner`` defaults
  (size estimated by a dry run), time-stamps over HTTP from the same TSA, revocation data fetched over HTTP.
- ``pyhanko-cli``: ``pyhanko sign addsig … pkcs11 …``, one process per signature, as a script would call it.

- ``antin`` batch: ``SigningService.sign_batch`` (what ``POST /api/signing/batch`` runs once the caller's token
  is checked): 20 documents, each with its certificate lookup, signature record and audit entry; beside it
  ``pyhanko-lib`` signing the same 20 in a loop.

Prints the rows of :mod:`bench.rows` (p50, p99, rate = 1 / mean, CPU per signature, peak RSS); for the platform
also the peak Python heap during one signature (tracemalloc, in the note), which shows that large files are
streamed, not held in memory. Every configuration's last output is checked with stock pyHanko's validator: the
signature intact and trusted, a signature time-stamp from B-T, a DSS from B-LT, a document time-stamp at B-LTA.
Usage: ``python -m bench.signing_bench [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.rows import Run, add_arguments, row_from_samples
from directory.instance import use_directory

BENCH = "signing"
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
BATCH = 20
SIZES = {"100KB": 100_000, "1MB": 1_000_000, "10MB": 10_000_000}
# (antin, pyhanko-lib, pyhanko-cli) signatures per configuration
COUNTS = {
    ("B-B", "100KB"): (200, 40, 8),
    ("B-B", "1MB"): (200, 40, 8),
    ("B-B", "10MB"): (40, 15, 5),
    ("B-T", "100KB"): (100, 30, 8),
    ("B-T", "1MB"): (100, 30, 8),
    ("B-T", "10MB"): (30, 10, 5),
    ("B-LT", "100KB"): (40, 10, 5),
    ("B-LT", "1MB"): (40, 10, 5),
    ("B-LT", "10MB"): (15, 5, 3),
    ("B-LTA", "100KB"): (40, 10, 5),
    ("B-LTA", "1MB"): (40, 10, 5),
    ("B-LTA", "10MB"): (15, 5, 3),
}
TOKEN = "antin-bench"
PIN = "bench-pin-1234"


def settings_env(data_dir: Path, base_url: str) -> dict[str, str]:
    return {
        "ANTIN_DATA_DIR": str(data_dir),
        "ANTIN_ISSUER": base_url,
        "ANTIN_ENV": "test",
        "ANTIN_LOG_LEVEL": "ERROR",
        "ANTIN_HSM_TOKEN_LABEL": TOKEN,
        "ANTIN_HSM_PIN": PIN,
        "ANTIN_HSM_SO_PIN": PIN,
    }


def build_service(data_dir: Path, base_url: str, *, create: bool = True) -> Any:
    import signing.models  # noqa: F401
    from antin.kernel.database import Base
    from antin.kernel.instance import Instance
    from antin.migrate import upgrade
    from antin.settings import load_settings
    from directory.memory import InMemoryDirectory
    from directory.models import UnitKind, UnitRef
    from signing.service import signing_service

    instance = Instance(load_settings(settings_env(data_dir, base_url)))
    if create:  # workers find the tables made, and need not load Alembic
        upgrade(instance.database)
        Base.metadata.create_all(instance.database.engine)
    unit = UnitRef("ou=vp,dc=x", "VP", "Văn phòng Tỉnh ủy", UnitKind.DEPARTMENT)
    directory = InMemoryDirectory()
    directory.add("an", "x", full_name="Nguyễn Văn Ấn", position="Chánh Văn phòng", unit=unit, unit_path=(unit,))
    use_directory(instance, directory)
    return signing_service(instance)


@contextmanager
def serving(service: Any, port: int) -> Iterator[None]:
    from werkzeug.serving import make_server

    from antin.app import create_app

    app = create_app(instance=service.instance)  # registers the signing blueprints (PKI, OCSP, TSA) itself
    server = make_server("localhost", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()


def peak_rss() -> int:
    """This process's peak resident set since it started (VmHWM: unlike ru_maxrss, not inflated by the parent's
    pages between fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


# Runs pyHanko's command line unchanged and records its peak RSS where the bench reads it.
CLI_WRAPPER = (
    "import atexit, os, sys\n"
    "from bench.signing_bench import peak_rss\n"
    "atexit.register(lambda: open(os.environ['BENCH_RSS_FILE'], 'w').write(str(peak_rss())))\n"
    "from pyhanko.__main__ import launch\n"
    "sys.argv[0] = 'pyhanko'\n"
    "sys.exit(launch())\n"
)


def check_signed(path: Path, level: str, root_pem: Path, signatures: int = 1) -> bool:
    """Whether ``path`` holds ``signatures`` signatures, the last intact and trusted, with what ``level`` adds.

    Stock pyHanko's validator, not the platform's: a fast wrong signature must not count.
    """
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = x509.Certificate.load(pem.unarmor(root_pem.read_bytes())[2])
    with open(path, "rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        found = reader.embedded_regular_signatures
        if len(found) != signatures:
            return False
        context = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(found[-1], context)
        timestamped = status.timestamp_validity is not None and status.timestamp_validity.intact
        has_dss = "/DSS" in reader.root
        has_doc_timestamp = bool(reader.embedded_timestamp_signatures)
        return bool(
            status.bottom_line
            and timestamped == (level != "B-B")
            and has_dss == (level in ("B-LT", "B-LTA"))
            and has_doc_timestamp == (level == "B-LTA")
        )


def _quick() -> bool:
    return os.environ.get("BENCH_SIGNING_QUICK") == "1"  # ``--quick`` sets it, for the workers too


def measure(sign_once: Callable[[], Path], n: int, check: Callable[[Path], bool], warmup: int = 2) -> dict[str, Any]:
    quick = _quick()
    for _ in range(0 if quick and warmup == 1 else 1 if quick else warmup):
        sign_once()
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        last = sign_once()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    rss = peak_rss()
    if quick:  # no extra signature under tracemalloc: check the last measured one
        return {"wall": wall, "cpu": cpu, "heap_peak": None, "rss": rss, "checked": 1, "wrong": int(not check(last))}
    tracemalloc.start()
    last = sign_once()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"wall": wall, "cpu": cpu, "heap_peak": peak, "rss": rss, "checked": 1, "wrong": int(not check(last))}


# -- workers (one process per configuration) -------------------------------------------------------------------


def worker_antin(data_dir: Path, base_url: str, level: str, pdf: Path, n: int) -> dict[str, Any]:
    from signing.pades import PadesOptions, SignerMaterial

    service = build_service(data_dir, base_url, create=False)
    cert = service.ca.signing_certificate(uid="an")
    material = SignerMaterial(cert.key_label, cert.der, tuple(c.dump() for c in service.ca.chain_for(cert)))
    engine = service.engine
    out_path = data_dir / f"out-antin-{os.getpid()}.pdf"

    def once() -> Path:
        with open(pdf, "rb") as source, open(out_path, "w+b") as output:
            engine.sign(material, source, output, PadesOptions(level=level))  # type: ignore[arg-type]
        return out_path

    return measure(once, n, lambda path: check_signed(path, level, data_dir / "pki" / "root-ca.pem"))


def worker_antin_batch(data_dir: Path, base_url: str, level: str, pdf: Path, n: int) -> dict[str, Any]:
    """``n`` batches of BATCH documents through the service, as the batch API signs them for one token."""
    from signing.service import SignRequest

    service = build_service(data_dir, base_url, create=False)
    folder = data_dir / f"batch-{os.getpid()}"
    folder.mkdir()
    documents = [(pdf, folder / f"signed-{i:02d}.pdf") for i in range(BATCH)]

    def once() -> Path:
        outcomes = service.sign_batch(documents, SignRequest("an", level=level), actor="bench")  # type: ignore[arg-type]
        assert len(outcomes) == BATCH
        return folder

    def check(done: Path) -> bool:
        return all(check_signed(out, level, data_dir / "pki" / "root-ca.pem") for _, out in documents)

    return measure(once, n, check, warmup=1)


def worker_pyhanko(data_dir: Path, base_url: str, level: str, pdf: Path, n: int, batch: int = 1) -> dict[str, Any]:
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.pkcs11 import PKCS11Signer
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext

    from signing.hsm import find_softhsm_module

    os.environ["SOFTHSM2_CONF"] = str(data_dir / "softhsm" / "softhsm2.conf")
    import pkcs11

    label = (data_dir / "signer-label").read_text()
    session = pkcs11.lib(str(find_softhsm_module())).get_token(token_label=TOKEN).open(user_pin=PIN)
    signer = PKCS11Signer(session, key_label=label, cert_label=label, use_raw_mechanism=True, other_certs_to_pull=())
    pki = data_dir / "pki"
    root = x509.Certificate.load(pem.unarmor((pki / "root-ca.pem").read_bytes())[2])
    issuing = x509.Certificate.load(pem.unarmor((pki / "issuing-ca.pem").read_bytes())[2])
    signer.cert_registry.register_multiple([issuing, root])
    timestamper = HTTPTimeStamper(f"{base_url}/tsa") if level != "B-B" else None
    long_term = level in ("B-LT", "B-LTA")
    out_path = data_dir / f"out-pyhanko-{os.getpid()}.pdf"

    def sign_one() -> None:
        context = (
            ValidationContext(trust_roots=[root], other_certs=[issuing], allow_fetching=True) if long_term else None
        )
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1",
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=long_term,
            use_pades_lta=level == "B-LTA",
            validation_context=context,
        )
        with open(pdf, "rb") as source, open(out_path, "w+b") as output:
            signers.PdfSigner(meta, signer, timestamper=timestamper).sign_pdf(
                IncrementalPdfFileWriter(source), output=output
            )

    def once() -> Path:
        for _ in range(batch):
            sign_one()
        return out_path

    return measure(once, n, lambda path: check_signed(path, level, pki / "root-ca.pem"), warmup=1 if batch > 1 else 2)


WORKERS: dict[str, Callable[[Path, str, str, Path, int], dict[str, Any]]] = {
    "antin": worker_antin,
    "antin-batch": worker_antin_batch,
    "pyhanko": worker_pyhanko,
    "pyhanko-batch": lambda d, u, level, pdf, n: worker_pyhanko(d, u, level, pdf, n, batch=BATCH),
}


def run_worker(kind: str, data_dir: Path, base_url: str, level: str, pdf: Path, n: int) -> dict[str, Any]:
    args = [
        sys.executable,
        "-m",
        "bench.signing_bench",
        "--worker",
        kind,
        str(data_dir),
        base_url,
        level,
        str(pdf),
        str(n),
    ]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_cli(data_dir: Path, base_url: str, level: str, pdf: Path, n: int) -> dict[str, Any]:
    from signing.hsm import find_softhsm_module

    label = (data_dir / "signer-label").read_text()
    pki = data_dir / "pki"
    args = [sys.executable, "-c", CLI_WRAPPER, "sign", "addsig", "--field", "Signature1", "--use-pades"]
    if level != "B-B":
        args += ["--timestamp-url", f"{base_url}/tsa"]
    if level in ("B-LT", "B-LTA"):
        args += [
            *(["--use-pades-lta"] if level == "B-LTA" else []),
            "--with-validation-info",
            "--trust",
            str(pki / "root-ca.pem"),
            "--trust-replace",
            "--other-certs",
            str(pki / "issuing-ca.pem"),
        ]
    args += [
        "pkcs11",
        "--lib",
        str(find_softhsm_module()),
        "--token-label",
        TOKEN,
        "--cert-label",
        label,
        "--key-label",
        label,
        "--raw-mechanism",
        "--other-cert-file",
        str(pki / "issuing-ca.pem"),
    ]
    rss_file = data_dir / "cli-rss"
    env = {
        **os.environ,
        "SOFTHSM2_CONF": str(data_dir / "softhsm" / "softhsm2.conf"),
        "PYHANKO_PKCS11_PIN": PIN,
        "BENCH_RSS_FILE": str(rss_file),
    }
    wall, cpu, rss, checked, wrong = [], [], 0, 0, 0
    for i in range(1 if _quick() else 0, n + 1):
        out = data_dir / f"out-cli-{i}.pdf"
        before = os.times()
        t0 = time.perf_counter()
        proc = subprocess.run([*args, str(pdf), str(out)], env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - t0
        after = os.times()
        if proc.returncode != 0:
            raise RuntimeError(f"pyhanko CLI failed: {proc.stderr[-2000:]}")
        if i:  # the first run warms the page cache
            wall.append(elapsed)
            cpu.append(after.children_user + after.children_system - before.children_user - before.children_system)
            rss = max(rss, int(rss_file.read_text()))
        if i == n:
            checked, wrong = 1, int(not check_signed(out, level, pki / "root-ca.pem"))
        out.unlink()
    return {"wall": wall, "cpu": cpu, "heap_peak": None, "rss": rss, "checked": checked, "wrong": wrong}


# -- the table --------------------------------------------------------------------------------------------------


def add_row(run: Run, operation: str, side: str, result: dict[str, Any], per: int = 1) -> None:
    """A row of ``result``; ``per`` documents per measured operation (a batch) gives the rate in documents/s."""
    heap = result.get("heap_peak")
    note = f"peak Python heap {heap / 1e6:.1f} MB" if heap is not None else ""
    row = row_from_samples(
        BENCH,
        operation,
        side,
        result["wall"],
        cpu=result["cpu"],
        rss_bytes=result["rss"],
        checked=result["checked"],
        wrong=result["wrong"],
        note=note,
    )
    if per > 1 and row.rate is not None:
        cpu_per_doc = row.cpu_per_op / per if row.cpu_per_op is not None else None
        note = f"{per} documents per operation; rate and CPU per document. {note}".strip()
        row = type(row)(**{**row.__dict__, "rate": row.rate * per, "cpu_per_op": cpu_per_doc, "note": note})
    run.add(row)


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
    sizes = {"1MB": SIZES["1MB"]} if quick else SIZES
    with tempfile.TemporaryDirectory(prefix="antin-signing-bench-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        base_url = f"http://localhost:{port}"
        service = build_service(data_dir, base_url)
        service.ensure_pki()
        cert = service.issue_certificate("an", actor="bench")
        (data_dir / "signer-label").write_text(cert.key_label)
        pdfs = {}
        for name, size in sizes.items():
            pdfs[name] = data_dir / f"sample-{name}.pdf"
            pdfs[name].write_bytes(sample_pdf(pages=4, size=size, title=f"Bench {name}"))
        run.notes.append("PAdES signatures with ECDSA P-256 keys in SoftHSM2; the TSA and OCSP responder run locally")
        print(f"{run.notes[0]}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start", flush=True)
        with serving(service, port):
            for level in LEVELS:
                for size_name, pdf in pdfs.items():
                    n_antin, n_lib, n_cli = COUNTS[(level, size_name)]
                    if quick:
                        n_antin, n_lib, n_cli = 3, 2, 1
                    operation = f"sign {level} {size_name}"
                    add_row(run, operation, "antin", run_worker("antin", data_dir, base_url, level, pdf, n_antin))
                    add_row(run, operation, "pyhanko-lib", run_worker("pyhanko", data_dir, base_url, level, pdf, n_lib))
                    if not quick or level == "B-LTA":  # ~3 s per run: the quick run keeps the one with most options
                        add_row(run, operation, "pyhanko-cli", run_cli(data_dir, base_url, level, pdf, n_cli))
            pdf = pdfs["1MB"]
            batches = 1 if quick else 5
            operation = f"sign batch of {BATCH} B-T 1MB"
            add_row(run, operation, "antin", run_worker("antin-batch", data_dir, base_url, "B-T", pdf, batches), BATCH)
            add_row(
                run,
                operation,
                "pyhanko-lib",
                run_worker("pyhanko-batch", data_dir, base_url, "B-T", pdf, batches),
                BATCH,
            )
        service.instance.close()
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, data_dir, base_url, level, pdf, n = sys.argv[2:8]
        print(json.dumps(WORKERS[kind](Path(data_dir), base_url, level, Path(pdf), int(n))))
        sys.exit(0)
    sys.exit(main())
