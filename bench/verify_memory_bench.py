"""Peak memory of the public verification page: every corpus file and generated decompression bombs.

    python -m bench.verify_memory_bench [--corpus DIR] [--only NAME,...] [--big]

Each input is verified in a fresh process, through the real route (``POST /verify``, the browser form, as a
multipart body streamed from a file on disk like a WSGI server hands it over), and the process reports its
resident-set high-water mark (``VmHWM``) before and after the request, the answer's status and the verdict or
refusal reason. ``--big`` adds the 48 MB bomb (near the largest upload the default settings accept).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CORPUS = Path("/work/shared/corpus/pdf-signatures")
MiB = 1024 * 1024

_CHILD = r"""
import json, re, sys, tempfile
from pathlib import Path


def high_water_kib():
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's peak across fork and exec
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


pdf = Path(sys.argv[1])
from antin.app import create_app
from antin.migrate import upgrade
from idp.instance import Instance
from idp.settings import load_settings

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
with open(body, "rb") as stream:
    response = client.post(
        "/verify",
        input_stream=stream,
        content_length=body.stat().st_size,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
after = high_water_kib()
text = response.get_data(as_text=True)
answer = re.findall(r'data-(?:indication|reason)="([^"]+)"', text)
print(json.dumps({"status": response.status_code, "answer": sorted(set(answer)), "before": before, "after": after}))
"""


def measure(pdf: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(pdf)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"status": f"exit {done.returncode}", "answer": [done.stderr.strip().splitlines()[-1:]], "after": 0}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.signing.bombs import crl_bomb_pdf

    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", default="")
    parser.add_argument("--big", action="store_true")
    args = parser.parse_args()
    inputs = sorted(args.corpus.rglob("*.pdf"))
    scratch = Path(tempfile.mkdtemp())
    bombs: dict[str, tuple[int, int]] = {
        "bomb: 1 CRL stream → 4 GiB (4 MB file)": (1, 4096 * MiB),
        "bomb: 1,000 CRL streams → 4 MB each (4 MB file)": (1000, 4_000_000),
        "bomb: 3,000 CRL streams → 4 MB each (12 MB file)": (3000, 4_000_000),
    }
    if args.big:
        bombs["bomb: 12,000 CRL streams → 4 MB each (48 MB file)"] = (12_000, 4_000_000)
    for count, each in bombs.values():
        path = scratch / f"bomb-{count}x{each // MiB}MiB.pdf"
        path.write_bytes(crl_bomb_pdf(count, each))
        inputs.append(path)
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    print(f"{'input':58} {'size':>10} {'status':>6} {'peak RSS MiB':>12} {'Δ MiB':>7}  answer")
    for pdf in inputs:
        if wanted and not any(w in pdf.name for w in wanted):
            continue
        result = measure(pdf)
        answer = result.get("answer")
        answer = answer if isinstance(answer, list) else []
        after = int(str(result.get("after", 0))) / 1024
        before = int(str(result.get("before", 0))) / 1024
        print(
            f"{pdf.name[:58]:58} {pdf.stat().st_size:>10} {result['status']!s:>6} {after:>12.0f} "
            f"{after - before:>7.0f}  {','.join(str(a) for a in answer)}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
