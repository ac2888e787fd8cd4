"""Revocation at once on this host (issue #14 item 4, R-B1): a generation counter that every
process of the host shares through a memory-mapped file in the instance folder.

Whatever changes a key's verdict (a revoke, a freeze, a suspension, a rotation: the services'
``keys_changed``) bumps the counter in the commit's ``after_commit`` hook, so before the call
returns to its caller. Every verification reads the counter (8 bytes of shared memory, no
system call) before it looks a key up; a process that finds it moved drops its whole key cache
and reloads from the database. So no worker on the host answers ``allowed`` from a record
older than the change. Other hosts learn it through Redis pub/sub (``app.dataplane.runtime``)
or, without Redis, from the cache's one-second TTL.

A bump takes an exclusive ``flock`` on the file (processes) and a lock (threads); a read takes
none: an aligned 8-byte load is never torn on the platforms we run on, and a torn read would
only cost a spurious cache clear.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading

FILE_NAME = "keys.generation"
_COUNTER = struct.Struct("<Q")


class HostGeneration:
    """The host's key generation counter in ``path`` (created, 8 bytes, on first use)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < _COUNTER.size:
            os.ftruncate(self._fd, _COUNTER.size)
        self._map = mmap.mmap(self._fd, _COUNTER.size)
        self._lock = threading.Lock()

    def current(self) -> int:
        """The counter's value now."""
        return _COUNTER.unpack_from(self._map, 0)[0]

    def bump(self) -> int:
        """Add one (every process of the host sees it at once); the new value."""
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                value = _COUNTER.unpack_from(self._map, 0)[0] + 1
                _COUNTER.pack_into(self._map, 0, value)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        return value

    def close(self) -> None:
        """Unmap and close the file."""
        self._map.close()
        os.close(self._fd)


class GenerationWatch:
    """One process's view of the counter: :meth:`changed` says whether it moved since the last
    call (and remembers the new value). Threads may call it concurrently; at worst two of them
    both see the move and both clear the cache."""

    def __init__(self, generation: HostGeneration) -> None:
        self.generation = generation
        self.seen = generation.current()

    def changed(self) -> bool:
        """Whether the counter moved since the last call."""
        value = self.generation.current()
        if value == self.seen:
            return False
        self.seen = value
        return True
