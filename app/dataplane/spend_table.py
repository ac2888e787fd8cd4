"""The host's table of running totals in shared memory (issue #14 item 3; R-E5): the slots
behind :class:`app.dataplane.spend.HostSpend`, in a memory-mapped file that every process of
the host maps (``<instance>/spend.map``, like ``keys.generation``).

Layout: a 64-byte header (magic, version, number of slots), then fixed 128-byte slots. A slot
holds one running total — its key ``subject␟period key␟currency`` (UTF-8, at most 80 bytes) and
a 32-bit tag (CRC-32 of the key, never 0) — with the host's ``leased`` and ``spent`` and the
``limit`` it last leased at (integers of 1/10,000 of the currency unit), the time it was last
used and the time from which it may be reused for another total (its period is over
everywhere). An open-addressing table with linear probing: a total's slot is the first slot
from ``tag % slots`` on that holds its key; a slot with tag 0 has never been used and ends
every probe. Slots are never emptied again, only reused for another key, so probes stay intact.

Exclusion is per slot, across processes and threads:

* across processes, an exclusive ``fcntl`` byte-range lock on the slot's 128 bytes. These are
  open-file-description locks (``F_OFD_SETLKW``), not classic ``lockf`` locks: both are fcntl
  record locks that the kernel drops when the process dies (a crash mid-charge leaves no lock
  held), but classic locks belong to the whole process, so with several waiting threads the
  kernel's deadlock detector reports false ``EDEADLK``s, and closing any other descriptor of
  the file drops them all. OFD locks belong to this object's own ``open``;
* across threads of one process (which share that open file), a stripe of thread locks, taken
  first (fcntl locks never exclude their own owner).

A request with several totals locks their slots in ascending slot order (stripes first, in
ascending stripe order), so two requests can never wait on each other. Claiming a slot for a
new key takes the header's range (an insert lock) and then the slot's, never the other way.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
import weakref
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from app import turnstile
from app.dataplane import nogil

MAGIC = b"KYBSPEND"
VERSION = 1
HEADER_SIZE = 64
SLOT_SIZE = 128
KEY_AT = 48
KEY_MAX = SLOT_SIZE - KEY_AT
STRIPES = 64

_HEADER = struct.Struct("<8sII")  # magic, version, slots
_TAG = struct.Struct("<IH")  # tag, key length
_VALUES = struct.Struct("<qqqdq")  # leased, spent, limit, last used, reusable from
_VALUES_AT = 8
_FLOCK = struct.Struct("hhqqi4x")  # struct flock on Linux x86-64 / arm64 (32 bytes)
_LOCK = getattr(fcntl, "F_OFD_SETLKW", None)
_UNLOCK = getattr(fcntl, "F_OFD_SETLK", None)

_OPEN_TABLES: weakref.WeakSet[SpendTable] = weakref.WeakSet()


def tag_of(key: bytes) -> int:
    """The key's probe tag: its CRC-32, with 0 (an unused slot) mapped to 1."""
    return zlib.crc32(key) or 1


class TableFull(Exception):
    """No slot is free: every slot holds a total whose period is not over (fail safe: the
    caller refuses the charge)."""


class SpendTable:
    """The slots in ``path`` (created with ``slots`` slots; an existing file keeps its own)."""

    def __init__(self, path: str | os.PathLike[str], slots: int = 131072) -> None:
        if _LOCK is None:
            raise RuntimeError("open-file-description locks (Linux 3.15+) are required")
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.path = os.fspath(path)
        self._wanted = slots
        self._open()
        _OPEN_TABLES.add(self)

    def _open(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # one process lays the file out
        try:
            head = os.pread(self._fd, _HEADER.size, 0)
            if len(head) == _HEADER.size and head[:8] == MAGIC:
                _magic, version, self.slots = _HEADER.unpack(head)
                if version != VERSION:
                    raise RuntimeError(f"{self.path}: spend table version {version}, "
                                       f"this code reads {VERSION}")
            else:
                self.slots = self._wanted
                os.ftruncate(self._fd, HEADER_SIZE + self.slots * SLOT_SIZE)
                os.pwrite(self._fd, _HEADER.pack(MAGIC, VERSION, self.slots), 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, HEADER_SIZE + self.slots * SLOT_SIZE)
        self._stripes = [threading.Lock() for _ in range(STRIPES)]
        self._insert = threading.Lock()

    def _reopen_after_fork(self) -> None:
        """A forked child shares the parent's open file, hence its OFD locks: open its own."""
        self._map.close()
        os.close(self._fd)
        self._open()

    def close(self) -> None:
        """Unmap and close (the locks of this object go with it)."""
        _OPEN_TABLES.discard(self)
        self._map.close()
        os.close(self._fd)

    # -- locks -----------------------------------------------------------------------------

    def _range(self, kind: int, start: int, length: int) -> None:
        fcntl.fcntl(self._fd, _LOCK if kind != fcntl.F_UNLCK else _UNLOCK,
                    _FLOCK.pack(kind, os.SEEK_SET, start, length, 0))

    def acquire(self, order: Sequence[int]) -> None:
        """Lock the slots ``order`` (ascending, no duplicates) exclusively: their thread
        stripes first (ascending), then their byte ranges. Pair with :meth:`release`.

        A free range is taken without handing the GIL back (:mod:`app.dataplane.nogil`): the
        few microseconds a charge holds its slots are not stretched by a switch interval spent
        waiting for the GIL, which every other thread wanting the slot would wait out too.
        Only a range another process holds is waited for with the GIL released."""
        stripes = self._stripes
        if len(order) == 1:  # the common case, without the loops
            index = order[0]
            stripe = stripes[index % STRIPES]
            turnstile.acquire(stripe)
            try:
                self._lock_range(index)
            except BaseException:
                stripe.release()
                raise
            return
        for stripe in sorted({i % STRIPES for i in order}):
            turnstile.acquire(stripes[stripe])
        done = 0
        try:
            for index in order:
                self._lock_range(index)
                done += 1
        except BaseException:
            self.release(order, done)
            raise

    def _lock_range(self, index: int) -> None:
        flock = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, HEADER_SIZE + index * SLOT_SIZE,
                            SLOT_SIZE, 0)
        if not (nogil.AVAILABLE and nogil.try_lock(self._fd, flock)):
            turnstile.step_aside()
            fcntl.fcntl(self._fd, _LOCK, flock)  # held by another process: wait for it

    def _unlock_range(self, index: int) -> None:
        flock = _FLOCK.pack(fcntl.F_UNLCK, os.SEEK_SET, HEADER_SIZE + index * SLOT_SIZE,
                            SLOT_SIZE, 0)
        if nogil.AVAILABLE:
            nogil.unlock(self._fd, flock)
        else:
            fcntl.fcntl(self._fd, _UNLOCK, flock)

    def release(self, order: Sequence[int], ranges: int | None = None) -> None:
        """Unlock what :meth:`acquire` locked (or its first ``ranges`` byte ranges)."""
        if len(order) == 1 and ranges is None:
            index = order[0]
            self._unlock_range(index)
            self._stripes[index % STRIPES].release()
            return
        for index in order[:ranges]:
            self._unlock_range(index)
        for stripe in {i % STRIPES for i in order}:
            self._stripes[stripe].release()

    @contextmanager
    def locked(self, indices: Sequence[int]) -> Iterator[None]:
        """Hold the slots ``indices`` exclusively (in ascending order; duplicates are fine)."""
        order = sorted(set(indices))
        self.acquire(order)
        try:
            yield
        finally:
            self.release(order)

    @contextmanager
    def _inserting(self) -> Iterator[None]:
        with self._insert:
            self._range(fcntl.F_WRLCK, 0, HEADER_SIZE)
            try:
                yield
            finally:
                self._range(fcntl.F_UNLCK, 0, HEADER_SIZE)

    # -- slots -----------------------------------------------------------------------------

    def holds(self, index: int, key: bytes, tag: int) -> bool:
        """Whether slot ``index`` holds ``key`` (re-checked under the slot's lock)."""
        at = HEADER_SIZE + index * SLOT_SIZE
        slot_tag, length = _TAG.unpack_from(self._map, at)
        return (slot_tag == tag and length == len(key)
                and self._map[at + KEY_AT:at + KEY_AT + length] == key)

    def find(self, key: bytes, tag: int) -> int | None:
        """The slot holding ``key``, or None if it has none (no lock: confirm with
        :meth:`holds` under the slot's lock)."""
        index, slots, view = tag % self.slots, self.slots, self._map
        for _ in range(slots):
            slot_tag = _TAG.unpack_from(view, HEADER_SIZE + index * SLOT_SIZE)[0]
            if slot_tag == 0:
                return None
            if slot_tag == tag and self.holds(index, key, tag):
                return index
            index = index + 1 if index + 1 < slots else 0
        return None

    def claim(self, key: bytes, tag: int, reusable_from: int, now: float) -> int:
        """The slot of ``key``, claiming a free one (never used, or holding a total that may be
        reused at ``now``) if it has none. Raises :class:`TableFull`."""
        if len(key) > KEY_MAX:
            raise ValueError(f"a running total's key is at most {KEY_MAX} bytes")
        with self._inserting():
            found = self.find(key, tag)
            if found is not None:
                return found
            index, free = tag % self.slots, None
            for _ in range(self.slots):
                at = HEADER_SIZE + index * SLOT_SIZE
                if _TAG.unpack_from(self._map, at)[0] == 0:
                    free = index if free is None else free
                    break
                if free is None and _VALUES.unpack_from(self._map, at + _VALUES_AT)[4] <= now:
                    free = index
                index = index + 1 if index + 1 < self.slots else 0
            if free is None:
                raise TableFull(f"all {self.slots} slots hold running totals still in force")
            with self.locked([free]):
                at = HEADER_SIZE + free * SLOT_SIZE
                _VALUES.pack_into(self._map, at + _VALUES_AT, 0, 0, 0, now, reusable_from)
                self._map[at + KEY_AT:at + KEY_AT + len(key)] = key
                _TAG.pack_into(self._map, at, tag, len(key))  # last: readers match on it
            return free

    def key(self, index: int) -> bytes:
        """The key held by slot ``index`` (empty if never used)."""
        at = HEADER_SIZE + index * SLOT_SIZE
        length = _TAG.unpack_from(self._map, at)[1]
        return self._map[at + KEY_AT:at + KEY_AT + length]

    def used(self) -> Iterator[int]:
        """Every slot that holds a key (a scan of the whole table, its tags read at C speed:
        each slot's first 4 bytes are its tag)."""
        whole = memoryview(self._map)
        try:
            words = whole[HEADER_SIZE:HEADER_SIZE + self.slots * SLOT_SIZE].cast("I")
            try:
                tags = words[::SLOT_SIZE // 4].tolist()
            finally:
                words.release()
        finally:
            whole.release()
        return iter([index for index, tag in enumerate(tags) if tag])

    def read(self, index: int) -> tuple[int, int, int, float, int]:
        """(leased, spent, limit, last used, reusable from) of slot ``index``."""
        return _VALUES.unpack_from(self._map, HEADER_SIZE + index * SLOT_SIZE + _VALUES_AT)

    def write(self, index: int, leased: int, spent: int, limit: int, last_used: float,
              reusable_from: int) -> None:
        """Store slot ``index``'s values (hold its lock)."""
        _VALUES.pack_into(self._map, HEADER_SIZE + index * SLOT_SIZE + _VALUES_AT,
                          leased, spent, limit, last_used, reusable_from)


def _after_fork_in_child() -> None:
    for table in list(_OPEN_TABLES):
        table._reopen_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
