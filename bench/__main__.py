"""Run every ``bench/*_bench.py`` (``make bench``) and write the results page and its chart.

    python -m bench                      # every bench, full length; docs/benchmarks.md and its chart regenerated
    python -m bench --quick              # a few seconds per bench (the page then says it was a quick run)
    python -m bench signing_bench verify_bench --no-docs
    python -m bench --render-only        # the page and chart again from the last results, nothing run

Each bench writes its rows (:mod:`bench.rows`) to ``bench/results/<bench>.json``; the page's generated section
(between the markers of :mod:`bench.page`) is replaced in place, the method above it is left alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.page import draw_chart, pairs, render_results, replace_results

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "benchmarks.md"
CHART = ROOT / "docs" / "benchmarks-ratios.png"
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    scripts = sorted(p.stem for p in Path(__file__).parent.glob("*_bench.py"))
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="*", help=f"only these (default: all of {', '.join(scripts)})")
    parser.add_argument("--quick", action="store_true", help="each bench in --quick mode")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md and its chart")
    parser.add_argument(
        "--render-only", action="store_true", help="run nothing: rewrite the page from the last bench/results/*.json"
    )
    args = parser.parse_args(argv)
    unknown = set(args.benches) - set(scripts)
    if unknown:
        parser.error(f"unknown benches {sorted(unknown)}; known: {', '.join(scripts)}")
    chosen = [s for s in scripts if not args.benches or s in args.benches]
    documents: list[dict[str, Any]] = []
    failed: list[str] = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    for script in chosen:
        out = RESULTS / f"{script}.json"
        if args.render_only:
            if out.exists():
                documents.append(json.loads(out.read_text(encoding="utf-8")))
            continue
        print(f"\n=== {script} ===", flush=True)
        out.unlink(missing_ok=True)
        command = [sys.executable, "-m", f"bench.{script}", "--json", str(out), *(["--quick"] if args.quick else [])]
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        if code != 0 or not out.exists():
            failed.append(script)
        if out.exists():
            documents.append(json.loads(out.read_text(encoding="utf-8")))
    # The page shows every bench's latest results, also those not run this time (each says when it ran).
    documents = [
        json.loads((RESULTS / f"{s}.json").read_text(encoding="utf-8"))
        for s in scripts
        if (RESULTS / f"{s}.json").exists()
    ]
    if not args.no_docs and documents:
        quick = any(d.get("quick") for d in documents)
        title = "Ấn Tín beside its peers" + (" (quick run)" if quick else "")
        draw_chart(pairs(documents), CHART, title)
        section = render_results(documents, CHART.name, failed)
        PAGE.write_text(replace_results(PAGE.read_text(encoding="utf-8"), section), encoding="utf-8")
        print(f"\nwrote {PAGE.relative_to(ROOT)} and {CHART.relative_to(ROOT)}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
