"""``python -m tests.fuzz`` (and ``scripts/fuzz.py``): run a target's fuzzer and print what it found."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.fuzz.runner import replay, run_fuzzer
from tests.fuzz.targets import TARGETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("targets", nargs="+", choices=[*TARGETS, "all"], help="what to fuzz (one at a time)")
    parser.add_argument("--runs", type=int, help="stop after this many inputs")
    parser.add_argument("--seconds", type=int, help="stop after this long (per target)")
    parser.add_argument(
        "--workdir", type=Path, help="keep the learned corpus and crash inputs here (default: a temp dir)"
    )
    parser.add_argument("--replay", type=Path, nargs="*", help="run these inputs through the harness, without atheris")
    parser.add_argument("-v", "--verbose", action="store_true", help="show libFuzzer's log")
    args = parser.parse_args(argv)
    targets = list(TARGETS) if "all" in args.targets else args.targets
    if args.replay:
        with tempfile.TemporaryDirectory() as tmp:
            replay(targets[0], args.replay, Path(tmp))
        print(f"{targets[0]}: {len(args.replay)} input(s) replayed, no crash")
        return 0
    if args.runs is None and args.seconds is None:
        parser.error("give --runs or --seconds")
    failed = False
    for target in targets:  # one fuzzer at a time: the machine is shared
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as tmp:
            workdir = args.workdir / target if args.workdir else Path(tmp)
            result = run_fuzzer(target, workdir, runs=args.runs, seconds=args.seconds, echo=args.verbose)
            print(result.summary(), flush=True)
            if result.found or result.artifacts:
                failed = True
                if not args.verbose:
                    print(result.log[-4000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
