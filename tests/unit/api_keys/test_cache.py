"""The in-process key-record cache: TTL, invalidation, bounds, thread safety."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from api_keys.cache import KeyRecordCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def record(make_key):
    return make_key()[1]


def test_record_is_served_until_its_ttl_ends(clock, record):
    cache = KeyRecordCache(ttl_seconds=5, clock=clock)
    cache.put(record)
    clock.now += 4.999
    assert cache.get(record.key_id) is record
    clock.now += 0.001
    assert cache.get(record.key_id) is None
    assert len(cache) == 0


def test_get_or_load_loads_once_and_caches_misses_briefly(clock, record):
    calls = []

    def loader(key_id):
        calls.append(key_id)
        return record if key_id == record.key_id else None

    cache = KeyRecordCache(ttl_seconds=5, negative_ttl_seconds=1, clock=clock)
    assert cache.get_or_load(record.key_id, loader) is record
    assert cache.get_or_load(record.key_id, loader) is record
    assert cache.get_or_load("unknownkey12", loader) is None
    assert cache.get_or_load("unknownkey12", loader) is None
    assert calls == [record.key_id, "unknownkey12"]
    clock.now += 1
    cache.get_or_load("unknownkey12", loader)
    assert calls.count("unknownkey12") == 2


def test_invalidate_drops_a_key_and_invalidate_merchant_drops_all_its_keys(clock, make_key):
    cache = KeyRecordCache(clock=clock)
    a, b = make_key()[1], make_key()[1]
    other = make_key(merchant_id="m-2")[1]
    for record in (a, b, other):
        cache.put(record)
    cache.invalidate(a.key_id)
    assert cache.get(a.key_id) is None and cache.get(b.key_id) is b
    cache.invalidate_merchant("m-1")
    assert cache.get(b.key_id) is None and cache.get(other.key_id) is other
    cache.clear()
    assert len(cache) == 0


def test_a_load_racing_with_an_invalidation_is_not_stored(clock, record):
    cache = KeyRecordCache(clock=clock)

    def slow_loader(key_id):
        cache.invalidate(key_id)  # e.g. a revoke arrives while the database read runs
        return record

    assert cache.get_or_load(record.key_id, slow_loader) is record
    assert cache.get(record.key_id) is None


def test_loader_returning_another_key_is_refused(clock, record):
    cache = KeyRecordCache(clock=clock)
    with pytest.raises(ValueError):
        cache.get_or_load("otherkey1234", lambda key_id: record)


def test_cache_is_bounded_and_drops_the_least_recently_used(clock, make_key):
    cache = KeyRecordCache(max_entries=2, clock=clock)
    a, b, c = (make_key()[1] for _ in range(3))
    cache.put(a)
    cache.put(b)
    cache.get(a.key_id)
    cache.put(c)
    assert len(cache) == 2
    assert cache.get(b.key_id) is None and cache.get(a.key_id) is a


@pytest.mark.parametrize("kwargs", [{"ttl_seconds": 0}, {"max_entries": 0}])
def test_cache_refuses_nonsense_settings(kwargs):
    with pytest.raises(ValueError):
        KeyRecordCache(**kwargs)


def test_concurrent_use_keeps_the_cache_consistent(make_key):
    records = [make_key()[1] for _ in range(50)]
    cache = KeyRecordCache(max_entries=40)
    errors = []

    def worker(offset):
        try:
            for i in range(2000):
                record = records[(i + offset) % len(records)]
                cache.put(record)
                got = cache.get(record.key_id)
                assert got is None or got.key_id == record.key_id
                if i % 97 == 0:
                    cache.invalidate_merchant("m-1")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 40
    assert replace(records[0]) == records[0]
