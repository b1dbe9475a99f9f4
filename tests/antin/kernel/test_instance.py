"""The instance's clock (aware UTC, moved by tests) and its one get-or-create of services (built once, closed)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from antin.kernel.clock import Clock
from antin.kernel.instance import Instance
from antin.kernel.settings import load_settings

CLOSE_ENOUGH = timedelta(seconds=5)  # between reading the system's time and the clock's, on a busy machine


class Recorder:
    """A service that counts how often it is built and remembers being closed."""

    built = 0

    def __init__(self, instance: Instance, log: list[str] | None = None) -> None:
        type(self).built += 1
        self.instance = instance
        self.closed = False
        self.log = log if log is not None else []

    def close(self) -> None:
        self.closed = True
        self.log.append("service closed")


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    Recorder.built = 0
    return Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path)}))


# -- the clock ----------------------------------------------------------------------------------------------


def test_the_clock_tells_aware_utc_time() -> None:
    clock = Clock()
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < CLOSE_ENOUGH
    assert abs(clock() - datetime.now(UTC)) < CLOSE_ENOUGH  # also a zero-argument callable


def test_advance_moves_time_and_reset_brings_it_back() -> None:
    clock = Clock()
    clock.advance(timedelta(minutes=31))
    assert abs(clock.now() - (datetime.now(UTC) + timedelta(minutes=31))) < CLOSE_ENOUGH
    clock.advance(timedelta(minutes=30))  # advances add up
    assert abs(clock.now() - (datetime.now(UTC) + timedelta(minutes=61))) < CLOSE_ENOUGH
    clock.advance(timedelta(days=-2))  # and can go back
    assert abs(clock.now() - (datetime.now(UTC) - timedelta(days=2, minutes=-61))) < CLOSE_ENOUGH
    assert clock.now().utcoffset() == timedelta(0)
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < CLOSE_ENOUGH


def test_each_instance_has_its_own_clock(tmp_path: Path) -> None:
    one = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path / "one")}))
    two = Instance(load_settings({"ANTIN_DATA_DIR": str(tmp_path / "two")}))
    one.clock.advance(timedelta(hours=3))
    assert one.clock.now() - two.clock.now() > timedelta(hours=3) - CLOSE_ENOUGH


# -- Instance.service ---------------------------------------------------------------------------------------


def test_a_service_is_built_once_per_key(instance: Instance) -> None:
    first = instance.service("antin.test", Recorder)
    assert instance.service("antin.test", Recorder) is first
    assert first.instance is instance
    other = instance.service("antin.other", Recorder)
    assert other is not first and Recorder.built == 2
    assert instance.extensions["antin.test"] is first


def test_a_service_is_built_once_when_many_threads_ask_at_once(instance: Instance) -> None:
    gate = threading.Barrier(8)

    def slow(instance: Instance) -> Recorder:
        time.sleep(0.2)  # a slow start (a connection pool, slapd) widens the window for a second build
        return Recorder(instance)

    def ask(_: int) -> Recorder:
        gate.wait()
        return instance.service("antin.slow", slow)

    with ThreadPoolExecutor(8) as pool:
        services = list(pool.map(ask, range(8)))
    assert Recorder.built == 1
    assert all(s is services[0] for s in services)


def test_close_closes_the_services_then_runs_the_callbacks(instance: Instance) -> None:
    log: list[str] = []
    service = instance.service("antin.test", lambda i: Recorder(i, log))
    plain = instance.service("antin.plain", lambda i: object())  # a service without close() is left as it is
    instance.on_close(lambda: log.append("callback"))
    instance.close()
    assert service.closed and log == ["service closed", "callback"]
    assert instance.extensions == {}
    instance.close()  # safe twice: nothing is closed again
    assert log == ["service closed", "callback"]
    again = instance.service("antin.test", Recorder)  # after close, a new one is built on demand
    assert again is not service and not again.closed
    assert instance.service("antin.plain", lambda i: object()) is not plain
