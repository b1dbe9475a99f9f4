"""Target ``selftest``: a harness that crashes on a byte 0xFF and hangs on a "z", so that a test can show the
runner reports both (a fuzzing test that cannot fail would prove nothing)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.fuzz.targets import Harness

INSTRUMENT = ("tests.fuzz.targets.selftest",)
TIMEOUT_SECONDS = 1


def make_harness(workdir: Path) -> Harness:
    mode = (workdir / "mode").read_text() if (workdir / "mode").exists() else "crash"

    def planted_fault(data: bytes) -> None:
        if mode == "crash" and b"\xff" in data:
            raise RuntimeError("planted crash")
        if mode == "hang" and b"z" in data:
            time.sleep(30)

    return planted_fault
