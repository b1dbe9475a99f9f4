"""Run one target's fuzzer for N runs or T seconds in a child process and say what it found.

The child (:mod:`tests.fuzz.worker`) runs at ``nice 10`` (the machine is shared), reads the committed seeds
(``tests/fuzz/corpus/<target>``) and keeps what it learns in ``<workdir>/corpus``; a crash, a hang past the
target's time limit or a memory blow-up leaves its input in ``<workdir>/artifacts``. The numbers come from
libFuzzer's final statistics.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.targets import CORPUS, SELFTEST, TARGETS, load_target

__all__ = ["FuzzResult", "atheris_available", "replay", "run_fuzzer"]

REPO = Path(__file__).parents[2]
RSS_LIMIT_MB = 3072
# the text targets: room to grow beyond the seeds; PDFs keep libFuzzer's guess (the largest seed)
TEXT_MAX_LEN = 8192


@dataclass
class FuzzResult:
    target: str
    runs: int
    seconds: float
    exit_code: int
    artifacts: list[Path] = field(default_factory=list)
    coverage: int | None = None
    corpus_size: int | None = None
    log: str = ""

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds if self.seconds else 0.0

    @property
    def found(self) -> str:
        """What went wrong, from libFuzzer's log ("" when nothing did)."""
        patterns = (
            r"=== Uncaught Python exception: ===\n([^\n]+)",
            r"(ALARM: working on the last Unit for \d+ seconds)",
            r"(==\d+== ERROR: libFuzzer: [^\n]+)",
        )
        for pattern in patterns:
            match = re.search(pattern, self.log)
            if match:
                return match.group(1)
        return "" if self.exit_code == 0 else f"the fuzzer exited with status {self.exit_code}"

    def summary(self) -> str:
        text = (
            f"{self.target}: {self.runs} runs in {self.seconds:.0f} s ({self.runs_per_second:.1f} runs/s), "
            f"coverage {self.coverage}, corpus {self.corpus_size}"
        )
        if self.artifacts or self.found:
            text += f"; FOUND: {self.found or 'a crash'}; inputs: {', '.join(map(str, self.artifacts))}"
        else:
            text += "; no crash, hang or 5xx"
        return text


def atheris_available() -> bool:
    try:
        import atheris  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def run_fuzzer(
    target: str,
    workdir: Path,
    *,
    runs: int | None = None,
    seconds: int | None = None,
    nice: int = 10,
    echo: bool = False,
) -> FuzzResult:
    """Fuzz ``target`` until ``runs`` inputs or ``seconds`` have passed (whichever comes first)."""
    if target not in TARGETS and target not in SELFTEST:
        raise ValueError(f"unknown target {target!r}; one of {', '.join(TARGETS)}")
    module = load_target(target)
    corpus, artifacts = workdir / "corpus", workdir / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    args = [
        f"-timeout={module.TIMEOUT_SECONDS}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        "-reload=0",
    ]
    if target != "pdf":
        args.append(f"-max_len={TEXT_MAX_LEN}")
    if runs is not None:
        args.append(f"-runs={runs}")
    if seconds is not None:
        args.append(f"-max_total_time={seconds}")
    command = ["nice", "-n", str(nice), sys.executable, "-m", "tests.fuzz.worker", target, str(workdir), *args]
    command += [str(corpus), str(CORPUS / target)]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            if echo:
                print(line, end="", flush=True)
    elapsed = time.monotonic() - started
    log = "".join(lines)
    result = FuzzResult(target, 0, elapsed, child.returncode, sorted(artifacts.iterdir()), log=log)
    done = re.search(r"stat::number_of_executed_units: (\d+)", log)
    result.runs = int(done.group(1)) if done else _last_count(log)
    total = re.search(r"^Done \d+ runs in (\d+) second", log, flags=re.MULTILINE)
    if total:
        result.seconds = max(1.0, float(total.group(1)))
    cov = re.findall(r"cov: (\d+)", log)
    result.coverage = int(cov[-1]) if cov else None
    corp = re.findall(r"corp: (\d+)/", log)
    result.corpus_size = int(corp[-1]) if corp else None
    return result


def _last_count(log: str) -> int:
    counts = re.findall(r"^#(\d+)\t", log, flags=re.MULTILINE)
    return int(counts[-1]) if counts else 0


def replay(target: str, paths: list[Path], workdir: Path) -> None:
    """Run the harness on each file, in this process and without atheris; a crash raises as it would there."""
    harness = load_target(target).make_harness(workdir)
    for path in paths:
        harness(path.read_bytes())
