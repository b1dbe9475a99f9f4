"""What grows in a server worker, written down while it serves: a diagnostic for soaks (issue 14, item 4).

Off unless ``[server] heap_trace_minutes`` is set (tracing costs CPU and memory: never in production). Each gunicorn
worker then starts ``tracemalloc`` once it has loaded the app (the imports are not traced, and start no slower) and
writes to ``<data_dir>/heap-trace/<pid>.txt``, every so many minutes, what Python has allocated since its first
dump (the baseline) and since the previous one, by line of code, beside its resident memory: Python memory that
keeps rising with requests is a leak or a cache filling; resident memory that rises while Python's stays flat is
the C allocator's (glibc arenas) or a C library's. When off, nothing is started and requests pay nothing.
"""

from __future__ import annotations

import ctypes
import gc
import os
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

__all__ = ["HeapTrace", "start_heap_trace"]

TOP = 25  # lines of code per comparison
FRAMES = 8  # frames kept per allocation: enough to see which request path made it


def _resident_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _c_heap() -> str:
    """glibc's view (mallinfo2): what C code holds in use, what its arenas keep free, what is mapped apart. Python's
    objects over 512 bytes are in "in use" too: it rising while the traced memory stays flat is a C library's; "free"
    rising is fragmentation the arenas keep."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return "malloc: unknown (not glibc 2.33+)"
    mb = 2**20
    return (
        f"malloc: arenas {info.arena / mb:.1f} MB (in use {info.uordblks / mb:.1f}, free {info.fordblks / mb:.1f}),"
        f" mapped apart {info.hblkhd / mb:.1f} MB ({info.hblks} blocks)"
    )


def _short(filename: str) -> str:
    """A source file by its folder and name: enough to tell antin/app.py from flask/app.py."""
    return "/".join(filename.split("/")[-2:])


def _object_counts() -> Counter[str]:
    """Objects the garbage collector tracks (containers: lists, dicts, instances; not str or bytes), by type."""
    return Counter(type(o).__qualname__ for o in gc.get_objects())


class HeapTrace:
    """Compares snapshots of the traced heap and writes the differences to one file per process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.baseline: tracemalloc.Snapshot | None = None
        self.previous: tracemalloc.Snapshot | None = None
        self.baseline_objects: Counter[str] = Counter()
        self.started = time.monotonic()

    def _snapshot(self) -> tracemalloc.Snapshot:
        return tracemalloc.take_snapshot().filter_traces(
            (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__))
        )

    def dump(self) -> str:
        """One entry: the totals, then the lines that grew most since the baseline and since the previous dump."""
        snapshot = self._snapshot()
        objects = _object_counts()
        current, peak = tracemalloc.get_traced_memory()
        lines = [
            f"== pid {os.getpid()} at {time.monotonic() - self.started:.0f} s: resident {_resident_mb():.1f} MB,"
            f" traced {current / 2**20:.1f} MB (peak {peak / 2**20:.1f}), {sum(objects.values())} objects",
            _c_heap(),
        ]
        if self.baseline is None:
            self.baseline, self.baseline_objects = snapshot, objects
            lines.append("(baseline)")
        else:
            for title, earlier in (("since the baseline", self.baseline), ("since the previous dump", self.previous)):
                assert earlier is not None
                stats = snapshot.compare_to(earlier, "traceback")
                growth = sum(s.size_diff for s in stats) / 2**20
                lines.append(f"-- {title}: {growth:+.2f} MB traced")
                for stat in stats[:TOP]:
                    # the most recent frame first (a Traceback runs from the oldest)
                    frames = " <- ".join(f"{_short(f.filename)}:{f.lineno}" for f in list(stat.traceback)[::-1][:6])
                    lines.append(f"{stat.size_diff / 1024:+9.1f} kB {stat.count_diff:+7d} blocks  {frames}")
            grown = Counter({k: v - self.baseline_objects.get(k, 0) for k, v in objects.items()})
            counts = ", ".join(f"{k} {v:+d}" for k, v in grown.most_common(15))
            lines.append(f"-- containers by type since the baseline: {counts}")
        self.previous = snapshot
        text = "\n".join(lines) + "\n"
        with self.path.open("a", encoding="utf-8") as out:
            out.write(text)
        return text


def start_heap_trace(folder: Path, every_minutes: float) -> HeapTrace | None:
    """Trace this process's allocations and, in a daemon thread, dump a :class:`HeapTrace` into ``folder`` every
    ``every_minutes`` (the first dump is the baseline); None, and nothing started, when ``every_minutes`` is 0."""
    if every_minutes <= 0:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(FRAMES)
    trace = HeapTrace(folder / f"{os.getpid()}.txt")

    def run() -> None:
        while True:
            time.sleep(every_minutes * 60)
            trace.dump()

    threading.Thread(target=run, name="antin-heap-trace", daemon=True).start()
    return trace
