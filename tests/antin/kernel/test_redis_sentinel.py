"""``ANTIN_REDIS_URL=redis+sentinel://…``: the stores find the primary through a real Redis Sentinel and follow it
when the primary dies and Sentinel promotes the replica (issue 14, item 10: Redis with Sentinel)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from antin.kernel.ratelimit.store import RedisLimitStore
from antin.kernel.redis_client import redis_client, redis_url_problem
from antin.settings import load_settings
from idp.oidc.client_changes import RedisChangeNotices
from idp.throttle.store import Budget, RedisThrottleStore
from tests.components import free_port, require_command

pytestmark = [pytest.mark.redis]

T = TypeVar("T")
SERVICE = "antin"


@dataclass
class SentinelSetup:
    url: str  # redis+sentinel://…
    primary: subprocess.Popen[bytes]
    primary_port: int
    replica_port: int
    sentinel_port: int


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis(port=port, socket_connect_timeout=0.2).ping()
            return
        except redis.RedisError:
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


@contextmanager
def sentinel_setup(folder: Path) -> Iterator[SentinelSetup]:
    """A primary, its replica and one Sentinel (quorum 1) that declares a primary down after 500 ms."""
    server = require_command("redis-server")
    folder.mkdir(parents=True, exist_ok=True)
    primary_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with ExitStack() as stack:

        def start(*args: str) -> subprocess.Popen[bytes]:
            proc = subprocess.Popen([server, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(lambda: (proc.poll() is None and proc.kill(), proc.wait(10)))
            return proc

        primary = start("--port", str(primary_port), "--dir", str(folder), *common)
        _wait_port(primary_port, primary)
        replica = start(
            "--port", str(replica_port), "--dir", str(folder), "--replicaof", "127.0.0.1", str(primary_port), *common
        )
        _wait_port(replica_port, replica)
        conf = folder / "sentinel.conf"
        conf.write_text(
            f"port {sentinel_port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 500\n"
            f"sentinel failover-timeout {SERVICE} 3000\n"
        )
        sentinel = start(str(conf), "--sentinel")
        _wait_port(sentinel_port, sentinel)
        wait_for(lambda: redis.Redis(port=replica_port).info("replication")["master_link_status"] == "up")
        yield SentinelSetup(
            f"redis+sentinel://127.0.0.1:{sentinel_port}/{SERVICE}/0",
            primary,
            primary_port,
            replica_port,
            sentinel_port,
        )


def wait_for(check: Callable[[], T], seconds: float = 20.0) -> T:
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
            if result:
                return result
        except redis.RedisError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[SentinelSetup]:
    with sentinel_setup(tmp_path / "redis") as ready:
        yield ready


def test_the_stores_follow_the_primary_through_a_failover(setup: SentinelSetup, request: pytest.FixtureRequest) -> None:
    limits = RedisLimitStore(setup.url)
    notices = RedisChangeNotices(setup.url, retry_seconds=0.2)
    heard: list[str | None] = []
    notices.listen(heard.append)
    request.addfinalizer(notices.close)  # before the servers stop: no listener left retrying a Redis gone
    assert notices.subscribed.wait(10)
    notices.announce("client-a")
    wait_for(lambda: "client-a" in heard)
    throttle = RedisThrottleStore(setup.url)
    budget = Budget(limit=100, window=600)
    assert limits.hit("ip:203.0.113.9", 600)[0] == 1
    assert throttle.take("account:an.nguyen", budget, time.time()).allowed
    client = redis_client(setup.url)
    assert client.connection_pool.get_master_address() == ("127.0.0.1", setup.primary_port)  # type: ignore[attr-defined]

    # the primary dies (kill -9); Sentinel promotes the replica; the stores' next calls reach it
    setup.primary.send_signal(signal.SIGKILL)
    setup.primary.wait(10)
    started = time.monotonic()
    hits = wait_for(lambda: limits.hit("ip:203.0.113.9", 600)[0])
    recovered = time.monotonic() - started
    assert client.connection_pool.get_master_address() == ("127.0.0.1", setup.replica_port)  # type: ignore[attr-defined]
    assert hits >= 1
    assert wait_for(lambda: throttle.take("account:an.nguyen", budget, time.time()).allowed)
    # the client-change listener subscribes again on the new primary, and hears what is announced there
    assert notices.subscribed.wait(20)
    notices.announce("client-b")
    wait_for(lambda: "client-b" in heard)
    print(f"Sentinel failover: the stores wrote again {recovered:.1f} s after the primary was killed")


def test_the_settings_check_the_url() -> None:
    assert redis_url_problem("redis+sentinel://s1:26379,s2:26380/antin/0") is None
    assert redis_url_problem("redis://127.0.0.1:6379/0") is None
    assert "service" in (redis_url_problem("redis+sentinel://s1:26379") or "")
    assert "redis+sentinel://" in (redis_url_problem("http://x") or "")
    with pytest.raises(Exception, match="ANTIN_REDIS_URL"):
        load_settings({"ANTIN_REDIS_URL": "redis+sentinel://:26379/antin"})
