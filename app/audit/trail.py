"""Appending to and reading the audit trail.

Appends serialise on the chain head so that several writer processes never fork the chain or
leave a gap: PostgreSQL takes a transaction-scoped advisory lock, SQLite already holds its write
lock (every transaction begins IMMEDIATE). The lock is held until the caller commits, so the
event is durable together with the change it describes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from api_keys.cards import dump_may_hold_pan, scrub_pans, scrub_value
from app.audit.chain import GENESIS_HASH, HASHED_FIELDS, ChainReport, event_hash, verify_chain
from app.db import utcnow
from app.models import AuditEvent
from app.models.base import sortable_id
from app.services.webhook_events import WEBHOOK_ACTIONS

CHAIN_LOCK_KEY = 0x6B7962  # "kyb": one advisory lock for the whole chain
HEAD_INFO = "kyb.audit_head"  # session.info: the newest appended event, for its anchor
# session.info: the time of events that carry none, while a load replays history (the demo)
REPLAY_CLOCK = "kyb.audit_replay_clock"


@dataclass
class EventDraft:
    """An audit event before it has its place in the chain."""

    action: str
    actor: str
    target_type: str | None = None
    target_id: str | None = None
    merchant_id: str | None = None
    key_id: str | None = None
    request_id: str | None = None
    source_ip: str | None = None
    destination_ip: str | None = None
    operation: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    card_masked: str | None = None
    customer_ref: str | None = None
    site: str | None = None
    decision: str | None = None
    reason: str | None = None
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime | None = None
    id: str | None = None  # assigned before the chain by a journal (``app.dataplane.journal``)


@dataclass(frozen=True)
class Actor:
    """Who does something, and from which request: every service takes one for its audit."""

    name: str
    request_id: str | None = None
    source_ip: str | None = None

    def event(self, action: str, **fields: Any) -> EventDraft:
        """An event draft by this actor."""
        return EventDraft(action=action, actor=self.name, request_id=self.request_id,
                          source_ip=self.source_ip, **fields)


_LOCK_SQL = sa.text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=CHAIN_LOCK_KEY)
_HEAD_SQL = sa.text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")


def lock_chain(db: Session | sa.Connection) -> None:
    """Take the chain lock for the rest of the transaction (PostgreSQL; a SQLite writer holds
    the database's write lock from ``BEGIN IMMEDIATE`` on)."""
    dialect = db.dialect if isinstance(db, sa.Connection) else db.get_bind().dialect
    if dialect.name == "postgresql":
        db.execute(_LOCK_SQL)


def chain_head(db: Session | sa.Connection) -> tuple[int, str]:
    """The newest event's (seq, hash); (0, the genesis hash) for an empty trail."""
    # Plain SQL: this runs once per audit batch on the verification hot path, where compiling
    # an ORM select costs more than the indexed lookup itself.
    row = db.execute(_HEAD_SQL).first()
    return (int(row[0]), row[1]) if row else (0, GENESIS_HASH)


_DRAFT_FIELDS = tuple(n for n in HASHED_FIELDS if n not in {"id", "seq", "prev_hash", "at"})
# Every text field a caller can put words in (the rest are code-defined or parsed values).
_TEXT_FIELDS = tuple(n for n in _DRAFT_FIELDS if n not in {
    "action", "source_ip", "destination_ip", "currency", "decision", "card_masked", "amount",
    "latency_ms", "details"})


@contextmanager
def replayed_at(session: Session, at: dt.datetime) -> Iterator[None]:
    """Date at ``at`` the events ``session`` appends without a time of their own, for the
    duration of the block: a load that replays history in time order (``kybgate demo``)
    dates each event when its step happened, so that seq order stays time order. Requests
    never use it: their events are dated when they are appended, under the chain lock."""
    previous = session.info.get(REPLAY_CLOCK)
    session.info[REPLAY_CLOCK] = at
    try:
        yield
    finally:
        session.info[REPLAY_CLOCK] = previous


_DETAILS = json.JSONEncoder(default=str)  # json.dumps(..., default=str), built once
# A row's details as JSON text, when ``event_row`` already has them exactly as the column's
# type would encode them (``json.dumps`` of JSON values): the driver-level INSERT
# (``app.audit.batcher``) stores it instead of encoding the details a second time.
DETAILS_JSON = "_details_json"


def event_row(draft: EventDraft, seq: int, prev_hash: str,
              default_at: dt.datetime | None = None, *, json_details: bool = False
              ) -> dict[str, Any]:
    """The stored row of ``draft`` at ``seq`` after ``prev_hash``, normalised as the database
    will give it back (``kybgate audit verify`` recomputes the hash from what is stored).
    A draft without a time is dated ``default_at``, or now. ``json_details``: the draft's
    details were read from JSON (a journal) and are JSON values already, so the round trip
    through JSON that normalises them would give them back unchanged."""
    values = {name: getattr(draft, name) for name in _DRAFT_FIELDS}
    for name in _TEXT_FIELDS:  # the single choke point: no card number enters the trail
        if values[name] is not None:
            values[name] = scrub_pans(values[name])
    if values["amount"] is not None:
        values["amount"] = Decimal(values["amount"]).quantize(Decimal("0.0001"))
    if values["latency_ms"] is not None:
        values["latency_ms"] = round(float(values["latency_ms"]), 3)
    values.update(id=draft.id or sortable_id("evt"), seq=seq, prev_hash=prev_hash,
                  at=(draft.at or default_at or utcnow()).astimezone(dt.UTC))
    dumped = _DETAILS.encode(values["details"] or {})
    values["details"] = (values["details"] or {}) if json_details else json.loads(dumped)
    if dump_may_hold_pan(dumped):  # one scan of the whole dump; the walk only when it may
        values["details"] = scrub_value(values["details"])
    elif json_details:  # the dump is what the INSERT would encode again: hand it over
        values[DETAILS_JSON] = dumped
    values["hash"] = event_hash(values)
    return values


def chain_rows(db: Session | sa.Connection, drafts: Sequence[EventDraft], *,
               locked: bool = False, json_details: bool = False) -> list[dict[str, Any]]:
    """Take the chain lock (unless the caller already did: ``locked``) and build the rows of
    ``drafts`` after the current head, in order. The lock is held until the caller's
    transaction ends."""
    if not locked:
        lock_chain(db)
    seq, prev_hash = chain_head(db)
    replay_at = db.info.get(REPLAY_CLOCK)
    rows = []
    for draft in drafts:
        seq += 1
        row = event_row(draft, seq, prev_hash, replay_at, json_details=json_details)
        rows.append(row)
        prev_hash = row["hash"]
    return rows


def append_events(session: Session, drafts: Sequence[EventDraft]) -> list[AuditEvent]:
    """Chain ``drafts`` onto the trail in order and flush them. The caller commits."""
    if not drafts:
        return []
    created = [AuditEvent(**row) for row in chain_rows(session, drafts)]
    session.add_all(created)
    session.flush()
    # Anchored once the caller commits (app.audit.anchor): the newest event of the commit.
    first = created[0].hash if created[0].seq == 1 else None
    previous = session.info.get(HEAD_INFO)
    if first is None and previous is not None:
        first = previous[2]
    session.info[HEAD_INFO] = (created[-1].seq, created[-1].hash, first)
    if any(draft.action in WEBHOOK_ACTIONS for draft in drafts):
        # R-D6: the webhook is queued in the transaction of the change it reports
        from app.services.webhooks import enqueue_for_events
        enqueue_for_events(session, created)
    return created


def record(session: Session, draft: EventDraft) -> AuditEvent:
    """Append one event (see ``append_events``)."""
    return append_events(session, [draft])[0]


def event_dict(event: AuditEvent) -> dict[str, Any]:
    """An event as the API and exports show it."""
    data = {name: getattr(event, name) for name in HASHED_FIELDS}
    data["hash"] = event.hash
    data["at"] = event.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    data["amount"] = None if event.amount is None else format(event.amount, "f")
    return data


def iter_events(session: Session, batch: int = 2000) -> Iterator[AuditEvent]:
    """Every event in ``seq`` order, fetched in batches (constant memory)."""
    last = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_trail(session: Session) -> ChainReport:
    """Verify the whole stored chain."""
    def rows() -> Iterator[dict[str, Any]]:
        for event in iter_events(session):
            data = {name: getattr(event, name) for name in HASHED_FIELDS}
            data["hash"] = event.hash
            yield data
    return verify_chain(rows())


def export_events(session: Session, fmt: str, out: io.TextIOBase) -> int:
    """Write every event as JSON lines or CSV to ``out``; returns the count."""
    count = 0
    writer = None
    for event in iter_events(session):
        data = event_dict(event)
        if fmt == "jsonl":
            out.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")
        else:
            data["details"] = json.dumps(data["details"], ensure_ascii=False, sort_keys=True)
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(data))
                writer.writeheader()
            writer.writerow(data)
        count += 1
    return count
