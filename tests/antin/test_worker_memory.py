"""scripts/worker_memory.py: a process's resident memory told apart by layer, read from outside."""

from __future__ import annotations

import subprocess
import sys

from scripts.worker_memory import layers

# 400,000 small objects (tuples of two floats, 64 bytes each with their header: Python's arenas) and 30 MB in 60 kB
# blocks (over 512 bytes: glibc's heap), all kept until told to go
HOLDER = (
    "import sys\n"
    "small = [(float(i), float(-i)) for i in range(400_000)]\n"
    "big = [bytearray(60_000) for _ in range(500)]\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
)


def test_objects_a_process_keeps_are_counted_in_their_layer() -> None:
    quiet = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.readline()"], stdin=subprocess.PIPE)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        base, full = layers(quiet.pid), layers(holder.pid)
    finally:
        for proc in (quiet, holder):
            proc.communicate(b"\n", timeout=30)
    # what each layer grew by: the tuples and floats in Python's arenas, the byte arrays in glibc's heap
    assert full.python_in_use_mb - base.python_in_use_mb > 30, (base, full)
    assert full.python_mb >= full.python_in_use_mb
    assert full.heap_mb - base.heap_mb > 25, (base, full)
    assert abs(full.files_mb - base.files_mb) < 5, (base, full)
    assert abs(full.rss_mb - (full.files_mb + full.python_mb + full.heap_mb + full.other_mb)) < 0.1
