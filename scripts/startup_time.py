"""Time a command's start-up by running it N times: min and median wall time, and median CPU time (user + system,
which a busy machine disturbs less than wall time).

    .venv/bin/python -m scripts.startup_time --runs 10 -- antin --help
    .venv/bin/python -m scripts.startup_time --runs 10 -- antin verify tests/fuzz/corpus/pdf/seed-b-b.pdf
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("command", nargs="+", help="the command and its arguments (after --)")
    options = parser.parse_args()
    command = list(options.command)
    command[0] = shutil.which(command[0]) or command[0]
    subprocess.run(command, capture_output=True, check=False)  # warm the file cache once
    times, cpu = [], []
    for _ in range(options.runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(
        f"{' '.join(options.command)}: {options.runs} runs, min {min(times) * 1000:.0f} ms, "
        f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms; "
        f"CPU median {statistics.median(cpu) * 1000:.0f} ms"
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
