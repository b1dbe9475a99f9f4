"""The heartbeat a worker of `antin serve` gives its server's watchdog: it stops at the oldest request in flight,
and moves on once that request's answer is sent, however the server ends it (the serve tests kill real workers)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from antin.in_flight import InFlight, track_requests


def test_the_heartbeat_stays_at_the_oldest_request_in_flight_until_it_ends() -> None:
    in_flight = InFlight()
    first = in_flight.begin()
    time.sleep(0.05)
    second = in_flight.begin()
    time.sleep(0.05)
    held = in_flight.heartbeat()
    assert time.monotonic() - held >= 0.1  # the first request's start, not now
    in_flight.end(first)
    after_first = in_flight.heartbeat()
    assert held < after_first <= time.monotonic() - 0.05  # the second one's start
    in_flight.end(second)
    assert in_flight.heartbeat() > after_first


def answering(body: Iterable[bytes]) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    def app(_environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [])
        return body

    return app


def still_in_flight(in_flight: InFlight) -> bool:
    return time.monotonic() - in_flight.heartbeat() > 0.02


def test_a_list_answer_is_returned_as_it_is_and_ends_the_request() -> None:
    in_flight = InFlight()
    body = [b"ok"]
    answer = track_requests(answering(body), in_flight)({}, lambda *_: None)
    assert answer is body  # the server's fast path for a list is kept
    time.sleep(0.03)
    assert not still_in_flight(in_flight)


class Streamed:
    def __init__(self) -> None:
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("how", ["read to the end", "closed half read"])
def test_a_streamed_answer_ends_the_request_when_sent_or_closed_and_closes_the_apps_iterable(how: str) -> None:
    in_flight = InFlight()
    streamed = Streamed()
    answer = iter(track_requests(answering(streamed), in_flight)({}, lambda *_: None))
    assert next(answer) == b"a"
    time.sleep(0.03)
    assert still_in_flight(in_flight)  # its body is still being sent
    if how == "read to the end":
        assert list(answer) == [b"b"]
    else:
        answer.close()  # type: ignore[attr-defined]  # a generator: what a server calls (PEP 3333's close)
    time.sleep(0.03)
    assert not still_in_flight(in_flight)
    assert streamed.closed


def test_an_app_that_raises_ends_its_request() -> None:
    in_flight = InFlight()

    def failing(_environ: dict[str, Any], _start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        track_requests(failing, in_flight)({}, lambda *_: None)
    time.sleep(0.03)
    assert not still_in_flight(in_flight)
