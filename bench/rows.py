"""The row every bench prints and writes, so that ``make bench`` and the smoke tests read them all alike.

A row is one operation measured on one side: ``side`` is ``"antin"`` for the platform and the peer's name
(``"oidc-provider"``, ``"pyhanko-cli"``, ``"pdfsig"``, ``"slapadd"``…) for what it is measured beside; rows of the
same ``bench`` and ``operation`` are compared. The same five figures mean the same thing everywhere:

- ``p50``, ``p99``: latency of one operation in milliseconds (None where only a total was timed);
- ``rate``: operations per second;
- ``cpu_per_op``: CPU milliseconds per operation, of the process(es) doing the work where it can be read;
- ``rss``: peak resident set of the process doing the work, in MB.

``checked`` counts the answers the bench checked and ``wrong`` those that were not right: a fast wrong answer
never counts, and the smoke tests in ``tests/bench`` fail on any ``wrong`` or on a row that checked nothing.
Every bench takes ``--quick`` (seconds, not minutes) and ``--json FILE`` (:func:`add_arguments`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FIGURES",
    "Row",
    "Run",
    "add_arguments",
    "cpu_model",
    "machine",
    "percentile",
    "print_rows",
    "row_from_samples",
]

FIGURES = ("p50", "p99", "rate", "cpu_per_op", "rss")
"""The figures every row carries, in this order (see the module's docstring for their units)."""


@dataclass(frozen=True)
class Row:
    """One operation measured on one side."""

    bench: str
    """The bench that measured it (``signing``, ``verify``, ``directory``, ``oidc``…)."""
    operation: str
    """What one operation is, e.g. ``sign B-LT 1 MB``; the same text on the platform's row and its peers'."""
    side: str
    """``antin`` or the peer's name."""
    p50: float | None
    p99: float | None
    rate: float | None
    cpu_per_op: float | None
    rss: float | None
    n: int
    """Operations measured."""
    checked: int
    """Answers checked (signatures verified, verdicts compared, entries read back…)."""
    wrong: int = 0
    """Answers that were not right."""
    note: str = ""

    def figure(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        return value


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.5 for p50, 0.99 for p99); NaN when there is nothing."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = math.ceil(fraction * len(ordered))
    return ordered[max(rank, 1) - 1]


def row_from_samples(
    bench: str,
    operation: str,
    side: str,
    wall: Sequence[float],
    *,
    cpu: Sequence[float] = (),
    rss_bytes: int | None = None,
    checked: int,
    wrong: int = 0,
    note: str = "",
) -> Row:
    """A row from per-operation wall-clock (and CPU) times in seconds; the rate is 1 / mean wall time."""
    mean = statistics.fmean(wall) if wall else math.nan
    return Row(
        bench=bench,
        operation=operation,
        side=side,
        p50=percentile(wall, 0.5) * 1000,
        p99=percentile(wall, 0.99) * 1000,
        rate=1 / mean if wall and mean > 0 else None,
        cpu_per_op=statistics.fmean(cpu) * 1000 if cpu else None,
        rss=rss_bytes / 1e6 if rss_bytes else None,
        n=len(wall),
        checked=checked,
        wrong=wrong,
        note=note,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quick`` and ``--json FILE``, the two options every bench takes."""
    parser.add_argument("--quick", action="store_true", help="a few operations per row: seconds, not minutes")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the rows as JSON here")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _commit() -> str:
    here = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "describe", "--always", "--dirty", "--abbrev=7"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def machine() -> dict[str, Any]:
    """The machine and the moment: what a reader needs beside the figures."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return {
        "cores": cores,
        "cpu": cpu_model(),
        "memory_gb": round(_memory_gb(), 1),
        "load_average": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "commit": _commit(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


@dataclass
class Run:
    """The rows of one bench run, printed as a table and written as JSON."""

    bench: str
    quick: bool
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        if not self.rows:
            print(HEADER, flush=True)
        self.rows.append(row)
        print(format_row(row), flush=True)
        return row

    def write(self, path: Path | None) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "bench": self.bench,
            "quick": self.quick,
            "machine": machine(),
            "notes": self.notes,
            "rows": [asdict(r) for r in self.rows],
        }
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @property
    def all_right(self) -> bool:
        return bool(self.rows) and all(r.wrong == 0 and r.checked > 0 for r in self.rows)


HEADER = (
    f"{'operation':<46} {'side':<14} {'p50 ms':>9} {'p99 ms':>9} {'rate/s':>9} {'cpu ms/op':>9} {'RSS MB':>7}"
    f" {'n':>5} {'checked':>8}"
)


def _cell(value: float | None, width: int, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return f"{'-':>{width}}"
    if 0 < abs(value) < 0.1:  # a slow rate (guesses per simulated second) keeps its significant digits
        return f"{value:>{width}.2g}"
    return f"{value:>{width},.{digits}f}"


def format_row(row: Row) -> str:
    checked = f"{row.checked - row.wrong}/{row.checked}"
    line = (
        f"{row.operation:<46} {row.side:<14} {_cell(row.p50, 9, 2)} {_cell(row.p99, 9, 2)} {_cell(row.rate, 9)}"
        f" {_cell(row.cpu_per_op, 9, 2)} {_cell(row.rss, 7, 0)} {row.n:>5} {checked:>8}"
    )
    return f"{line}  {row.note}" if row.note else line


def print_rows(rows: Sequence[Row]) -> None:
    print(HEADER)
    for row in rows:
        print(format_row(row))
