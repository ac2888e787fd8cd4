"""What the work queue shows: applications awaiting review and open alerts, each with its due
time. One query per list (plus one for application assignments), whatever the queue length.

Applications are due ``application_sla_hours`` after they arrive (``KYB_APPLICATION_SLA_HOURS``
in the Flask config, default 48); alerts carry their own ``due_at`` (opened + the policy's 3 h,
R-C1). A merchant has no assignee column, so assigning an application is an audit event
(``merchant.assigned``) and the latest one per merchant is the assignee.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import Alert, AuditEvent, Merchant

REVIEW_STATUSES = ("applied", "in_review", "info_requested")
QUEUE_LIMIT = 200
DEFAULT_APPLICATION_SLA_HOURS = 48
DUE_SOON = dt.timedelta(hours=1)


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters as the query string gives them (empty means any)."""

    show: str = ""  # "" | applications | alerts
    tier: str = ""
    status: str = ""
    assignee: str = ""  # "" | me | unassigned
    q: str = ""


@dataclass(frozen=True)
class QueueItem:
    """One row of the queue."""

    kind: str  # application | alert
    id: str
    merchant_id: str | None
    title: str
    detail: str
    tier: str | None
    status: str
    assignee: str | None
    opened_at: dt.datetime
    due_at: dt.datetime

    def urgency(self, now: dt.datetime) -> str:
        """``overdue``, ``due-soon`` or ``""`` (a CSS class and a badge)."""
        if self.due_at <= now:
            return "overdue"
        return "due-soon" if self.due_at - now <= DUE_SOON else ""


def application_sla() -> dt.timedelta:
    """How long an application may wait for review."""
    hours = current_app.config.get("KYB_APPLICATION_SLA_HOURS",
                                   current_app.extensions["kyb.settings"].application_sla_hours)
    return dt.timedelta(hours=int(hours))


def applications(session: Session, filters: QueueFilters, me: str) -> list[QueueItem]:
    """Applications in review, oldest (most urgent) first."""
    stmt = select(Merchant).where(Merchant.status.in_(REVIEW_STATUSES))
    if filters.status in REVIEW_STATUSES:
        stmt = stmt.where(Merchant.status == filters.status)
    if filters.tier:
        stmt = stmt.where(Merchant.tier == filters.tier)
    if filters.q:
        stmt = stmt.where(Merchant.legal_name.ilike(f"%{filters.q}%"))
    rows = session.exec(stmt.order_by(Merchant.created_at, Merchant.id).limit(QUEUE_LIMIT)).all()
    owners = assignees(session, [m.id for m in rows])
    sla = application_sla()
    items = [QueueItem("application", m.id, m.id, m.legal_name, m.trade_name or "", m.tier,
                       m.status, owners.get(m.id), m.created_at, m.created_at + sla)
             for m in rows]
    return _by_assignee(items, filters.assignee, me)


def alerts(session: Session, filters: QueueFilters, me: str) -> list[QueueItem]:
    """Open alerts by due time, with their merchant's name and tier (one joined query)."""
    stmt = (select(Alert, Merchant.legal_name, Merchant.tier)
            .join(Merchant, Merchant.id == Alert.merchant_id, isouter=True)
            .where(Alert.status == "open"))
    if filters.tier:
        stmt = stmt.where(Merchant.tier == filters.tier)
    if filters.assignee == "me":
        stmt = stmt.where(Alert.assignee == me)
    elif filters.assignee == "unassigned":
        stmt = stmt.where(Alert.assignee.is_(None))
    if filters.q:
        stmt = stmt.where(Merchant.legal_name.ilike(f"%{filters.q}%"))
    rows = session.exec(stmt.order_by(Alert.due_at, Alert.id).limit(QUEUE_LIMIT)).all()
    return [QueueItem("alert", a.id, a.merchant_id, name or "—", f"{a.scenario}: {a.summary}",
                      tier, a.severity, a.assignee, a.opened_at, a.due_at)
            for a, name, tier in rows]


def assignees(session: Session, merchant_ids: list[str]) -> dict[str, str]:
    """The current assignee of each merchant in ``merchant_ids`` (one query)."""
    if not merchant_ids:
        return {}
    rows = session.exec(select(AuditEvent.merchant_id, AuditEvent.details)
                        .where(AuditEvent.action == "merchant.assigned",
                               AuditEvent.merchant_id.in_(merchant_ids))
                        .order_by(AuditEvent.seq)).all()
    return {mid: details.get("assignee") for mid, details in rows}


def _by_assignee(items: list[QueueItem], assignee: str, me: str) -> list[QueueItem]:
    if assignee == "me":
        return [i for i in items if i.assignee == me]
    if assignee == "unassigned":
        return [i for i in items if not i.assignee]
    return items


def assign(session: Session, *, kind: str, item_id: str, actor: Actor,
           now: dt.datetime) -> bool:
    """Assign an application or an alert to ``actor``; audited. False when there is no such
    open item."""
    if kind == "alert":
        alert = session.get(Alert, item_id)
        if alert is None or alert.status != "open":
            return False
        previous, alert.assignee = alert.assignee, actor.name
        session.add(alert)
        record(session, actor.event("alert.assigned", target_type="alert", target_id=alert.id,
                                    merchant_id=alert.merchant_id, at=now,
                                    details={"assignee": actor.name, "previous": previous}))
        return True
    merchant = session.get(Merchant, item_id)
    if merchant is None or merchant.status not in REVIEW_STATUSES:
        return False
    previous = assignees(session, [merchant.id]).get(merchant.id)
    record(session, actor.event("merchant.assigned", target_type="merchant",
                                target_id=merchant.id, merchant_id=merchant.id, at=now,
                                details={"assignee": actor.name, "previous": previous}))
    return True
