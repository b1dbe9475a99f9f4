"""PAdES signing speed: Ấn Tín beside stock pyHanko, keys in SoftHSM2 (ECDSA P-256 for everyone).

B-B, B-T and B-LTA signatures of 100 KB, 1 MB and 10 MB PDFs, each configuration in a fresh process:

- ``antin``: the platform's engine (``signing.pades.PadesEngine``): signer and session kept, signature space
  sized, time-stamps from the platform's TSA in-process, revocation data from its own OCSP responder and CRLs.
- ``pyhanko-lib``: stock pyHanko as a library: ``PKCS11Signer`` (session kept), ``PdfSigner`` defaults
  (size estimated by a dry run), time-stamps over HTTP from the same TSA, revocation data fetched over HTTP.
- ``pyhanko-cli``: ``pyhanko sign addsig … pkcs11 …``, one process per signature, as a script would call it.

Prints p50 and p99 wall time, CPU time per signature, signatures per second (1 / p50) and the process's peak RSS;
for the platform also the peak Python heap during one signature (tracemalloc), which shows that large files are
streamed, not held in memory. Usage: ``python -m bench.signing_bench [--quick]``.
"""

from __future__ import annotations

import json
import os
import statistics
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

LEVELS = ("B-B", "B-T", "B-LTA")
SIZES = {"100KB": 100_000, "1MB": 1_000_000, "10MB": 10_000_000}
# (antin, pyhanko-lib, pyhanko-cli) signatures per configuration
COUNTS = {
    ("B-B", "100KB"): (200, 40, 8),
    ("B-B", "1MB"): (200, 40, 8),
    ("B-B", "10MB"): (40, 15, 5),
    ("B-T", "100KB"): (100, 30, 8),
    ("B-T", "1MB"): (100, 30, 8),
    ("B-T", "10MB"): (30, 10, 5),
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
    from antin.migrate import upgrade
    from directory.memory import InMemoryDirectory
    from directory.models import UnitKind, UnitRef
    from idp.database import Base
    from idp.instance import Instance
    from idp.settings import load_settings
    from signing.service import signing_service

    instance = Instance(load_settings(settings_env(data_dir, base_url)))
    if create:  # workers find the tables made, and need not load Alembic
        upgrade(instance.database)
        Base.metadata.create_all(instance.database.engine)
    unit = UnitRef("ou=vp,dc=x", "VP", "Văn phòng Tỉnh ủy", UnitKind.DEPARTMENT)
    directory = InMemoryDirectory()
    directory.add("an", "x", full_name="Nguyễn Văn Ấn", position="Chánh Văn phòng", unit=unit, unit_path=(unit,))
    instance.__dict__["directory"] = directory
    return signing_service(instance)


@contextmanager
def serving(service: Any, port: int) -> Iterator[None]:
    from werkzeug.serving import make_server

    import signing
    from antin.app import create_app

    app = create_app(instance=service.instance)
    signing.init_app(app, service.instance)
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(sign_once: Callable[[], None], n: int, warmup: int = 3) -> dict[str, Any]:
    for _ in range(warmup):
        sign_once()
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        sign_once()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    tracemalloc.start()
    sign_once()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"wall": wall, "cpu": cpu, "heap_peak": peak, "rss": peak_rss()}


# -- workers (one process per configuration) -------------------------------------------------------------------


def worker_antin(data_dir: Path, base_url: str, level: str, pdf: Path, n: int) -> dict[str, Any]:
    from signing.pades import PadesOptions, SignerMaterial

    service = build_service(data_dir, base_url, create=False)
    cert = service.ca.signing_certificate(uid="an")
    material = SignerMaterial(cert.key_label, cert.der, tuple(c.dump() for c in service.ca.chain_for(cert)))
    engine = service.engine
    out_path = data_dir / f"out-antin-{os.getpid()}.pdf"

    def once() -> None:
        with open(pdf, "rb") as source, open(out_path, "w+b") as output:
            engine.sign(material, source, output, PadesOptions(level=level))  # type: ignore[arg-type]

    return measure(once, n)


def worker_pyhanko(data_dir: Path, base_url: str, level: str, pdf: Path, n: int) -> dict[str, Any]:
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
    out_path = data_dir / f"out-pyhanko-{os.getpid()}.pdf"

    def once() -> None:
        context = (
            ValidationContext(trust_roots=[root], other_certs=[issuing], allow_fetching=True)
            if level == "B-LTA"
            else None
        )
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1",
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=level == "B-LTA",
            use_pades_lta=level == "B-LTA",
            validation_context=context,
        )
        with open(pdf, "rb") as source, open(out_path, "w+b") as output:
            signers.PdfSigner(meta, signer, timestamper=timestamper).sign_pdf(
                IncrementalPdfFileWriter(source), output=output
            )

    return measure(once, n)


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
    if level == "B-LTA":
        args += [
            "--use-pades-lta",
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
    wall, rss = [], 0
    for i in range(n + 1):
        out = data_dir / f"out-cli-{i}.pdf"
        t0 = time.perf_counter()
        proc = subprocess.run([*args, str(pdf), str(out)], env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"pyhanko CLI failed: {proc.stderr[-2000:]}")
        if i:  # the first run warms the page cache
            wall.append(elapsed)
            rss = max(rss, int(rss_file.read_text()))
        out.unlink()
    return {"wall": wall, "cpu": [], "heap_peak": None, "rss": rss}


# -- the table --------------------------------------------------------------------------------------------------


def row(label: str, result: dict[str, Any]) -> str:
    wall = result["wall"]
    p50, p99 = percentile(wall, 0.5), percentile(wall, 0.99)
    cpu = f"{statistics.median(result['cpu']) * 1000:7.1f}" if result["cpu"] else "      -"
    heap = f"{result['heap_peak'] / 1e6:6.1f}" if result.get("heap_peak") is not None else "     -"
    return (
        f"  {label:12} {p50 * 1000:8.1f} {p99 * 1000:8.1f} {cpu} {1 / p50:8.1f} {result['rss'] / 1e6:7.0f} {heap}"
        f"   (n={len(wall)})"
    )


def main(quick: bool) -> int:
    from signing.samples import sample_pdf
    from tests.components import free_port

    with tempfile.TemporaryDirectory(prefix="antin-signing-bench-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        base_url = f"http://localhost:{port}"
        service = build_service(data_dir, base_url)
        service.ensure_pki()
        cert = service.issue_certificate("an", actor="bench")
        (data_dir / "signer-label").write_text(cert.key_label)
        pdfs = {}
        for name, size in SIZES.items():
            pdfs[name] = data_dir / f"sample-{name}.pdf"
            pdfs[name].write_bytes(sample_pdf(pages=4, size=size, title=f"Bench {name}"))
        load = os.getloadavg()[0]
        print(f"PAdES signing, ECDSA P-256 keys in SoftHSM2; {os.cpu_count()} CPUs, load average {load:.1f} at start")
        print("  (wall-clock figures include waiting for the CPU when other work runs on the machine)")
        print(f"  {'':12} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms':>7} {'sig/s':>8} {'RSS MB':>7} {'heap MB':>6}")
        with serving(service, port):
            for level in LEVELS:
                for size_name, pdf in pdfs.items():
                    n_antin, n_lib, n_cli = COUNTS[(level, size_name)]
                    if quick:
                        n_antin, n_lib, n_cli = max(5, n_antin // 10), max(3, n_lib // 5), 2
                    print(f"{level} {size_name} ({pdf.stat().st_size / 1e6:.2f} MB)", flush=True)
                    print(row("antin", run_worker("antin", data_dir, base_url, level, pdf, n_antin)), flush=True)
                    print(row("pyhanko-lib", run_worker("pyhanko", data_dir, base_url, level, pdf, n_lib)), flush=True)
                    print(row("pyhanko-cli", run_cli(data_dir, base_url, level, pdf, n_cli)), flush=True)
        service.instance.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, data_dir, base_url, level, pdf, n = sys.argv[2:8]
        worker = worker_antin if kind == "antin" else worker_pyhanko
        print(json.dumps(worker(Path(data_dir), base_url, level, Path(pdf), int(n))))
        sys.exit(0)
    sys.exit(main("--quick" in sys.argv))
