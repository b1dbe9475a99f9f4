"""Login throttle benchmark: the guess rate an attacker achieves per login, and the cost of one atomic take.

    python -m bench.throttle_bench [--hours 24] [--takes 2000] [--quick] [--json FILE]

1. An attacker who knows a login retries exactly when Retry-After says, from a new address every time, for
   ``--hours`` of simulated time, against the real stores (SQLite and, when redis-server is installed, Redis)
   with the platform's default directory policy (5 failures within 900 s lock): how many guesses reach the
   directory per hour and per day, and the most within any 900 s. Checked: every 900 s window that starts at a
   guess holds at most the strangers' budget (5 minus 1 minus the official's own browser's 2), so the directory
   never locks the official; a window over it counts as wrong. The row's ``rate`` is guesses per second of
   simulated time; the note gives them per hour and per day.
2. Wall-clock cost of one take (check and count in one step) in each store, one thread and eight threads.
   Checked: every take allowed (the budget is far above what is taken) and, at the end, every key's count equal
   to the takes made on it (the threads take the same 50 keys: no count may be lost between them). CPU is this
   process's (not redis-server's).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from antin.kernel.database import Base, Database
from bench.rows import Row, Run, add_arguments, percentile
from directory.policy import LockoutPolicy
from idp.settings import ThrottleSettings
from idp.throttle import DatabaseThrottleStore, LoginThrottle, RedisThrottleStore, ThrottleStore
from idp.throttle.store import Budget

BENCH = "throttle"
POLICY = LockoutPolicy()
KEYS = 50  # shared by the threads: parallel takes of one key are what must not lose a count


@contextmanager
def stores(folder: Path) -> Iterator[list[tuple[str, ThrottleStore]]]:
    import idp.throttle.models  # noqa: F401

    db = Database(f"sqlite:///{folder / 'throttle.sqlite3'}")
    Base.metadata.create_all(db.engine)
    found: list[tuple[str, ThrottleStore]] = [("sqlite", DatabaseThrottleStore(db))]
    if shutil.which("redis-server"):
        from tests.servers import redis_server

        with redis_server(folder / "redis") as url:
            redis_store = RedisThrottleStore(url)
            found.append(("redis", redis_store))
            yield found
            redis_store.close()
    else:
        yield found
    db.dispose()


def attacker(name: str, store: ThrottleStore, hours: float) -> Row:
    settings = ThrottleSettings()
    throttle = LoginThrottle(store, settings)
    # from the directory's policy, not from the throttle's own arithmetic: the failures the directory counts
    # without locking, less those the official's own browser may add
    budget = POLICY.max_failures - 1 - settings.device_failures
    start = now = 5_000_000.0
    reached: list[float] = []
    tries = 0
    cpu0 = time.process_time()
    while now < start + hours * 3600:
        tries += 1
        address = f"10.{tries // 65536 % 256}.{tries // 256 % 256}.{tries % 256}"
        admission = throttle.admit("an.nguyen", address, device=None, policy=POLICY, now=now)
        if admission.allowed:
            reached.append(now)
        now += 0.25 if admission.allowed else admission.wait_seconds
    cpu = time.process_time() - cpu0
    interval = POLICY.failure_count_interval
    # the directory counts failures within `interval`: no such window may hold more than the strangers' budget
    windows = [sum(1 for t in reached if s <= t < s + interval) for s in reached]
    worst = max(windows, default=0)
    per_hour = len(reached) / hours
    return Row(
        BENCH,
        f"attacker's guesses reaching the directory ({name})",
        "antin",
        p50=None,
        p99=None,
        rate=len(reached) / (hours * 3600),
        cpu_per_op=cpu / tries * 1000 if tries else None,
        rss=None,
        n=tries,
        checked=len(windows),
        wrong=sum(1 for w in windows if w > budget),
        note=(
            f"{per_hour * 24:,.0f} guesses/day ({per_hour:.1f}/h) in {hours:g} h simulated from {tries} attempts; "
            f"at most {worst} within any {interval} s (budget {budget}, the directory locks at "
            f"{POLICY.max_failures}); rate is guesses per simulated second, CPU per attempt"
        ),
    )


def takes(name: str, store: ThrottleStore, n: int, threads: int) -> Row:
    budget = Budget(window=900, limit=1_000_000)
    per_thread = n // threads
    prefix = f"bench:{time.time_ns()}:{threads}"
    latencies: list[list[float]] = [[] for _ in range(threads)]
    refused = [0] * threads

    # one clock reading for the whole row: takes of one key stamped out of order (a thread preempted between
    # reading the clock and taking) would see the later one's "blocked until now" and be refused for a moment
    now = time.time()

    def work(index: int) -> None:
        mine = latencies[index]
        for i in range(per_thread):
            started = time.perf_counter()
            took = store.take(f"{prefix}:{i % KEYS}", budget, now)
            mine.append(time.perf_counter() - started)
            refused[index] += not took.allowed

    cpu0 = time.process_time()
    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    total = per_thread * threads
    miscounted = 0
    keys = min(KEYS, per_thread)
    for k in range(keys):
        expected = threads * len(range(k, per_thread, KEYS))
        counter = store.get(f"{prefix}:{k}")
        miscounted += counter is None or counter.attempts != expected
    wall = [s for mine in latencies for s in mine]
    return Row(
        BENCH,
        f"one atomic take ({name}), {threads} thread{'s' if threads > 1 else ''}",
        "antin",
        p50=percentile(wall, 0.5) * 1000,
        p99=percentile(wall, 0.99) * 1000,
        rate=total / elapsed,
        cpu_per_op=cpu / total * 1000,
        rss=None,
        n=total,
        checked=total + keys,
        wrong=sum(refused) + miscounted,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated time of the attack (default 24)")
    parser.add_argument("--takes", type=int, default=None, help="takes per row (default 2000, --quick 400)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    n = args.takes or (400 if args.quick else 2000)
    run = Run(BENCH, args.quick)
    with tempfile.TemporaryDirectory() as tmp, stores(Path(tmp)) as found:
        for name, store in found:
            run.add(attacker(name, store, args.hours))
        for name, store in found:
            for threads in (1, 8):
                run.add(takes(name, store, n, threads))
    if len(found) == 1:
        run.notes.append("redis-server is not installed: Redis was not measured")
    run.notes.append(
        "the attacker retries exactly when Retry-After says, from a new address every time, with the default "
        "directory policy (5 failures within 900 s lock) and the default throttle settings"
    )
    run.write(args.json)
    return 0 if run.all_right else 1


if __name__ == "__main__":
    sys.exit(main())
