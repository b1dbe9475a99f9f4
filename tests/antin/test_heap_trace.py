"""antin.heap_trace, the soak's diagnostic: what grows in a worker is written down by line of code."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from pathlib import Path

from antin.heap_trace import HeapTrace, start_heap_trace


def test_off_by_default_starts_nothing(tmp_path: Path) -> None:
    threads = threading.active_count()
    assert start_heap_trace(tmp_path / "heap-trace", 0) is None
    assert not tracemalloc.is_tracing()
    assert threading.active_count() == threads
    assert not (tmp_path / "heap-trace").exists()


def test_a_growth_is_named_by_its_line(tmp_path: Path) -> None:
    """What a request path kept since the baseline shows with its size and the line that allocated it."""
    gc.collect()  # garbage of earlier tests collected now would count against the growth
    tracemalloc.start(4)
    try:
        trace = HeapTrace(tmp_path / "worker.txt")
        assert "(baseline)" in trace.dump()
        kept = [["an answer kept for ever", i] for i in range(20_000)]  # about 1.5 MB
        report = trace.dump()
    finally:
        tracemalloc.stop()
    since_baseline = report.split("-- since the baseline")[1].split("-- since the previous dump")[0]
    biggest = since_baseline.splitlines()[1]  # the largest growth comes first
    assert "antin/test_heap_trace.py:" in biggest, report
    assert float(biggest.split()[0]) > 1000, report  # kB
    [containers] = [x for x in report.splitlines() if x.startswith("-- containers by type since the baseline")]
    grown = dict(item.rsplit(" ", 1) for item in containers.split(": ", 1)[1].split(", "))
    assert "resident" in report and int(grown["list"]) > 19_000, report
    assert (tmp_path / "worker.txt").read_text(encoding="utf-8").count("== pid") == 2
    assert len(kept) == 20_000
