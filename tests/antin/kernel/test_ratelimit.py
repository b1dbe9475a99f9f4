"""Rate limits and concurrency gates on their real stores: SQLite, PostgreSQL and Redis, under parallel requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from antin.kernel.database import Database
from antin.kernel.ratelimit import BusyError, DatabaseLimitStore, Limiter, RateLimitedError, RedisLimitStore
from antin.kernel.ratelimit.store import LimitStore
from antin.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], LimitStore]]:
    """Builds stores on one backend, each as another worker process would (its own connections)."""
    made: list[LimitStore] = []
    if request.param == "redis":
        from tests.servers import redis_server

        with redis_server(tmp_path / "redis") as url:

            def make_redis() -> LimitStore:
                made.append(RedisLimitStore(url))
                return made[-1]

            yield make_redis
            for store in made:
                store.close()  # type: ignore[attr-defined]
        return
    if request.param == "postgresql":
        from tests.servers import postgres_server

        with postgres_server(tmp_path / "pg") as url:
            upgrade(Database(url))
            yield lambda: DatabaseLimitStore(Database(url, pool_size=10))
        return
    url = f"sqlite:///{tmp_path / 'antin.sqlite3'}"
    upgrade(Database(url))
    yield lambda: DatabaseLimitStore(Database(url))


def test_the_rate_limit_counts_parallel_requests_exactly(store_factory: Callable[[], LimitStore]) -> None:
    workers = [Limiter(store_factory(), host="h") for _ in range(2)]
    allowed = 0
    lock = threading.Lock()
    now = time.time()

    def attempt(i: int) -> None:
        nonlocal allowed
        try:
            workers[i % 2].check_rate("verify", "203.0.113.9", 10, 60, now=now)
        except RateLimitedError as err:
            assert 1 <= err.retry_after <= 60
            return
        with lock:
            allowed += 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(attempt, range(40)))
    assert allowed == 10
    workers[0].check_rate("verify", "198.51.100.1", 10, 60, now=now)  # another client has its own count
    workers[0].check_rate("verify", "203.0.113.9", 10, 60, now=now + 60)  # the next window starts afresh


def test_a_gate_admits_exactly_its_capacity_across_workers(store_factory: Callable[[], LimitStore]) -> None:
    workers = [Limiter(store_factory(), host="h") for _ in range(2)]
    inside = 0
    most = 0
    refused = 0
    lock = threading.Lock()
    everyone_tried = threading.Barrier(12, timeout=30)

    def attempt(i: int) -> None:
        nonlocal inside, most, refused
        try:
            with workers[i % 2].gate("verify", 3, 60):
                with lock:
                    inside += 1
                    most = max(most, inside)
                everyone_tried.wait()
                with lock:
                    inside -= 1
        except BusyError as err:
            assert err.retry_after >= 1
            with lock:
                refused += 1
            everyone_tried.wait()

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(attempt, range(12)))
    assert most == 3 and refused == 9
    with workers[0].gate("verify", 3, 60):  # every slot was released
        pass


def test_a_lease_of_a_dead_worker_runs_out(store_factory: Callable[[], LimitStore]) -> None:
    dead = store_factory()
    assert dead.acquire("verify@h", 1, 1) is not None  # never released
    with pytest.raises(BusyError), Limiter(store_factory(), host="h").gate("verify", 1, 60):
        pass
    time.sleep(2.1)
    with Limiter(store_factory(), host="h").gate("verify", 1, 60):
        pass


def test_each_host_has_its_own_gate(store_factory: Callable[[], LimitStore]) -> None:
    with (
        Limiter(store_factory(), host="host-a").gate("verify", 1, 60),
        Limiter(store_factory(), host="host-b").gate("verify", 1, 60),
    ):
        pass


def test_an_unreachable_store_refuses_as_busy_not_500(tmp_path: Path) -> None:
    from tests.components import free_port

    limiter = Limiter(RedisLimitStore(f"redis://127.0.0.1:{free_port()}/0"), host="h")
    with pytest.raises(BusyError) as err:
        limiter.check_rate("verify", "203.0.113.9", 10, 60)
    assert err.value.retry_after >= 1
    with pytest.raises(BusyError), limiter.gate("verify", 1, 60):
        pass
