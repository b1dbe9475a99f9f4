"""The fuzzing process: ``python -m tests.fuzz.worker TARGET WORKDIR [libFuzzer arguments…]``.

Run by :mod:`tests.fuzz.runner` (libFuzzer ends the process when it is done). The target's packages are
instrumented as they are imported, which happens while the harness is built and while it reads a few seeds
once (pyHanko, authlib and others import parts of themselves on first use).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import atheris  # type: ignore[import-untyped]

from tests.fuzz.targets import CORPUS, load_target


def main() -> None:
    name, workdir, *libfuzzer_args = sys.argv[1:]
    # every refused input would be logged: keep errors only (a 5xx is caught from its status, not from the log)
    logging.disable(logging.WARNING)
    target = load_target(name)
    with atheris.instrument_imports(include=list(target.INSTRUMENT)):
        harness = target.make_harness(Path(workdir))
        for seed in sorted((CORPUS / name).glob("seed-*"), key=lambda p: p.stat().st_size)[:3]:
            harness(seed.read_bytes())
    atheris.Setup([sys.argv[0], *libfuzzer_args], harness)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
