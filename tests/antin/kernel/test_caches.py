"""The cache registry behind antin_cache_entries and antin_cache_bytes (issue 14, item 4)."""

from __future__ import annotations

import gc

from prometheus_client import REGISTRY

from antin.kernel.caches import CacheSize, cache_sizes, publish_cache_sizes, register_cache, register_instance_cache


class Holder:
    def __init__(self, entries: int) -> None:
        self.entries = {i: i for i in range(entries)}


def test_caches_of_several_owners_are_summed_and_an_owner_gone_counts_no_more() -> None:
    first, second = Holder(3), Holder(4)
    for holder in (first, second):
        register_instance_cache("test-holders", holder, lambda h: CacheSize(len(h.entries)))
    assert cache_sizes()["test-holders"] == CacheSize(7)
    del first
    gc.collect()
    assert cache_sizes()["test-holders"] == CacheSize(4)


def test_published_as_gauges_by_cache() -> None:
    register_cache("test-sized", lambda: CacheSize(5, 1234, 10, 2))
    publish_cache_sizes()
    for metric, value in (
        ("antin_cache_entries", 5),
        ("antin_cache_bytes", 1234),
        ("antin_cache_hits", 10),
        ("antin_cache_misses", 2),
    ):
        assert REGISTRY.get_sample_value(metric, {"cache": "test-sized"}) == value
