"""A short fuzzing run of each target (``make test``): each harness fuzzes from the committed seeds for a few
seconds in its own process; a crash, a hang or a 5xx fails the test with the input that caused it.

The long runs are ``scripts/fuzz.py`` (figures in docs/security.md, "Fuzzing"). Without atheris these tests skip
on a developer's machine and fail in CI (``CI=true``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.components import missing_component
from tests.fuzz.runner import atheris_available, run_fuzzer
from tests.fuzz.targets import TARGETS

# about a minute in all; the PDF verifier is the slowest per input and gets the most
SECONDS = {"pdf": 16, "oauth": 12, "import": 8, "jwt": 12}


def require_atheris() -> None:
    if atheris_available():
        return
    missing_component("atheris is missing (pip install -e '.[dev]'): the fuzzing tests must run in CI")


@pytest.mark.parametrize("target", [pytest.param(t, marks=pytest.mark.xdist_group(f"fuzz-{t}")) for t in TARGETS])
def test_a_short_fuzzing_run_finds_no_crash_hang_or_server_error(target: str, tmp_path: Path) -> None:
    require_atheris()
    result = run_fuzzer(target, tmp_path, seconds=SECONDS[target])
    assert not result.found and not result.artifacts, result.summary() + "\n" + result.log[-4000:]
    seeds = len(list((Path(__file__).parent / "corpus" / target).iterdir()))
    assert result.runs > seeds, f"the fuzzer only read its seeds: {result.summary()}"


@pytest.mark.xdist_group("fuzz-selftest")
@pytest.mark.parametrize(("mode", "found"), [("crash", "RuntimeError: planted crash"), ("hang", "ALARM")])
def test_the_runner_reports_a_planted_crash_and_a_planted_hang_with_the_input(
    mode: str, found: str, tmp_path: Path
) -> None:
    require_atheris()
    (tmp_path / "mode").write_text(mode)
    result = run_fuzzer("selftest", tmp_path, seconds=20)
    assert found in result.found, result.log[-2000:]
    assert result.artifacts, result.log[-2000:]
    planted = b"\xff" if mode == "crash" else b"z"
    assert planted in result.artifacts[0].read_bytes()
