"""``/api/v1/audit``: read the audit trail and verify its hash chain."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints
from sqlmodel import select

from app.api import bp
from app.api.framework import operation
from app.api.schemas import QueryTime, Strict, unwrap_cursor, wrap_cursor
from app.audit.trail import event_dict, verify_trail
from app.errors import validation_problem
from app.extensions import db_session
from app.models import AuditEvent


class AuditQuery(Strict):
    """Filters of ``GET /api/v1/audit``; events come in ``seq`` order."""

    merchant_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    action: Annotated[str, StringConstraints(max_length=80)] | None = None
    key_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    from_: QueryTime | None = Field(default=None, alias="from",
                                    description="inclusive, ISO 8601")
    to: QueryTime | None = Field(default=None, description="exclusive, ISO 8601")
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: Annotated[str, StringConstraints(max_length=40)] | None = None

    model_config = Strict.model_config | {"populate_by_name": True}



class AuditEventOut(BaseModel):
    """One audit event, as hashed into the chain."""

    id: str
    seq: int
    at: str
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    merchant_id: str | None
    key_id: str | None
    request_id: str | None
    source_ip: str | None
    destination_ip: str | None
    operation: str | None
    amount: Decimal | None
    currency: str | None
    card_masked: str | None
    customer_ref: str | None
    site: str | None
    decision: str | None
    reason: str | None
    latency_ms: float | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    """A page of events; pass ``next_cursor`` back as ``cursor``."""

    items: list[AuditEventOut]
    next_cursor: str | None


class ChainReportOut(BaseModel):
    """The result of recomputing the hash chain."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    first_bad_id: str | None
    problem: str | None


def _cursor_seq(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        return int(unwrap_cursor(cursor))
    except ValueError as exc:
        raise validation_problem([{"field": "cursor", "code": "invalid",
                                   "message": "not a cursor issued by this API"}]) from exc


@operation(bp, "/audit", "GET", scope="audit:read", summary="Read the audit trail",
           query=AuditQuery, response=AuditPage, tags=("audit",))
def list_audit_events(query: AuditQuery, client_id: str):
    """Events in chain order, filtered by merchant, key, action and time."""
    stmt = select(AuditEvent).where(AuditEvent.seq > _cursor_seq(query.cursor))
    if query.merchant_id:
        stmt = stmt.where(AuditEvent.merchant_id == query.merchant_id)
    if query.key_id:
        stmt = stmt.where(AuditEvent.key_id == query.key_id)
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.from_:
        stmt = stmt.where(AuditEvent.at >= query.from_)
    if query.to:
        stmt = stmt.where(AuditEvent.at < query.to)
    rows = db_session().exec(stmt.order_by(AuditEvent.seq).limit(query.limit + 1)).all()
    page = rows[: query.limit]
    next_cursor = wrap_cursor(str(page[-1].seq)) if len(rows) > query.limit else None
    return AuditPage(items=[AuditEventOut(**event_dict(e)) for e in page],
                     next_cursor=next_cursor)


@operation(bp, "/audit/verify", "GET", scope="audit:read", summary="Verify the hash chain",
           response=ChainReportOut, tags=("audit",))
def verify_audit_chain(client_id: str):
    """Recompute every event's hash and link; ``ok`` is false with the first bad event named
    after any edit, deletion, insertion or reordering."""
    return ChainReportOut(**verify_trail(db_session()).to_dict())
