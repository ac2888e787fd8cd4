"""An in-process, thread-safe TTL cache of :class:`KeyRecord` by key id.

Every verification needs the key's record; reading it from the database each time would dominate
latency. Records are cached for a short TTL (seconds) in each process; the application removes
entries at once on revoke/rotate/freeze through ``invalidate``/``invalidate_merchant``, wired to
Redis pub/sub across processes. The TTL bounds staleness when a message is lost.

Misses (no key with that id) are cached too, for a shorter TTL, so a flood of well-formed tokens
with random key ids cannot reach the database on every request. A load that races with an
invalidation is not stored, so an invalidation is never undone by a slow loader. The cache is
bounded: the least recently used entry is dropped first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from api_keys.verification import KeyRecord

_MISSING = object()


class KeyRecordCache:
    """TTL + LRU cache of key records. ``clock`` is injectable for tests (monotonic seconds)."""

    def __init__(
        self,
        ttl_seconds: float = 5.0,
        negative_ttl_seconds: float = 1.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0 or negative_ttl_seconds < 0 or max_entries < 1:
            raise ValueError("TTLs and size must be positive")
        self.ttl_seconds = ttl_seconds
        self.negative_ttl_seconds = negative_ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[KeyRecord | None, float]] = OrderedDict()
        self._generation = 0  # bumped by every invalidation

    def _lookup(self, key_id: str) -> object:
        entry = self._entries.get(key_id)
        if entry is None:
            return _MISSING
        if entry[1] <= self._clock():
            del self._entries[key_id]
            return _MISSING
        self._entries.move_to_end(key_id)
        return entry[0]

    def _store(self, key_id: str, record: KeyRecord | None) -> None:
        ttl = self.ttl_seconds if record is not None else self.negative_ttl_seconds
        if ttl <= 0:
            return
        self._entries[key_id] = (record, self._clock() + ttl)
        self._entries.move_to_end(key_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def get(self, key_id: str) -> KeyRecord | None:
        """The cached record, or None when absent, expired or cached as a miss."""
        with self._lock:
            found = self._lookup(key_id)
        return None if found is _MISSING else found  # type: ignore[return-value]

    def put(self, record: KeyRecord) -> None:
        """Cache ``record`` under its key id."""
        with self._lock:
            self._store(record.key_id, record)

    def get_or_load(
        self, key_id: str, loader: Callable[[str], KeyRecord | None]
    ) -> KeyRecord | None:
        """The cached record, else ``loader(key_id)`` (called outside the lock) cached.

        A None from the loader is cached as a miss for ``negative_ttl_seconds``.
        """
        with self._lock:
            found = self._lookup(key_id)
            generation = self._generation
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        record = loader(key_id)
        if record is not None and record.key_id != key_id:
            raise ValueError("loader returned a record for another key id")
        with self._lock:
            if self._generation == generation:
                self._store(key_id, record)
        return record

    def invalidate(self, key_id: str) -> None:
        """Drop one key's entry (hit or miss) at once."""
        with self._lock:
            self._generation += 1
            self._entries.pop(key_id, None)

    def invalidate_merchant(self, merchant_id: str) -> None:
        """Drop every cached key of a merchant (freeze, suspension)."""
        with self._lock:
            self._generation += 1
            stale = [
                key_id
                for key_id, (record, _) in self._entries.items()
                if record is not None and record.merchant_id == merchant_id
            ]
            for key_id in stale:
                del self._entries[key_id]

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
