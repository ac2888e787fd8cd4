"""The host's audit writer: ships the workers' journals (``app.dataplane.journal``) into the
hash chain in the database (issue #14 item 2, R-B5).

One per host and database (``kybgate audit writer``, started and restarted by ``kybgate
serve``). Each round it reads every journal from the position recorded for it, takes up to
``max_batch`` complete records, and in **one** transaction chains them (``append_batch``: the
chain lock, one multi-row INSERT), runs the batch hooks (key usage counters, the merchants'
running figures, the spend totals) and records each journal's new position. So an event is
in the chain exactly once, whatever crashes when: the position moves only with the events.

After the commit it anchors the head (``app.audit.anchor``) and hands the stored events to the
monitors (API anomalies, figure crossings, blacklist alerts): they run here, never in a
worker answering requests.

* A torn last record (a writer stopped mid-``write``) is left until it is complete.
* A corrupt record, or one the database refuses even alone, stops *that* journal at that
  record, loudly (an ERROR log every round and ``GET /readyz`` unavailable); the others go on.
* A journal file is removed once every event in it is in the database and its process has
  moved on to a newer file or is gone.
* Every round writes ``writer.status`` (JSON) in the journal folder: pending bytes, the lag of
  the oldest event shipped in the round, stopped journals. ``GET /readyz`` reads it.

Bound: an event is in the database within ``poll_seconds`` (100 ms) plus one commit of the
journal's backlog. Every round publishes how long the oldest waiting event has waited
(``writer.clock``); when that passes ``KYB_AUDIT_MAX_LAG`` (1 s) the workers slow their
answers until the writer keeps up (``app.dataplane.pacing``), so the lag stays near the bound
under any load. ``/readyz`` turns unavailable when the lag passes
:data:`MAX_LAG_SECONDS`.
Why 100 ms and not less: every round costs the same few milliseconds of CPU whatever it holds
(a transaction, the positions, the spend totals, each merchant's figures, the anchor, the
monitors' hand-over), and the CPU the writer takes is taken from the workers on the same host.
At ~600 verifications/s a 20 ms cadence made rounds of ~15 events and the writer cost ~0.5 ms
of CPU per event; rounds of ~60 cost ~0.3 ms (``bench/shipper.py``). The events are durable in
the journals meanwhile; only their place in the chain waits.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from api_keys.limits import payment_amount_problem
from app.audit.anchor import anchor_committed
from app.audit.batcher import BatchHook, CommitHook, StoredEvent, append_batch
from app.audit.trail import EventDraft, lock_chain
from app.audit.wire import ProtocolError, draft_from_wire
from app.dataplane.journal import SUFFIX, CorruptJournal, Record, file_owner, read_records
from app.dataplane.pacing import WriterClock
from app.db import utcnow
from app.models import AuditEvent, AuditJournal

log = logging.getLogger("kybgate.audit.writer")

STATUS_FILE = "writer.status"
MAX_LAG_SECONDS = 5.0
STATUS_EVERY_SECONDS = 0.5
_TABLE = AuditJournal.__table__
_MIN_READ = 64 * 1024  # bytes read from a journal at least, per chunk
_RECORD_ESTIMATE = 2048  # bytes per record to plan a read for (one event is ~1 KB)


@dataclass
class _Batch:
    """Records taken this round: (journal, end offset, draft), each journal's a prefix."""

    items: list[tuple[str, int, EventDraft]] = field(default_factory=list)

    def ends(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, end, _ in self.items:
            out[name] = end
        return out

    @functools.cached_property
    def oldest(self) -> dt.datetime | None:
        """The time of the oldest event taken (None if none has one); looked at once the
        round's records are all taken, by the writer's clock and again after the commit."""
        return min((draft.at for _, _, draft in self.items if draft.at is not None),
                   default=None)


class _Moved(RuntimeError):
    """Another writer shipped from one of these journals meanwhile (positions moved)."""


class Shipper:
    """Tails the journals in ``directory`` into ``engine``'s audit trail."""

    def __init__(self, engine: Engine, directory: str, *, in_batch: BatchHook | None = None,
                 after_commit: CommitHook | None = None, max_batch: int = 4096,
                 read_bytes: int = 8 * 1024 * 1024, poll_seconds: float = 0.1) -> None:
        self.engine = engine
        self.directory = directory
        self.in_batch = in_batch
        self.after_commit = after_commit
        self.max_batch = max_batch
        self.read_bytes = read_bytes
        self.poll_seconds = poll_seconds
        self.positions: dict[str, int] = {}
        self.stopped: dict[str, str] = {}  # journal → why it stopped
        self.events = 0
        self.batches = 0
        self.lag_seconds = 0.0
        self._status_at = 0.0
        self._stop = threading.Event()
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.clock = WriterClock(directory)  # the workers pace themselves on it

    # --- one round -------------------------------------------------------------------------

    def ship_once(self) -> int:
        """Ship what the journals hold now (up to ``max_batch`` events); returns how many."""
        names = self._journals()
        self._load_positions([n for n in names if n not in self.positions])
        batch = self._take(names)
        self.clock.publish(self._waiting_for(batch))
        shipped = 0
        if not batch.items:
            self.lag_seconds = 0.0  # nothing complete waits: no lag, whatever the last was
        else:
            try:
                shipped = self._commit(batch)
            except _Moved:
                self.positions.clear()  # re-read next round
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                log.error("audit writer: database unavailable (%s); retrying",
                          exc.__class__.__name__)
                self._stop.wait(0.5)
            except Exception:  # an event the database refuses: find it, stop its journal
                log.exception("audit writer: batch refused; shipping journal by journal")
                shipped = self._isolate(batch)
        self._remove_shipped(names)
        self._write_status(names)
        for name, why in self.stopped.items():
            log.error("audit journal %s stopped: %s", name, why)
        return shipped

    @staticmethod
    def _waiting_for(batch: _Batch) -> float:
        """How long the oldest event taken this round has waited (0 if none waits)."""
        oldest = batch.oldest
        return max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0

    def _journals(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.directory) if n.endswith(SUFFIX))
        except FileNotFoundError:
            return []

    def _load_positions(self, names: Sequence[str]) -> None:
        for name in names:
            self.positions[name] = 0
        if not names:
            return
        with self.engine.connect() as conn:
            for row in conn.execute(sa.select(_TABLE.c.name, _TABLE.c.position).where(
                    _TABLE.c.name.in_(list(names)))):
                self.positions[row.name] = int(row.position)

    def _take(self, names: Sequence[str]) -> _Batch:
        batch = _Batch()
        for name in names:
            if name in self.stopped or len(batch.items) >= self.max_batch:
                continue
            records = self._records(os.path.join(self.directory, name),
                                    self.positions.get(name, 0),
                                    self.max_batch - len(batch.items))
            try:
                for record in records:
                    batch.items.append((name, record.end, draft_from_wire(record.wire)))
                    if len(batch.items) >= self.max_batch:
                        break
            except FileNotFoundError:
                continue
            except (CorruptJournal, ProtocolError) as exc:
                self.stopped[name] = str(exc)
                log.error("audit journal %s stopped: %s", name, exc)
        return batch

    def _records(self, path: str, position: int, wanted: int) -> Iterator[Record]:
        """The complete records of the journal at ``path`` from ``position`` on, read in
        chunks sized for ``wanted`` records: reading ``read_bytes`` each round to take a few
        dozen records cost more than chaining them whenever a backlog was waiting."""
        size = min(self.read_bytes, max(_MIN_READ, wanted * _RECORD_ESTIMATE))
        with open(path, "rb") as fh:
            while True:
                fh.seek(position)
                data = fh.read(size)
                end = position
                for record in read_records(data, position):
                    end = record.end
                    yield record
                if len(data) < size:
                    return  # the end of the file (or a torn last record)
                if end == position:  # one record longer than the chunk
                    if size >= self.read_bytes:
                        return
                    size = min(self.read_bytes, size * 4)
                position = end

    def _commit(self, batch: _Batch) -> int:
        """Chain the batch and move the positions in one transaction; then anchor, monitor."""
        ends = batch.ends()
        # Seq order follows time order across the workers' journals (each journal's own order
        # is kept: the sort is stable and a process's clock does not run backwards much).
        items = sorted(batch.items, key=lambda item: item[2].at or dt.datetime.min.replace(
            tzinfo=dt.UTC))
        drafts = [draft for _, _, draft in items]
        with self.engine.begin() as conn:
            lock_chain(conn)
            self._check_positions(conn, list(ends))
            stored = append_batch(conn, drafts, json_details=True)  # read from JSON
            if self.in_batch is not None:
                self.in_batch(conn, drafts)
            self._save_positions(conn, ends, batch)
        for name, end in ends.items():
            self.positions[name] = end
        first, last = stored[0], stored[-1]
        anchor_committed(self.engine, last.seq, last.hash,
                         first_hash=first.hash if first.seq == 1 else None)
        self.lag_seconds = self._waiting_for(batch)
        self.events += len(stored)
        self.batches += 1
        self._observe(drafts, stored)
        return len(stored)

    def _check_positions(self, conn: sa.Connection, names: list[str]) -> None:
        stored = {row.name: int(row.position) for row in conn.execute(
            sa.select(_TABLE.c.name, _TABLE.c.position).where(_TABLE.c.name.in_(names)))}
        if any(stored.get(name, 0) != self.positions.get(name, 0) for name in names):
            raise _Moved()

    def _save_positions(self, conn: sa.Connection, ends: dict[str, int], batch: _Batch) -> None:
        counts: dict[str, int] = {}
        for name, _, _ in batch.items:
            counts[name] = counts.get(name, 0) + 1
        now = utcnow()
        conn.execute(_positions_upsert(conn.dialect.name), [
            {"name": name, "position": end, "events": counts[name], "updated_at": now}
            for name, end in ends.items()])

    def _isolate(self, batch: _Batch) -> int:
        """Ship each journal's records on their own, and a failing journal's one by one: the
        record the database refuses stops its journal there; nothing else is held up."""
        shipped = 0
        by_journal: dict[str, list[tuple[str, int, EventDraft]]] = {}
        for item in batch.items:
            by_journal.setdefault(item[0], []).append(item)
        for name, items in by_journal.items():
            try:
                shipped += self._commit(_Batch(items))
                continue
            except _Moved:
                self.positions.clear()
                return shipped
            except Exception as exc:  # noqa: BLE001 - narrowed down below
                log.warning("audit journal %s refused as a batch (%s); one by one", name,
                            exc.__class__.__name__)
            for item in items:
                try:
                    shipped += self._commit(_Batch([item]))
                    continue
                except Exception as exc:  # noqa: BLE001 - salvaged below
                    refused = exc
                try:  # its answer is out: store what the database takes, and say so
                    salvaged = salvage(item[2], refused)
                    shipped += self._commit(_Batch([(item[0], item[1], salvaged)]))
                    log.error("audit journal %s: event %s stored without the values the "
                              "database refused (%s)", name, item[2].id,
                              refused.__class__.__name__)
                except Exception as exc:  # noqa: BLE001 - this record stops its journal
                    self.stopped[name] = (f"the database refused the event at offset "
                                          f"{self.positions.get(name, 0)}: "
                                          f"{exc.__class__.__name__}")
                    log.error("audit journal %s stopped: %s", name, self.stopped[name])
                    break
        return shipped

    def _observe(self, drafts: Sequence[EventDraft], stored: Sequence[StoredEvent]) -> None:
        if self.after_commit is None:
            return
        try:
            self.after_commit(drafts, stored)
        except Exception:  # monitoring must never hold up the audit trail
            log.exception("after-commit hook failed")

    # --- housekeeping ------------------------------------------------------------------------

    def _remove_shipped(self, names: Sequence[str]) -> None:
        """Remove journals whose every event is in the database and that no process writes
        any more (its writer moved on to a newer file, or is gone)."""
        newest: dict[str, str] = {}
        for name in names:
            writer = name.rsplit("-", 1)[0]
            newest[writer] = max(newest.get(writer, name), name)
        gone: list[str] = []
        for name in names:
            pid = file_owner(name)
            sealed = newest[name.rsplit("-", 1)[0]] != name or not process_alive(pid)
            if not sealed or name in self.stopped:
                continue
            try:
                size = os.path.getsize(os.path.join(self.directory, name))
            except FileNotFoundError:
                continue
            if self.positions.get(name, -1) == size:
                os.unlink(os.path.join(self.directory, name))
                gone.append(name)
        if gone:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(_TABLE).where(_TABLE.c.name.in_(gone)))
            for name in gone:
                self.positions.pop(name, None)

    def pending_bytes(self, names: Sequence[str] | None = None) -> int:
        """Bytes in the journals not shipped yet."""
        total = 0
        for name in names if names is not None else self._journals():
            try:
                size = os.path.getsize(os.path.join(self.directory, name))
            except FileNotFoundError:
                continue
            total += max(0, size - self.positions.get(name, 0))
        return total

    def _write_status(self, names: Sequence[str], force: bool = False) -> None:
        now = time.time()
        if not force and now - self._status_at < STATUS_EVERY_SECONDS:
            return
        self._status_at = now
        status = {"pid": os.getpid(), "at": now, "pending_bytes": self.pending_bytes(names),
                  "lag_seconds": round(self.lag_seconds, 3), "events": self.events,
                  "stopped": dict(self.stopped)}
        path = os.path.join(self.directory, STATUS_FILE)
        temporary = f"{path}.{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as fh:
            json.dump(status, fh)
        os.replace(temporary, path)
        if self.lag_seconds > 1.0:
            log.warning("audit writer: shipping lag %.1f s, %d bytes pending",
                        self.lag_seconds, status["pending_bytes"])

    # --- the loop ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the round in hand, ship what is left, and return (safe from a signal)."""
        self._stop.set()

    def serve_forever(self, *, parent_pid: int | None = None,
                      ready: Callable[[], None] | None = None) -> None:
        """Ship until :meth:`stop` (or until ``parent_pid`` is gone), then drain."""
        self._write_status(self._journals(), force=True)
        if ready is not None:
            ready()
        while not self._stop.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("audit writer: parent process %s is gone; stopping", parent_pid)
                break
            try:
                if self.ship_once() < self.max_batch:
                    self._stop.wait(self.poll_seconds)
            except Exception:  # never die on one round: the next one retries
                log.exception("audit writer: round failed")
                self._stop.wait(1.0)
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            try:
                if self.ship_once() == 0:
                    break
            except Exception:  # noqa: BLE001 - stopping: what is left ships on restart
                log.exception("audit writer: final round failed")
                break
        self._write_status(self._journals(), force=True)


def salvage(draft: EventDraft, refused: Exception) -> EventDraft:
    """``draft`` as the database will take it: text cut to its column's length, an amount out
    of the payment bounds moved out (the event keeps why, ``details["salvaged"]``). Every
    answered verification keeps an event; the edge validation should make this unreachable."""
    values: dict[str, object] = {}
    for column in AuditEvent.__table__.columns:
        value = getattr(draft, column.name, None)
        length = getattr(column.type, "length", None)
        if isinstance(value, str) and length and len(value) > length:
            values[column.name] = value[:length]
    details = dict(draft.details or {})
    if draft.amount is not None and payment_amount_problem(draft.amount):
        values["amount"] = None
        details["amount_problem"] = payment_amount_problem(draft.amount)
    details["salvaged"] = f"stored without values the database refused " \
                          f"({refused.__class__.__name__})"
    return replace(draft, details=details, **values)


@functools.cache
def _positions_upsert(dialect: str) -> sa.Insert:
    """Insert or move a journal's position (built once per dialect: building it each round
    was a tenth of the writer's time at low load)."""
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(_TABLE)
    return insert.on_conflict_do_update(
        index_elements=[_TABLE.c.name],
        set_={"position": insert.excluded.position,
              "events": _TABLE.c.events + insert.excluded.events,
              "updated_at": insert.excluded.updated_at})


def process_alive(pid: object) -> bool:
    """Whether process ``pid`` runs on this host (a journal's writer, the audit writer)."""
    try:
        os.kill(int(pid), 0)  # type: ignore[call-overload]
    except (ProcessLookupError, TypeError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def read_status(directory: str) -> dict | None:
    """The writer's last status in ``directory`` (``GET /readyz``), or None."""
    try:
        with open(os.path.join(directory, STATUS_FILE), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None
