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
from app.models import Alert, AuditEvent, Decision, Merchant
from app.services.alerts import OPEN_STATUSES, assign_alert
from app.web.filters import alert_summary
from app.web.labels import label

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
    second: bool = False  # only approvals waiting for a second approver (four eyes)


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
    awaiting_second: bool = False  # a high-tier approval waits for a second approver

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
    if filters.second:
        stmt = stmt.where(Merchant.id.in_(_awaiting_second()))
    rows = session.exec(stmt.order_by(Merchant.created_at, Merchant.id).limit(QUEUE_LIMIT)).all()
    ids = [m.id for m in rows]
    owners = assignees(session, ids)
    waiting = awaiting_second(session, ids)
    sla = application_sla()
    items = [QueueItem("application", m.id, m.id, m.legal_name, m.trade_name or "", m.tier,
                       m.status, owners.get(m.id), m.created_at, m.created_at + sla,
                       m.id in waiting)
             for m in rows]
    return _by_assignee(items, filters.assignee, me)


NEXT_STATUSES = ("applied", "in_review")  # info_requested waits for the merchant


def next_application(session: Session, me: str, *, after: str | None = None
                     ) -> Merchant | None:
    """Where "next item" goes from an application: the oldest application waiting for a
    reviewer (not for the merchant) that nobody else has taken, other than ``after``. Reads
    the queue's first ``QUEUE_LIMIT`` applications and their assignees (two queries)."""
    stmt = select(Merchant).where(Merchant.status.in_(NEXT_STATUSES))
    if after:
        stmt = stmt.where(Merchant.id != after)
    rows = session.exec(stmt.order_by(Merchant.created_at, Merchant.id)
                        .limit(QUEUE_LIMIT)).all()
    owners = assignees(session, [m.id for m in rows])
    return next((m for m in rows if owners.get(m.id) in (None, me)), None)


def alerts(session: Session, filters: QueueFilters, me: str) -> list[QueueItem]:
    """Open alerts by due time, with their merchant's name and tier (one joined query)."""
    stmt = (select(Alert, Merchant.legal_name, Merchant.tier)
            .join(Merchant, Merchant.id == Alert.merchant_id, isouter=True)
            .where(Alert.status.in_(OPEN_STATUSES)))
    if filters.tier:
        stmt = stmt.where(Merchant.tier == filters.tier)
    if filters.assignee == "me":
        stmt = stmt.where(Alert.assignee == me)
    elif filters.assignee == "unassigned":
        stmt = stmt.where(Alert.assignee.is_(None))
    if filters.q:
        stmt = stmt.where(Merchant.legal_name.ilike(f"%{filters.q}%"))
    rows = session.exec(stmt.order_by(Alert.due_at, Alert.id).limit(QUEUE_LIMIT)).all()
    return [QueueItem("alert", a.id, a.merchant_id, name or "—",
                      f"{label(a.scenario, 'scenario')}: {alert_summary(a)}",
                      tier, a.severity, a.assignee, a.opened_at, a.due_at)
            for a, name, tier in rows]


def _awaiting_second():
    """The ids of merchants with an approval waiting for a second approver (a subquery)."""
    return select(Decision.merchant_id).where(Decision.status == "pending_second")


def awaiting_second(session: Session, merchant_ids: list[str]) -> set[str]:
    """Which of ``merchant_ids`` have a high-tier approval waiting for its second, different
    approver (four eyes); one query."""
    if not merchant_ids:
        return set()
    return set(session.exec(_awaiting_second().where(
        Decision.merchant_id.in_(merchant_ids))).all())


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
        if alert is None or alert.status not in OPEN_STATUSES:
            return False
        assign_alert(session, alert=alert, assignee=actor.name, actor=actor, now=now)
        return True
    merchant = session.get(Merchant, item_id)
    if merchant is None or merchant.status not in REVIEW_STATUSES:
        return False
    previous = assignees(session, [merchant.id]).get(merchant.id)
    record(session, actor.event("merchant.assigned", target_type="merchant",
                                target_id=merchant.id, merchant_id=merchant.id, at=now,
                                details={"assignee": actor.name, "previous": previous}))
    return True
