"""Peak memory of the public verification page: the corpus files and generated decompression bombs.

    python -m bench.verify_memory_bench [--quick] [--json FILE] [--corpus DIR] [--only NAME,...] [--big]

Each input is verified in a fresh process, through the real route (``POST /verify``, the browser form, as a
multipart body streamed from a file on disk like a WSGI server hands it over), and the process reports its
resident-set high-water mark (``VmHWM``, the row's ``rss``) before and after the request, the request's wall and
CPU time (``p50``/``p99`` and ``cpu_per_op`` of a single request; ``rate`` is 1 / its time), the answer's status
and the verdicts or the refusal reason. ``--big`` adds the 48 MB bomb (near the largest upload the default
settings accept); ``--quick`` verifies only the worst corpus file, the 1,000-stream bomb and the object-stream bomb.

Every answer is checked: a bomb in the document security store (CRL streams inflating to megabytes or gigabytes)
must get its report, with the store read only within the verifier's limits (an unsigned bomb: 200, no signature);
the object-stream bomb (16 signature fields each alone in an object stream inflating to 4 MB, which the verifier
must decode to find the signatures) must be refused with 422 ``decode-limit``; the worst corpus file
(``pades-multiple-pages-annots-overlap.pdf``, three signatures and annotations added after them, signed under
roots this instance does not trust) must get its report: INDETERMINATE, a verdict for each of its three
signatures, none TOTAL_PASSED, and the changes made after the earlier ones listed; every other corpus file a
report or a clear refusal as the corpus's manifest says (the malformed ones are refused), never a refusal for
its size, and an attack, weak or malformed file never TOTAL_PASSED. Each bomb is also verified by the same
route with the decode budget at pyHanko's own default size (``max(256 MiB, 100 × file size)``, side
``pyhanko-default-budget``): the "before" figure, whose answer must be one of the two it gave before the fix, 422
``decode-limit`` or a 200 page that found no signature (the DSS dropped), never a crash.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.rows import Row, Run, add_arguments, percentile

BENCH = "verify-memory"
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "pdf-signatures"  # the copy kept with the code
WORST = "pades-multiple-pages-annots-overlap.pdf"
MiB = 1024 * 1024
BEFORE = "pyhanko-default-budget"

_CHILD = r"""
import json, os, re, sys, tempfile, time
from pathlib import Path


def high_water_kib():
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork and exec
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


pdf = Path(sys.argv[1])
if sys.argv[2] == "pyhanko-default-budget":
    # the "before": one budget of pyHanko's default size for the document (pyHanko itself gives each reader
    # and revision a fresh one, so the real "before" decoded more still)
    from pyhanko.pdf_utils.decode_limits import DocumentDecodeBudget
    from signing.pades.decode_budget import DocumentBudget

    def pyhanko_size(cls, size):
        total = DocumentDecodeBudget().total(size)
        return cls(total=total, remaining=total)

    DocumentBudget.for_size = classmethod(pyhanko_size)
from antin.app import create_app
from antin.migrate import upgrade
from antin.kernel.instance import Instance
from antin.settings import load_settings

folder = tempfile.mkdtemp()
instance = Instance(load_settings({"ANTIN_DATA_DIR": folder, "ANTIN_LOG_LEVEL": "ERROR"}))
upgrade(instance.database)
app = create_app(instance=instance)
client = app.test_client()
token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/verify").text).group(1)
boundary = "antin-bench-boundary"
head = (
    f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
    f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{pdf.name}\"\r\n"
    "Content-Type: application/pdf\r\n\r\n"
).encode()
tail = f"\r\n--{boundary}--\r\n".encode()
body = Path(tempfile.mkdtemp()) / "body"
with open(body, "wb") as out, open(pdf, "rb") as src:
    out.write(head)
    while chunk := src.read(1 << 20):
        out.write(chunk)
    out.write(tail)
before = high_water_kib()
cpu0, wall0 = time.process_time(), time.perf_counter()
with open(body, "rb") as stream:
    response = client.post(
        "/verify",
        input_stream=stream,
        content_length=body.stat().st_size,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
after = high_water_kib()
text = response.get_data(as_text=True)
print(json.dumps({
    "status": response.status_code,
    "verdict": re.findall(r'class="verdict [^"]*" data-indication="([^"]+)"', text),
    "indications": re.findall(r'<article class="signature" data-indication="([^"]+)"', text),
    "changes": len(re.findall(r'<li class="sev-', text)),
    "reasons": re.findall(r'data-reason="([^"]+)"', text),
    "before_kib": before,
    "after_kib": after,
    "wall": wall,
    "cpu": cpu,
}))
"""


def measure(pdf: Path, side: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(pdf), side], capture_output=True, text=True, check=False, cwd=root
    )
    if done.returncode != 0:
        print(f"  {pdf.name} ({side}): exit {done.returncode}", file=sys.stderr, flush=True)
        return {"status": f"exit {done.returncode}", "error": done.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    answer = ",".join([*result["verdict"], *result["reasons"]])
    print(
        f"  {pdf.name} ({side}): {result['status']} {answer}, peak RSS {result['after_kib'] / 1024:,.0f} MiB",
        file=sys.stderr,
        flush=True,
    )
    return result


def refused_as_bomb(result: dict[str, Any]) -> bool:
    return bool(result.get("status") == 422 and result.get("reasons") == ["decode-limit"])


def store_bounded(result: dict[str, Any]) -> bool:
    """An unsigned bomb in the document security store, read within the verifier's limits: its report."""
    return bool(result.get("status") == 200 and result.get("verdict") == ["NO_SIGNATURE"])


def stopped_somehow(result: dict[str, Any]) -> bool:
    """The "before" answers a bomb got: refused, or a page that found no signature (its DSS dropped), no crash."""
    return refused_as_bomb(result) or (result.get("status") == 200 and result.get("verdict") == ["NO_SIGNATURE"])


def worst_verdict(result: dict[str, Any]) -> bool:
    """Its manifest's "changes after the earlier signatures reported"; its roots are not this instance's."""
    indications = result.get("indications", [])
    return bool(
        result.get("status") == 200
        and result.get("verdict") == ["INDETERMINATE"]
        and len(indications) == 3
        and "TOTAL_PASSED" not in indications
        and result.get("changes", 0) > 0
    )


def clear_answer(kind: str) -> Callable[[dict[str, Any]], bool]:
    """A corpus file of this manifest class gets a report or a clear refusal (never for its size, never a 500);
    an attack, a weak or a malformed file never TOTAL_PASSED."""

    def right(result: dict[str, Any]) -> bool:
        report = result.get("status") == 200 and len(result.get("verdict", [])) == 1
        refusal = result.get("status") == 422 and len(result.get("reasons", [])) == 1
        if not (report or refusal) or "decode-limit" in result.get("reasons", []):
            return False
        return kind in ("clean", "benign-change") or "TOTAL_PASSED" not in result.get("verdict", [])

    return right


def manifest_classes(corpus: Path) -> dict[str, str]:
    """The corpus's manifest: each file's class (clean, benign-change, attack, weak, malformed)."""
    manifest = corpus / "MANIFEST.tsv"
    if not manifest.is_file():
        return {}
    with manifest.open(encoding="utf-8") as fh:
        return {str(corpus / r["file"]): r["class"] for r in csv.DictReader(fh, delimiter="\t")}


@dataclass(frozen=True)
class Plan:
    """One row to measure: its inputs, each verified once in its own process, and what a right answer is."""

    operation: str
    side: str
    inputs: list[Path]
    right: dict[Path, Callable[[dict[str, Any]], bool]]
    note: str


def row_of(plan: Plan, results: dict[tuple[Path, str], dict[str, Any]]) -> tuple[Row, list[str]]:
    """The row of ``plan`` from its inputs' results: p50/p99 over its requests, peak RSS the highest."""
    operation, side, inputs, right, note = plan.operation, plan.side, plan.inputs, plan.right, plan.note
    wall: list[float] = []
    cpu: list[float] = []
    peaks: list[float] = []
    growth: list[float] = []
    wrong: list[str] = []
    for pdf in inputs:
        result = results[pdf, side]
        if "wall" in result:
            wall.append(float(result["wall"]))
            cpu.append(float(result["cpu"]))
            peaks.append(int(result["after_kib"]) * 1024 / 1e6)
            growth.append((int(result["after_kib"]) - int(result["before_kib"])) * 1024 / 1e6)
        if not right[pdf](result):
            answer = result.get("error") or (result.get("indications", []) + result.get("reasons", []))
            wrong.append(f"{pdf.name} ({side}): {result.get('status')} {answer}")
    mean = sum(wall) / len(wall) if wall else math.nan
    observed = ""
    if len(inputs) == 1:
        answer = results[inputs[0], side]
        observed = f"; got {answer.get('status')} {','.join([*answer.get('verdict', []), *answer.get('reasons', [])])}"
    row = Row(
        BENCH,
        operation,
        side,
        p50=percentile(wall, 0.5) * 1000 if wall else None,
        p99=percentile(wall, 0.99) * 1000 if wall else None,
        rate=1 / mean if wall and mean > 0 else None,
        cpu_per_op=sum(cpu) / len(cpu) * 1000 if cpu else None,
        rss=max(peaks) if peaks else None,
        n=len(inputs),
        checked=len(inputs),
        wrong=len(wrong),
        note=f"{note}{observed}; grew by {max(growth):,.0f} MB during the request" if growth else note,
    )
    return row, wrong


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.signing.bombs import crl_bomb_pdf, object_stream_bomb_pdf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", default="", help="only the inputs whose name or operation contains one of these")
    parser.add_argument("--big", action="store_true", help="add the 48 MB bomb (12,000 streams)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    corpus = sorted(args.corpus.rglob("*.pdf"))
    if not corpus:
        parser.error(f"no PDF in {args.corpus}")
    worst = [p for p in corpus if p.name == WORST]
    others = [p for p in corpus if p.name != WORST]
    classes = manifest_classes(args.corpus)
    scratch = Path(tempfile.mkdtemp(prefix="antin-bench-"))
    bombs: dict[str, tuple[int, int]] = {"1,000 CRL streams → 4 MB each (4 MB file)": (1000, 4_000_000)}
    if not args.quick:
        # building the 4 GiB stream alone takes about 20 s of zlib
        bombs = {
            "1 CRL stream → 4 GiB (4 MB file)": (1, 4096 * MiB),
            **bombs,
            "3,000 CRL streams → 4 MB each (12 MB file)": (3000, 4_000_000),
        }
    if args.big:
        bombs["12,000 CRL streams → 4 MB each (48 MB file)"] = (12_000, 4_000_000)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]

    def chosen(name: str) -> bool:
        return not wanted or any(w in name for w in wanted)

    plans: list[Plan] = []
    if worst and chosen(f"verify worst corpus file ({WORST})"):
        plans.append(
            Plan(
                f"worst corpus file ({worst[0].stat().st_size / 1e6:.1f} MB)",
                "antin",
                worst,
                {worst[0]: worst_verdict},
                f"{WORST}: INDETERMINATE, 3 signatures none TOTAL_PASSED, changes after signing reported",
            )
        )
    if others and not args.quick and chosen("other corpus files"):
        plans.append(
            Plan(
                f"other corpus files ({len(others)})",
                "antin",
                others,
                {p: clear_answer(classes.get(str(p), "unknown")) for p in others},
                "each a report or a clear refusal as its manifest says, never for its size, an attack never"
                " TOTAL_PASSED; p50/p99 over the files, RSS the highest",
            )
        )
    for label, (count, each) in bombs.items():
        operation = f"bomb: {label}"
        if not chosen(operation):
            continue
        path = scratch / f"bomb-{count}x{each}.pdf"
        path.write_bytes(crl_bomb_pdf(count, each))
        note = "must be 200, no signature: the store read within the verifier's limits"
        plans.append(Plan(operation, "antin", [path], {path: store_bounded}, note))
        before_note = "the same route with the budget at pyHanko's default size; 422 or a page with no signature"
        plans.append(Plan(operation, BEFORE, [path], {path: stopped_somehow}, before_note))
    operation = "bomb: 16 object streams → 4 MB each (64 KB file)"
    if chosen(operation):
        path = scratch / "object-stream-bomb.pdf"
        path.write_bytes(object_stream_bomb_pdf(16, 4 * MiB))
        plans.append(Plan(operation, "antin", [path], {path: refused_as_bomb}, "must be 422 decode-limit"))
        before_note = "the same route with the budget at pyHanko's default size; 422 or a page with no signature"
        plans.append(Plan(operation, BEFORE, [path], {path: stopped_somehow}, before_note))
    jobs = [(pdf, plan.side) for plan in plans for pdf in plan.inputs]
    # --quick: two processes at a time (each measures its own memory; its times are not for quoting anyway)
    with ThreadPoolExecutor(2 if args.quick else 1) as pool:
        results = dict(zip(jobs, pool.map(lambda job: measure(*job), jobs), strict=True))
    shutil.rmtree(scratch, ignore_errors=True)
    run = Run(BENCH, args.quick)
    failures: list[str] = []
    for plan in plans:
        row, wrong = row_of(plan, results)
        run.add(row)
        failures += wrong
    for failure in failures:
        print(f"WRONG: {failure}", file=sys.stderr)
    run.notes.append(
        "each input in a fresh process through POST /verify; RSS is the process's VmHWM after the request, "
        "about 140 MB of it the loaded app; pyhanko-default-budget is the 'before' (the ratio compares speed, "
        "the RSS columns the memory)"
    )
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
