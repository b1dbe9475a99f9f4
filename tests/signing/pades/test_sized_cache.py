"""The verifier's caches: bounded by count and by the bytes their entries weigh."""

from __future__ import annotations

import threading

import pytest

from signing.pades.reading.sized_cache import SizedLRU


def test_a_value_is_made_once_then_served_from_the_cache() -> None:
    cache: SizedLRU[str, int] = SizedLRU(4, 100)
    made: list[str] = []

    def make(key: str) -> int:
        made.append(key)
        return len(made)

    assert cache.get_or_make("a", 10, lambda: make("a")) == 1
    assert cache.get_or_make("a", 10, lambda: make("a")) == 1
    assert made == ["a"] and len(cache) == 1 and cache.weight == 10


def test_the_count_bound_drops_the_least_recently_used() -> None:
    cache: SizedLRU[str, str] = SizedLRU(2, 1000)
    cache.get_or_make("a", 1, lambda: "A")
    cache.get_or_make("b", 1, lambda: "B")
    cache.get_or_make("a", 1, lambda: "not made")  # a is now the most recent
    cache.get_or_make("c", 1, lambda: "C")
    assert len(cache) == 2
    assert cache.get_or_make("a", 1, lambda: "made again") == "A"
    assert cache.get_or_make("b", 1, lambda: "made again") == "made again"  # b was dropped


def test_the_byte_bound_drops_entries_until_the_weight_fits() -> None:
    cache: SizedLRU[int, int] = SizedLRU(100, 100)
    for key in range(10):
        cache.get_or_make(key, 30, lambda: 0)
    assert cache.weight <= 100 and len(cache) == 3
    assert cache.get_or_make(9, 30, lambda: 1) == 0  # the newest stayed


def test_an_entry_heavier_than_the_entry_bound_is_returned_but_never_kept() -> None:
    cache: SizedLRU[str, str] = SizedLRU(10, 1000, max_entry_bytes=50)
    cache.get_or_make("small", 10, lambda: "s")
    assert cache.get_or_make("big", 51, lambda: "B") == "B"
    assert len(cache) == 1 and cache.weight == 10  # and the small one was not pushed out for it
    assert cache.get_or_make("big", 51, lambda: "made again") == "made again"


def test_a_failure_to_make_is_not_cached() -> None:
    cache: SizedLRU[str, str] = SizedLRU(10, 1000)

    def broken() -> str:
        raise ValueError("not DER")

    with pytest.raises(ValueError):
        cache.get_or_make("x", 1, broken)
    assert len(cache) == 0 and cache.get_or_make("x", 1, lambda: "ok") == "ok"


def test_threads_never_push_it_past_its_bounds() -> None:
    cache: SizedLRU[int, int] = SizedLRU(50, 500)

    def work(offset: int) -> None:
        for key in range(offset, offset + 2000):
            cache.get_or_make(key % 300, 7, lambda key=key: key)  # type: ignore[misc]

    threads = [threading.Thread(target=work, args=(n * 37,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) <= 50 and cache.weight <= 500
    assert cache.weight == 7 * len(cache)


def test_a_cache_without_room_is_refused() -> None:
    with pytest.raises(ValueError):
        SizedLRU(0, 10)
