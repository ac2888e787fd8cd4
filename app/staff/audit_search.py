"""Audit trail search and export for the console: by merchant, action, actor and date, newest
first, paged by sequence number (keyset, so every page is one indexed query)."""

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
from app.models import AuditEvent

PAGE = 100
EXPORT_BATCH = 2000


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
        """The filters as strings (for links and the export's audit event)."""
        return {k: ("" if v is None else str(v)) for k, v in asdict(self).items()
                if k != "before_seq"}

    def statement(self):
        """The SELECT for these filters, newest first."""
        stmt = select(AuditEvent)
        if self.merchant_id:
            stmt = stmt.where(AuditEvent.merchant_id == self.merchant_id)
        if self.action:
            stmt = stmt.where(AuditEvent.action.startswith(self.action, autoescape=True))
        if self.actor:
            stmt = stmt.where(AuditEvent.actor == self.actor)
        if self.date_from:
            stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(self.date_from, dt.time(),
                                                                   dt.UTC))
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
            stmt = stmt.where(AuditEvent.at < end)
        if self.before_seq:
            stmt = stmt.where(AuditEvent.seq < self.before_seq)
        return stmt.order_by(AuditEvent.seq.desc())


def search_events(session: Session, query: AuditQuery) -> tuple[list[AuditEvent], int | None]:
    """One page of matching events and the cursor of the next page (None at the end)."""
    rows = list(session.exec(query.statement().limit(PAGE + 1)).all())
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, (rows[-1].seq if more and rows else None)


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
