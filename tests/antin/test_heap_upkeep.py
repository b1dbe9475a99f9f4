"""antin.heap_upkeep ([server] heap_upkeep_seconds): a worker frees its garbage cycles, gives free pages back."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from antin.heap_upkeep import start_heap_upkeep

ROOT = Path(__file__).resolve().parents[2]

# A worker's heap in small: 3,000 blocks of 48 kB (under glibc's mmap threshold: they are in the heap), every 16th kept
# as a cache would keep it (the last one too: the heap's top stays in use, so glibc's own trimming of the top cannot
# give anything back), the rest freed as a request's memory is. Then resident memory after two seconds, with
# the trimming thread started or not.
FRAGMENTED_HEAP = textwrap.dedent(
    """
    import sys, time
    from antin.heap_upkeep import start_heap_upkeep

    def resident_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    blocks = [bytearray(48 * 1024) for _ in range(3000)]
    kept = blocks[::16]
    del blocks
    before = resident_mb()
    start_heap_upkeep(float(sys.argv[1]))
    time.sleep(2)
    print(before, resident_mb(), len(kept))
    """
)


def resident_before_and_after(every_seconds: float) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, "-c", FRAGMENTED_HEAP, str(every_seconds)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"MALLOC_ARENA_MAX": "2", "PATH": "/usr/bin:/bin"},
    )
    before, after, _kept = done.stdout.split()
    return float(before), float(after)


def test_the_free_memory_a_worker_kept_goes_back_to_the_system() -> None:
    """About 130 MB freed among live blocks: resident until trimmed, given back within the trimming interval."""
    before, after = resident_before_and_after(0.2)
    assert before > 130, (before, after)  # glibc kept the freed blocks
    assert before - after > 100, (before, after)


def test_without_trimming_the_free_memory_stays_resident() -> None:
    """What the soaks saw before: the same freed memory is still counted in the worker's RSS seconds later."""
    before, after = resident_before_and_after(0)
    assert before > 130 and before - after < 20, (before, after)


def test_off_starts_nothing() -> None:
    threads = threading.active_count()
    assert start_heap_upkeep(0) is None
    assert threading.active_count() == threads
    assert gc.get_freeze_count() == 0


# Objects in reference cycles, 20,000 of them, moved to the oldest generation as a worker's long requests move theirs
# (they survived two collections), then dropped: garbage the collector frees only when it collects that generation.
OLD_CYCLES = textwrap.dedent(
    """
    import gc, sys, time, weakref
    from antin.heap_upkeep import start_heap_upkeep

    class Node:
        pass

    start_heap_upkeep(float(sys.argv[1]))
    nodes = [Node() for _ in range(20_000)]
    for node in nodes:
        node.me = node
    gc.collect(1)
    gc.collect(1)
    probe = weakref.ref(nodes[-1])
    del nodes, node
    time.sleep(2)
    print(probe() is None)
    """
)


def cycles_freed(every_seconds: float) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", OLD_CYCLES, str(every_seconds)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return done.stdout.strip() == "True"


def test_garbage_cycles_in_the_oldest_generation_are_freed_within_the_interval() -> None:
    assert cycles_freed(0.2)
    assert not cycles_freed(0)  # what the soaks saw: they wait for a full collection, minutes away in a worker
