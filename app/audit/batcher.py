"""Group commit for the audit trail: many requests' events share one transaction.

Every token verification must be audited durably *before* its answer leaves (R-B5), and a
commit per request would make the database's fsync the ceiling of throughput. So each process
runs one writer thread. A request thread ``submit``s its :class:`EventDraft` and waits on the
returned future; the writer takes everything queued (up to ``max_batch``), appends it with
``append_events`` (which holds the chain lock, so concurrent workers never fork the chain),
commits once, and only then resolves every future of the batch with its event's id. While one
batch commits, the next one queues: batches grow with load, with no timer to tune.

Never an acknowledged request without its event: a future resolves only after the commit
returned; if the commit fails, every future of the batch fails and the request answers 503.

The thread starts on first use and stops after ``idle_seconds`` without work; after ``fork``
(gunicorn workers) a fresh queue and thread are made in the child.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.audit.anchor import anchor_committed
from app.audit.spend import record_charges
from app.audit.trail import DETAILS_JSON, EventDraft, chain_rows, lock_chain
from app.db import utcnow
from app.models import AuditEvent

log = logging.getLogger("kybgate.audit")

#: ``in_batch(connection, drafts)`` runs inside the batch's transaction (e.g. key usage counters).
BatchHook = Callable[[sa.Connection, Sequence[EventDraft]], None]
#: ``after_commit(drafts, events)`` runs after the commit, outside the transaction (monitoring).
CommitHook = Callable[[Sequence[EventDraft], Sequence["StoredEvent"]], None]


class EventSink(Protocol):
    """Where the verification path hands its events: :class:`AuditBatcher` (a thread in this
    process) or ``app.audit.writer.AuditWriterClient`` (the host's writer process)."""

    def append(self, draft: EventDraft, timeout: float = 30.0) -> StoredEvent:
        """Return once ``draft`` is committed; raise :class:`AuditUnavailable` otherwise."""
        ...


class AuditUnavailable(RuntimeError):
    """The event could not be stored; the request must not be answered as if it had been."""


def wait_committed(future: Future[StoredEvent], timeout: float) -> StoredEvent:
    """The committed event of ``future``; :class:`AuditUnavailable` on any failure or timeout."""
    try:
        return future.result(timeout=timeout)
    except AuditUnavailable:
        raise
    except Exception as exc:  # timeout, database error
        raise AuditUnavailable(f"audit event not stored: {exc.__class__.__name__}") from exc


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """Where a committed event sits in the chain."""

    id: str
    seq: int
    hash: str


def append_batch(session: Session | sa.Connection, drafts: Sequence[EventDraft], *,
                 json_details: bool = False) -> list[StoredEvent]:
    """Chain ``drafts`` onto the trail under the chain lock with one multi-row INSERT, and add
    what their allowed verifications charged to the stored running totals
    (``app.audit.spend.record_charges``).

    Same chain and rows as ``app.audit.trail.append_events``, without building an ORM object per
    event (which costs more than the INSERT itself on the verification path). The caller commits.
    ``json_details``: the drafts were read from JSON (the audit writer's journals), see
    ``app.audit.trail.event_row``.
    """
    if not drafts:
        return []
    conn = session if isinstance(session, sa.Connection) else session.connection()
    lock_chain(conn)
    record_charges(conn, drafts, utcnow())
    rows = chain_rows(conn, drafts, locked=True, json_details=json_details)
    insert = _insert_for(conn.dialect)
    conn.exec_driver_sql(insert.sql, [insert.params(row) for row in rows])
    return [StoredEvent(r["id"], r["seq"], r["hash"]) for r in rows]


def _reason(exc: BaseException) -> str:
    """What the database said, for the log: the driver's first line, without the statement and
    the parameters SQLAlchemy would add (they hold the event's fields)."""
    cause = getattr(exc, "orig", None) or exc
    return f"{cause.__class__.__name__}: {(str(cause).splitlines() or [''])[0]}"


def commit_isolated(engine: Engine, drafts: Sequence[EventDraft],
                    in_batch: BatchHook | None = None) -> list[StoredEvent | Exception]:
    """Commit ``drafts`` as one batch; if the batch fails, split it in halves and commit each
    again, so one event that cannot be stored (a value the database refuses) fails alone and
    every other event of the batch is still stored (issue #13 item 1). Returns, in order, each
    draft's stored event or the exception that kept it out. A healthy batch costs one commit;
    one bad event costs about 2 × log2(batch) more; a database that is down fails them all."""
    try:
        with engine.begin() as conn:
            stored: list[StoredEvent | Exception] = list(append_batch(conn, drafts))
            if in_batch is not None:
                in_batch(conn, drafts)
        first, last = stored[0], stored[-1]
        assert isinstance(first, StoredEvent) and isinstance(last, StoredEvent)  # noqa: S101
        anchor_committed(engine, last.seq, last.hash,
                         first_hash=first.hash if first.seq == 1 else None)
        return stored
    except Exception as exc:
        if len(drafts) == 1:
            log.warning("audit event %s refused: %s", drafts[0].action, exc)
            return [exc]
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            return [exc] * len(drafts)  # the database, not an event: splitting cannot help
        middle = len(drafts) // 2
        return (commit_isolated(engine, drafts[:middle], in_batch)
                + commit_isolated(engine, drafts[middle:], in_batch))


class _DriverInsert:
    """The audit INSERT compiled once per dialect, with each column's own bind processor.

    Executed at the driver level: building, caching and compiling a Core ``insert()`` per batch
    cost more than SQLite's own work for a small batch. The values are processed by the
    columns' types exactly as Core would (``UTCDateTime``, ``Money``, ``JSON``), so what is
    stored, and so what ``audit verify`` re-hashes, is the same."""

    def __init__(self, dialect: sa.Dialect) -> None:
        table = AuditEvent.__table__
        compiled = sa.insert(table).values(
            {c.name: sa.bindparam(c.name) for c in table.columns}).compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = list(compiled.positiontup) if compiled.positional else None
        self.processors = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect)
                           for c in table.columns}
        self.without_details = {n: p for n, p in self.processors.items() if n != "details"}

    def params(self, row: dict) -> tuple | dict:
        text = row.get(DETAILS_JSON)  # the details already as the JSON type encodes them
        values = {name: (proc(row.get(name)) if proc is not None else row.get(name))
                  for name, proc in (self.processors if text is None
                                     else self.without_details).items()}
        if text is not None:
            values["details"] = text
        return tuple(values[name] for name in self.order) if self.order else values


_INSERTS: dict[str, _DriverInsert] = {}


def _insert_for(dialect: sa.Dialect) -> _DriverInsert:
    insert = _INSERTS.get(dialect.name)
    if insert is None:
        insert = _INSERTS[dialect.name] = _DriverInsert(dialect)
    return insert


def sqlite_writer_engine(url: str, *, autocheckpoint: bool = True) -> Engine:
    """A SQLite engine for the audit writer that waits for the write lock in short steps.

    SQLite's own busy handler backs off to 100 ms sleeps, so when two worker processes'
    writers take turns, each turn can cost a sleep much longer than the commit it waits for.
    Here ``BEGIN IMMEDIATE`` is retried every 0.2-2 ms instead (for up to 30 s).

    ``autocheckpoint=False``: this engine's commits never checkpoint the WAL into the database
    file (a checkpoint's fsync inside a commit held up every waiting request for tens of
    milliseconds); run a :class:`WalCheckpointer` beside it instead.
    """
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 0})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # as app.db: WAL, durable across crashes
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        deadline, pause = time.monotonic() + 30.0, 0.0002
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa.exc.OperationalError as exc:
                if not isinstance(exc.orig, sqlite3.OperationalError) or \
                        time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    return engine


class WalCheckpointer:
    """Checkpoints a SQLite WAL on a thread of its own, off the commit path.

    ``PASSIVE`` checkpoints copy what no reader still needs into the database file without
    taking the write lock, so commits go on meanwhile; the fsync they end with waits here, not
    in a commit that requests are waiting for. One round every ``interval`` seconds, or sooner
    when the WAL holds more than ``max_pages`` uncheckpointed pages.
    """

    def __init__(self, url: str, *, interval: float = 0.5, max_pages: int = 4000) -> None:
        self.engine = sa.create_engine(url, connect_args={"timeout": 5},
                                       poolclass=sa.pool.NullPool)
        self.interval = interval
        self.max_pages = max_pages
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kyb-wal-checkpoint",
                                        daemon=True)

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """One checkpoint: (busy, WAL pages, pages checkpointed), as SQLite reports them."""
        assert mode in {"PASSIVE", "FULL", "RESTART", "TRUNCATE"}
        with self.engine.connect() as conn:
            busy, pages, done = conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
        self.rounds += 1
        return busy, pages, done

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                _, pages, done = self.checkpoint()
                while pages - done > self.max_pages and not self._stop.is_set():
                    _, pages, done = self.checkpoint()
            except Exception:  # a checkpoint that fails now is retried next round
                log.warning("WAL checkpoint failed; retrying", exc_info=True)

    def stop(self) -> None:
        """Stop the thread, then checkpoint and truncate the WAL once more."""
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            self.checkpoint("TRUNCATE")
        except Exception:  # noqa: BLE001 - a busy database keeps its WAL; nothing is lost
            log.info("final WAL checkpoint skipped (busy)")
        self.engine.dispose()


class AuditBatcher:
    """A per-process group-commit writer for audit events."""

    def __init__(self, engine: Engine, *, max_batch: int = 512, idle_seconds: float = 5.0,
                 in_batch: BatchHook | None = None,
                 after_commit: CommitHook | None = None) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self.in_batch = in_batch
        self.after_commit = after_commit
        self.batches = 0  # committed batches, for tests and benchmarks
        self.events = 0
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._queue: deque[tuple[EventDraft, Future[StoredEvent]]] = deque()
        self._running = False

    def submit(self, draft: EventDraft) -> Future[StoredEvent]:
        """Queue ``draft``; the future resolves once its batch is committed."""
        if self._pid != os.getpid():  # forked: the parent's thread does not exist here
            self._reset()
        future: Future[StoredEvent] = Future()
        with self._cond:
            self._queue.append((draft, future))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="kyb-audit-writer", daemon=True).start()
            self._cond.notify()
        return future

    def append(self, draft: EventDraft, timeout: float = 30.0) -> StoredEvent:
        """Queue ``draft`` and wait until it is committed; raise :class:`AuditUnavailable`."""
        return wait_committed(self.submit(draft), timeout)

    def _take(self) -> list[tuple[EventDraft, Future[StoredEvent]]] | None:
        with self._cond:
            while not self._queue:
                if not self._cond.wait(timeout=self.idle_seconds) and not self._queue:
                    self._running = False
                    return None
            count = min(len(self._queue), self.max_batch)
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            self._write(batch)

    def _write(self, batch: list[tuple[EventDraft, Future[StoredEvent]]]) -> None:
        drafts = [draft for draft, _ in batch]
        # A Core connection, not an ORM session: the per-batch cost of the session machinery
        # was most of the writer's time, and every verification waits for this commit.
        results = commit_isolated(self.engine, drafts, self.in_batch)
        stored = [r for r in results if isinstance(r, StoredEvent)]
        if len(stored) < len(results):
            failed = next(r for r in results if not isinstance(r, StoredEvent))
            log.error("audit batch: %d of %d events not stored (%s)", len(results) - len(stored),
                      len(results), _reason(failed))
        self.batches += 1
        self.events += len(stored)
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, StoredEvent):
                future.set_result(result)
            else:  # this request learns its event is not stored (503), no other
                future.set_exception(AuditUnavailable(result.__class__.__name__))
        drafts = [d for d, r in zip(drafts, results, strict=True) if isinstance(r, StoredEvent)]
        if stored and self.after_commit is not None:
            try:
                self.after_commit(drafts, stored)
            except Exception:  # monitoring must never hold up or fail the audit path
                log.exception("after-commit hook failed")
