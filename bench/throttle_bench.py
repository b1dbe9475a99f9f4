"""Login throttle benchmark: the guess rate an attacker achieves per login, and the cost of one atomic take.

    .venv/bin/python -m bench.throttle_bench [--hours 24] [--takes 2000]

1. An attacker who knows a login retries exactly when Retry-After says, from a new address every time, for
   ``--hours`` of simulated time, against the real stores (SQLite and, when redis-server is installed, Redis)
   with the platform's default directory policy (5 failures within 900 s lock): how many guesses reach the
   directory per hour and per day, and the most within any 900 s (it must stay below 5 minus the device's 2).
2. Wall-clock cost of one take (check and count in one step) in each store, one thread and eight threads.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from directory.policy import LockoutPolicy
from idp.database import Base, Database
from idp.settings import ThrottleSettings
from idp.throttle import DatabaseThrottleStore, LoginThrottle, RedisThrottleStore, ThrottleStore
from idp.throttle.store import Budget

POLICY = LockoutPolicy()


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


def attacker(store: ThrottleStore, hours: float) -> None:
    throttle = LoginThrottle(store, ThrottleSettings())
    start = now = 5_000_000.0
    reached: list[float] = []
    tries = 0
    while now < start + hours * 3600:
        tries += 1
        address = f"10.{tries // 65536 % 256}.{tries // 256 % 256}.{tries % 256}"
        admission = throttle.admit("an.nguyen", address, device=None, policy=POLICY, now=now)
        if admission.allowed:
            reached.append(now)
        now += 0.25 if admission.allowed else admission.wait_seconds
    interval = POLICY.failure_count_interval
    worst = max(sum(1 for t in reached if s <= t < s + interval) for s in reached)
    print(
        f"  {len(reached)} guesses reached the directory in {hours:g} h ({len(reached) / hours:.1f}/h, "
        f"{len(reached) / hours * 24:.0f}/day); at most {worst} within any {interval} s "
        f"(locks at {POLICY.max_failures}); {tries} attempts made"
    )


def takes(store: ThrottleStore, n: int, threads: int) -> None:
    budget = Budget(window=900, limit=1_000_000)
    per_thread = n // threads

    def work(index: int) -> None:
        for i in range(per_thread):
            store.take(f"bench:{index}:{i % 50}", budget, time.time())

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    total = per_thread * threads
    print(f"  {threads} thread(s): {total / elapsed:,.0f} takes/s, {elapsed / total * 1000:.2f} ms each on average")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--takes", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, stores(Path(tmp)) as found:
        for name, store in found:
            print(f"{name}: an attacker's best schedule against one login")
            attacker(store, args.hours)
            print(f"{name}: one atomic take")
            for threads in (1, 8):
                takes(store, args.takes, threads)


if __name__ == "__main__":
    main()
