"""Where a Python provider spends its time during a row: py-spy on every worker, then the hottest frames.

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;…;leaf COUNT``). The summary gives,
per row, the project's own functions with the most samples *inclusive* (the function is anywhere on the
stack: where to look) and the leaf frames with the most samples *self* (what the time is spent doing), in
percent of the busy samples of all workers (threads waiting for work are left out; a thread blocked in a
database or LDAP call counts as busy, since the request is waiting on it).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Hotspots", "PySpy", "summarize"]

# Frames that are a worker waiting for work or for the network, not doing any.
IDLE = re.compile(
    r"\b(select|poll|epoll|wait|_wait_for_tstate_lock|accept|recv_into|sleep|readinto|"
    r"run \(threading|_bootstrap|_worker \(concurrent)\b"
)


@dataclass(frozen=True)
class Hotspots:
    row: str
    samples: int
    inclusive: list[tuple[str, float]]
    leaf: list[tuple[str, float]]

    def render(self, top: int = 12) -> str:
        lines = [f"{self.row}: {self.samples} busy samples"]
        lines.append("  the project's functions, inclusive (on the stack):")
        lines += [f"    {pct:5.1f}%  {frame}" for frame, pct in self.inclusive[:top]]
        lines.append("  self (the leaf):")
        lines += [f"    {pct:5.1f}%  {frame}" for frame, pct in self.leaf[:top]]
        return "\n".join(lines)


def _stacks(files: Iterable[Path]) -> Iterable[tuple[list[str], int]]:
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                yield stack.split(";"), int(count)


def _short(frame: str) -> str:
    # "function (/long/path/to/module.py:123)" -> "function (module.py:123)"; site-packages kept as a hint
    match = re.match(r"(.*) \((.*?):(\d+)\)$", frame)
    if not match:
        return frame
    func, path, _line = match.groups()
    parts = Path(path).parts
    where = "/".join(parts[-2:]) if "site-packages" in path else "/".join(parts[-3:])
    return f"{func} ({where})"


# py-spy names frames "function (package/module.py:line)", relative to sys.path.
PROJECT = re.compile(r"[(/](idp|directory|antin|signing|admin)/[\w/]+\.py:")


def _is_project(frame: str) -> bool:
    return "site-packages" not in frame and PROJECT.search(frame) is not None


def summarize(row: str, files: Sequence[Path]) -> Hotspots:
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(files):
        if not frames or IDLE.search(frames[-1]):
            continue
        total += count
        leaf[_short(frames[-1])] += count
        for frame in {_short(f) for f in frames if _is_project(f)}:
            inclusive[frame] += count
    scale = 100.0 / total if total else 0.0
    return Hotspots(
        row,
        total,
        [(f, c * scale) for f, c in inclusive.most_common(40)],
        [(f, c * scale) for f, c in leaf.most_common(40)],
    )


class PySpy:
    """``py-spy record`` on a set of processes for one row."""

    def __init__(self, folder: Path, *, gil: bool = False) -> None:
        beside = Path(sys.executable).parent / "py-spy"
        program = shutil.which("py-spy") or (str(beside) if beside.exists() else None)
        if program is None:
            raise FileNotFoundError("py-spy is not installed (pip install py-spy)")
        self.program = program
        self.folder = folder
        self.gil = gil  # only samples holding the GIL: the CPU spent in Python, waits on sockets left out
        folder.mkdir(parents=True, exist_ok=True)
        self._running: list[subprocess.Popen[bytes]] = []
        self.files: list[Path] = []

    def start(self, row: str, pids: Sequence[int], seconds: float) -> None:
        self.files = []
        for pid in pids:
            out = self.folder / f"{row}-{pid}.txt"
            self.files.append(out)
            argv = [self.program, "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
            argv += ["--duration", str(math.ceil(seconds)), "--nonblocking", "--output", str(out)]
            argv += ["--gil"] if self.gil else []
            self._running.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def finish(self, row: str) -> Hotspots:
        for proc in self._running:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait()
        self._running = []
        return summarize(row, self.files)
