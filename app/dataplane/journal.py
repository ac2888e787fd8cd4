"""Journal-first audit (issue #14 item 2, R-B5): every worker process appends each verification
event to an append-only journal file of its own *before* it answers; the host's shipper
(``app.dataplane.shipper``) links the events into the hash chain in the database afterwards.

Why: waiting for another process's acknowledgement costs a request more CPU (a cross-core
wake-up, a GIL hand-back) than the verification itself. An ``O_APPEND`` ``write`` puts the
event in the kernel before the answer leaves, so a ``kill -9`` of the worker, the master or the
shipper loses nothing; power loss is what ``KYB_AUDIT_FSYNC`` trades (:data:`FSYNC_MODES`).

Files: ``<journal dir>/<pid>-<start>-<n>.kjl``; ``<journal dir>`` names the database it ships to
(:func:`journal_dir`), so two databases served from one checkout never mix their events. A
process writes one file at a time and rotates at ``max_bytes``; only the shipper removes files,
and only once every event in them is in the database.

Record format: ``b"KJ"`` · payload length (u32 LE) · CRC-32 of the payload (u32 LE) · payload
(UTF-8 JSON of the event draft, its id already assigned, see ``app.audit.wire``). A reader
treats an incomplete last record as not yet written (a torn tail) and a complete record whose
magic or checksum is wrong as corruption (:class:`CorruptJournal`).

The event's id is assigned here, so the answer's ``audit_id`` is final at once; its place in
the chain (seq, hash) follows within the shipper's bound (``GET /readyz`` shows the lag).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from app import turnstile
from app.audit.batcher import AuditUnavailable, StoredEvent
from app.audit.trail import EventDraft
from app.audit.wire import draft_to_wire
from app.dataplane import nogil
from app.models.base import sortable_id

# A record is appended under the journal's lock: written without handing the GIL back.
_write = nogil.write if nogil.AVAILABLE else os.write
log = logging.getLogger("kybgate.audit.journal")

MAGIC = b"KJ"
HEADER = struct.Struct("<2sII")
MAX_RECORD = 256 * 1024  # one event is well under 8 KB (every field is length-bounded)
SUFFIX = ".kjl"
#: ``off``: the kernel holds the event once ``write`` returned (survives any process crash,
#: not a power loss); ``batch``: a thread fsyncs the journal every :data:`BATCH_SYNC_SECONDS`
#: (a power loss loses at most that much); ``always``: the worker fsyncs (grouped with the
#: other threads' events) before it answers.
FSYNC_MODES = ("off", "batch", "always")
BATCH_SYNC_SECONDS = 0.05


class CorruptJournal(ValueError):
    """A complete record that is not what a writer wrote (bad magic, length or checksum)."""


def journal_dir(instance_path: str, database_url: str, configured: str | None = None) -> str:
    """Where this host's workers journal events for ``database_url``: ``configured``
    (``KYB_AUDIT_JOURNAL_DIR``) or ``<instance>/journal/<digest of the database URL>``."""
    if configured:
        return configured
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    return os.path.join(instance_path, "journal", digest)


def encode_record(wire: dict) -> bytes:
    """One record (header and payload) for the event draft ``wire``."""
    payload = json.dumps(wire, separators=(",", ":"), ensure_ascii=False,
                         default=str).encode()
    if len(payload) > MAX_RECORD:
        raise ValueError(f"audit event of {len(payload)} bytes is over {MAX_RECORD}")
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


@dataclass(frozen=True, slots=True)
class Record:
    """One complete record of a journal: its payload and the offset just after it."""

    wire: dict
    end: int


def read_records(data: bytes, start: int = 0) -> Iterator[Record]:
    """The complete records of ``data`` (a journal's bytes from offset ``start``), in order.
    Stops quietly at an incomplete last record; raises :class:`CorruptJournal` at a bad one
    (the records before it have been yielded)."""
    offset, size = 0, len(data)
    while size - offset >= HEADER.size:
        magic, length, crc = HEADER.unpack_from(data, offset)
        if magic != MAGIC or length > MAX_RECORD:
            raise CorruptJournal(f"bad record header at offset {start + offset}")
        end = offset + HEADER.size + length
        if end > size:
            return  # torn tail: the rest is not written yet
        payload = data[offset + HEADER.size:end]
        if zlib.crc32(payload) != crc:
            raise CorruptJournal(f"checksum mismatch in the record at offset {start + offset}")
        try:
            wire = json.loads(payload)
        except ValueError:
            raise CorruptJournal(f"record at offset {start + offset} is not JSON") from None
        if not isinstance(wire, dict):
            raise CorruptJournal(f"record at offset {start + offset} is not an event")
        offset = end
        yield Record(wire, start + end)


def file_owner(name: str) -> int | None:
    """The pid that writes (or wrote) journal file ``name``, or None for a foreign name."""
    head = name.split("-", 1)[0]
    return int(head) if name.endswith(SUFFIX) and head.isdigit() else None


class Journal:
    """This process's journal (an ``EventSink``): :meth:`append` returns once the event is in
    the kernel (``off`` / ``batch``) or on disk (``always``)."""

    def __init__(self, directory: str, *, fsync: str = "batch",
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        if fsync not in FSYNC_MODES:
            raise ValueError(f"KYB_AUDIT_FSYNC must be one of {', '.join(FSYNC_MODES)}")
        self.directory = directory
        self.fsync = fsync
        self.max_bytes = max_bytes
        self._pid = -1
        self._open_lock = threading.Lock()

    def _open(self) -> None:
        """(Re)open after start or fork: a fresh file of this process's own."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        pid = os.getpid()
        self._start = time.time_ns()
        self._number = 0
        self._lock = threading.Lock()
        self._synced = threading.Condition(threading.Lock())
        self._written = self._durable = 0  # records written / known on disk (``always``)
        self._syncing = False
        self._fd = -1
        self._rotate(pid)
        self._pid = pid  # last: other threads wait on ``_open_lock`` until it is all set
        if self.fsync == "batch":
            threading.Thread(target=self._sync_loop, name="kyb-journal-sync",
                             daemon=True).start()

    def _rotate(self, pid: int | None = None) -> None:
        old = self._fd
        self._number += 1
        self.path = os.path.join(self.directory, f"{pid or self._pid}-{self._start}-"
                                                 f"{self._number:06d}{SUFFIX}")
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL
                           | os.O_CLOEXEC, 0o600)
        self._size = 0
        if old >= 0:
            if self.fsync != "off":
                turnstile.step_aside()  # a wait for the disk
                os.fdatasync(old)
            os.close(old)

    def append(self, draft: EventDraft, timeout: float = 30.0) -> StoredEvent:  # noqa: ARG002
        """Journal ``draft`` (its id assigned here) and return its final id; raise
        :class:`~app.audit.batcher.AuditUnavailable` if it could not be written."""
        event_id = draft.id or sortable_id("evt")
        try:
            if self._pid != os.getpid():
                with self._open_lock:
                    if self._pid != os.getpid():
                        self._open()
            wire = draft_to_wire(draft)
            wire["id"] = event_id  # the draft as it would be with this id
            record = encode_record(wire)
            turnstile.acquire(self._lock)  # a rotation syncs the old file with it held
            try:
                if self._size + len(record) > self.max_bytes and self._size:
                    self._rotate()
                written = _write(self._fd, record)  # keeps the GIL: see app.dataplane.nogil
                if written != len(record):  # a full disk: never leave half a record behind
                    raise OSError(f"short write ({written} of {len(record)} bytes)")
                self._size += written
                self._written += 1
                mine = self._written
            finally:
                self._lock.release()
            if self.fsync == "always":
                turnstile.step_aside()  # the group fsync waits for the disk and other threads
                self._sync_through(mine)
        except (OSError, ValueError) as exc:
            log.error("audit event not journalled: %s", exc)
            raise AuditUnavailable(f"audit event not journalled: {exc}") from exc
        return StoredEvent(event_id, 0, "")

    def _sync_through(self, mine: int) -> None:
        """Group fsync: return once record ``mine`` is on disk. One thread syncs for all the
        records written before its ``fdatasync`` began; the others wait for it."""
        cond = self._synced
        with cond:
            while self._durable < mine:
                if self._syncing:
                    cond.wait()
                    continue
                self._syncing = True
                target, fd = self._written, self._fd
                cond.release()
                try:
                    os.fdatasync(fd)
                except OSError:
                    if fd == self._fd:  # else rotated meanwhile: the rotation synced it
                        raise
                finally:
                    cond.acquire()
                    self._syncing = False
                    cond.notify_all()
                self._durable = max(self._durable, target)

    def _sync_loop(self) -> None:
        pid = os.getpid()
        synced = 0
        while self._pid in (pid, -1) and pid == os.getpid():
            time.sleep(BATCH_SYNC_SECONDS)
            if self._fd < 0:  # closed (tests, shutdown): close synced it
                return
            if self._written != synced:
                synced = self._written
                try:
                    os.fdatasync(self._fd)
                except (OSError, ValueError):  # rotated or closed meanwhile: synced there
                    pass

    def close(self) -> None:
        """Sync and close this process's file (tests, shutdown)."""
        if self._pid == os.getpid() and self._fd >= 0:
            with self._lock:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
            self._pid = -1
