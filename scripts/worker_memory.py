"""A running worker's resident memory by layer, read from outside (no tracing, nothing changed in the process):
what grows when a soak's workers grow (docs/production.md, "What kept growing under granian").

Run (as the workers' user, or root): ``python scripts/worker_memory.py PID [PID...] [--every SECONDS]``

Each line: the process's RSS, then what of it is

- ``files``: mapped files (the interpreter, the extension modules, granian's Rust library): code, flat;
- ``python``: Python's own arenas (pymalloc, objects up to 512 bytes), found by the header of each 16 KiB pool in
  them, and ``in use`` the bytes their blocks hold (count × block size of each pool): RSS of the arenas far over
  what is in use is fragmentation, in use rising is objects kept (alive, or garbage not yet collected);
- ``heap``: glibc's main heap (``[heap]``): Python's larger objects and the C libraries' allocations;
- ``other``: every other anonymous mapping: glibc's further arenas and mmapped blocks, thread stacks, and granian's
  Rust allocations (jemalloc, which this library cannot see into).

The pool header is CPython 3.11's (``Objects/obmalloc.c``, 16 KiB pools); another version may lay it out otherwise.
"""

from __future__ import annotations

import argparse
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

POOL = 16 * 1024
# struct pool_header (64-bit): ref.count (uint, padded to a pointer), freeblock, nextpool, prevpool (pointers),
# arenaindex, szidx, nextoffset, maxnextoffset (uints)
POOL_HEADER = struct.Struct("<IxxxxQQQIIII")
ALIGNMENT = 16  # a size class is (szidx + 1) × 16 bytes
MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")


@dataclass
class Mapping:
    start: int
    end: int
    perms: str
    name: str
    rss_kb: int = 0


@dataclass
class Layers:
    rss_mb: float
    files_mb: float
    python_mb: float
    python_in_use_mb: float
    heap_mb: float
    other_mb: float

    def line(self, pid: int) -> str:
        return (
            f"{time.strftime('%H:%M:%S')} pid {pid}: RSS {self.rss_mb:.1f} MB = files {self.files_mb:.1f}"
            f" + python {self.python_mb:.1f} (in use {self.python_in_use_mb:.1f}) + heap {self.heap_mb:.1f}"
            f" + other {self.other_mb:.1f}"
        )


def mappings(pid: int) -> list[Mapping]:
    found: list[Mapping] = []
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if match := MAPPING.match(line):
            found.append(Mapping(int(match[1], 16), int(match[2], 16), match[3], match[4].strip()))
        elif line.startswith("Rss:") and found:
            found[-1].rss_kb = int(line.split()[1])
    return found


def _pools(mapping: Mapping, memory: BinaryIO, pagemap: BinaryIO) -> tuple[int, int, int]:
    """(pools whose header reads as one, pages looked at, bytes their blocks hold) of one anonymous mapping."""
    pools = looked = in_use = 0
    address = -(-mapping.start // POOL) * POOL
    while address + POOL_HEADER.size <= mapping.end:
        pagemap.seek(address // 4096 * 8)
        if struct.unpack("<Q", pagemap.read(8))[0] >> 63:  # the page is resident: read it, else skip it
            memory.seek(address)
            count, _free, _next, _prev, _arena, szidx, next_offset, max_next = POOL_HEADER.unpack(
                memory.read(POOL_HEADER.size)
            )
            looked += 1
            if szidx < 32 and 0 < max_next <= POOL and POOL_HEADER.size <= next_offset <= POOL:
                pools += 1
                in_use += count * (szidx + 1) * ALIGNMENT
        address += POOL
    return pools, looked, in_use


def layers(pid: int) -> Layers:
    mb = 1024.0
    files = python = heap = other = 0
    in_use = 0
    with open(f"/proc/{pid}/mem", "rb") as memory, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for mapping in mappings(pid):
            if mapping.name.startswith("/"):
                files += mapping.rss_kb
            elif mapping.name == "[heap]":
                heap += mapping.rss_kb
            elif mapping.name or not mapping.perms.startswith("rw") or not mapping.rss_kb:
                other += mapping.rss_kb  # stacks, vdso, guard pages
            else:
                pools, looked, used = _pools(mapping, memory, pagemap)
                if looked and pools > 0.8 * looked:
                    python += mapping.rss_kb
                    in_use += used
                else:
                    other += mapping.rss_kb
    total = files + python + heap + other
    return Layers(total / mb, files / mb, python / mb, in_use / 2**20, heap / mb, other / mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pids", type=int, nargs="+")
    parser.add_argument("--every", type=float, default=0, help="seconds between two readings (default: one reading)")
    args = parser.parse_args()
    while True:
        for pid in args.pids:
            print(layers(pid).line(pid), flush=True)
        if not args.every:
            return
        time.sleep(args.every)


if __name__ == "__main__":
    main()
