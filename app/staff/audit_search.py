"""Audit trail search and export for the console: by merchant, action, actor and date, newest
first, paged by sequence number (keyset, so every page is one indexed query).

The actor is matched by any part of it, ignoring case (``ayse`` finds
``staff:Ayse@demo.kybgate.test``). No index serves a substring match, so a page that filters by
actor (and not by merchant, whose index bounds the query) examines at most ``SCAN_WINDOW``
events by sequence number; when the window holds fewer matches than a page, the page says
which events it searched and "Older events" continues below the window. Every request stays
bounded, whatever the size of the trail.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass

from flask import Response, stream_with_context
from sqlmodel import Session, select

from app.audit.trail import event_dict
from app.extensions import engine
from app.models import AuditEvent, Merchant

PAGE = 100
EXPORT_BATCH = 2000
SCAN_WINDOW = 50_000  # events one actor search examines per page (one range of the seq key)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; empty fields match everything."""

    merchant_id: str = ""
    action: str = ""
    actor: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    before_seq: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditQuery:
        """Read the query string (bad dates and cursors are ignored, not errors)."""
        cursor = args.get("before", "")
        return cls(merchant_id=args.get("merchant_id", "").strip()[:40],
                   action=args.get("action", "").strip()[:80],
                   actor=args.get("actor", "").strip()[:200],
                   date_from=_date(args.get("from")), date_to=_date(args.get("to")),
                   before_seq=int(cursor) if cursor.isdigit() else None)

    def as_dict(self) -> dict[str, str]:
        """The filters as strings (for the export's audit event)."""
        return {k: ("" if v is None else str(v)) for k, v in asdict(self).items()
                if k != "before_seq"}

    def url_args(self, **changes: str | int | None) -> dict[str, str | int]:
        """The filters as the query string names them, with ``changes`` (e.g. a cursor), so
        that every link of the page keeps the search; empty filters are left out."""
        values = self.as_dict()
        args = {"merchant_id": values["merchant_id"], "action": values["action"],
                "actor": values["actor"], "from": values["date_from"],
                "to": values["date_to"], **changes}
        return {k: v for k, v in args.items() if v not in ("", None)}

    @property
    def bounded_scan(self) -> bool:
        """Whether a page examines at most ``SCAN_WINDOW`` events (an actor substring with
        no merchant index to narrow it)."""
        return bool(self.actor) and not self.merchant_id

    def statement(self):
        """The SELECT for these filters, newest first."""
        stmt = select(AuditEvent)
        if self.merchant_id:
            stmt = stmt.where(AuditEvent.merchant_id == self.merchant_id)
        if self.action:
            stmt = stmt.where(AuditEvent.action.startswith(self.action, autoescape=True))
        if self.actor:
            stmt = stmt.where(AuditEvent.actor.icontains(self.actor, autoescape=True))
        if self.date_from:
            stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(self.date_from, dt.time(),
                                                                   dt.UTC))
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
            stmt = stmt.where(AuditEvent.at < end)
        if self.before_seq:
            stmt = stmt.where(AuditEvent.seq < self.before_seq)
        return stmt.order_by(AuditEvent.seq.desc())


@dataclass(frozen=True)
class AuditPage:
    """One page of the search: its events, the merchants they name, the cursor of the next
    page, and (for a bounded actor search) the lowest sequence number it examined."""

    events: list[AuditEvent]
    merchant_names: dict[str, str]
    next_cursor: int | None
    searched_down_to: int | None = None


def merchant_names(session: Session, ids: set[str]) -> dict[str, str]:
    """Trade name (or legal name) of each merchant in ``ids``, in one query."""
    if not ids:
        return {}
    rows = session.exec(select(Merchant.id, Merchant.trade_name, Merchant.legal_name)
                        .where(Merchant.id.in_(sorted(ids)))).all()
    return {mid: trade or legal for mid, trade, legal in rows}


def _window_floor(session: Session, query: AuditQuery) -> int | None:
    """The lowest seq a bounded page may examine (None: no bound is needed)."""
    if not query.bounded_scan:
        return None
    top = query.before_seq
    if top is None:
        top = (session.exec(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())
                            .limit(1)).first() or 0) + 1
    return max(top - SCAN_WINDOW, 1)


def search_events(session: Session, query: AuditQuery) -> AuditPage:
    """One page of matching events and the cursor of the next page (None at the end)."""
    stmt = query.statement()
    floor = _window_floor(session, query)
    if floor is not None:
        stmt = stmt.where(AuditEvent.seq >= floor)
    rows = list(session.exec(stmt.limit(PAGE + 1)).all())
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    names = merchant_names(session, {e.merchant_id for e in rows if e.merchant_id})
    if more and rows:
        return AuditPage(rows, names, rows[-1].seq)
    if floor is not None and floor > 1:  # the window ended before the page filled
        return AuditPage(rows, names, floor, searched_down_to=floor)
    return AuditPage(rows, names, None, searched_down_to=floor)


def _export_rows(query: AuditQuery) -> Iterator[dict]:
    with Session(engine()) as session:
        cursor = query
        while True:
            rows = session.exec(cursor.statement().limit(EXPORT_BATCH)).all()
            for event in rows:
                yield event_dict(event)
            if len(rows) < EXPORT_BATCH:
                return
            cursor = AuditQuery(**{**asdict(query), "before_seq": rows[-1].seq})


def export_response(query: AuditQuery, fmt: str) -> Response:
    """The matching events as a CSV or JSON-lines download, streamed."""
    def generate() -> Iterator[str]:
        writer = None
        for data in _export_rows(query):
            if fmt == "jsonl":
                yield json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n"
                continue
            data["details"] = json.dumps(data["details"], ensure_ascii=False, sort_keys=True)
            buffer = io.StringIO()
            if writer is None:
                header = csv.DictWriter(buffer, fieldnames=list(data))
                header.writeheader()
            csv.DictWriter(buffer, fieldnames=list(data)).writerow(data)
            writer = True
            yield buffer.getvalue()
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(stream_with_context(generate()), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="kybgate-audit-{stamp}.{fmt}"'})
