"""Re-mask card numbers stored before the scrubber existed (issue #13 item 4, R-B5).

``app.models.free_text`` masks every new or changed free-text value on flush; rows written
before it may still hold a full card number. ``backfill_table`` walks one table's listed
columns (``FREE_TEXT``, ``FREE_JSON``, and a ``MerchantChange``'s values of a merchant's
free-text fields) in id order, a batch per transaction, and rewrites only the values
``scrub_pans``/``scrub_value`` change, so a second run changes nothing. The audit trail is
append-only and hash-chained: it is never rewritten; ``audit_events_with_pans`` only counts
the events that still hold a card number.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api_keys.cards import scrub_pans, scrub_value
from app.models import AuditEvent, Merchant, MerchantChange
from app.models.free_text import FREE_JSON, FREE_TEXT


@dataclass(frozen=True)
class TableResult:
    """What one table's pass found: rows read, rows rewritten, values masked."""

    table: str
    scanned: int
    rows_changed: int
    values_masked: int


def free_text_models() -> list[type]:
    """Every model with a listed free-text column, in a stable order."""
    return sorted({*FREE_TEXT, *FREE_JSON}, key=lambda model: model.__tablename__)


def _columns(model: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    text = FREE_TEXT.get(model, ())
    if model is MerchantChange:
        text = (*text, "old_value", "new_value")
    return text, FREE_JSON.get(model, ())


def _changes(model: type, row: sa.Row, text: tuple[str, ...],
             blobs: tuple[str, ...]) -> dict[str, object]:
    values = row._mapping
    changed: dict[str, object] = {}
    for name in text:
        if name in ("old_value", "new_value") and values["field"] not in FREE_TEXT[Merchant]:
            continue
        if isinstance(values[name], str) and (new := scrub_pans(values[name])) != values[name]:
            changed[name] = new
    for name in blobs:
        if (new := scrub_value(values[name])) != values[name]:
            changed[name] = new
    return changed


def backfill_table(engine: Engine, model: type, *, batch: int = 500,
                   dry_run: bool = False) -> Iterator[TableResult]:
    """Scrub ``model``'s table; yields the running totals after each batch (for progress)."""
    table = model.__table__
    text, blobs = _columns(model)
    extra = (table.c.field,) if model is MerchantChange else ()
    selected = [table.c.id, *extra, *(table.c[n] for n in (*text, *blobs))]
    scanned = rows_changed = masked = 0
    last = None
    while True:
        with engine.begin() as conn:
            query = sa.select(*selected).order_by(table.c.id).limit(batch)
            rows = conn.execute(query if last is None else query.where(table.c.id > last)).all()
            for row in rows:
                if changed := _changes(model, row, text, blobs):
                    rows_changed, masked = rows_changed + 1, masked + len(changed)
                    if not dry_run:
                        conn.execute(table.update().where(table.c.id == row.id)
                                     .values(**changed))
        scanned += len(rows)
        if not rows:
            return
        last = rows[-1].id
        yield TableResult(table.name, scanned, rows_changed, masked)
        if len(rows) < batch:
            return


def audit_events_with_pans(engine: Engine, *, batch: int = 1000) -> int:
    """How many audit events still hold a full card number in any text or ``details``
    (counted only: the hash-chained trail is never rewritten)."""
    table = AuditEvent.__table__
    columns = [c for c in table.c if c.name not in ("id", "hash", "prev_hash")
               and (isinstance(c.type, sa.String) or c.name == "details")]
    found, last = 0, None
    with engine.connect() as conn:
        while True:
            query = sa.select(table.c.seq, *columns).order_by(table.c.seq).limit(batch)
            rows = conn.execute(query if last is None else query.where(table.c.seq > last)
                                ).all()
            found += sum(any(scrub_value(value) != value for value in row[1:])
                         for row in rows)
            if len(rows) < batch:
                return found
            last = rows[-1].seq
