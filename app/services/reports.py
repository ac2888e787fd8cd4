"""The regulator's figures (R-D8), read from the database: now (for ``/metrics``) and per
month (for the staff Reports page and its CSV export).

Time to verify (p50/p95) comes from the verification events of the audit trail (their
``latency_ms``); alert precision is true positives over closed alerts, per scenario; case time
to close runs from opening to closing; the EDD share is the share of high-tier merchants (per
month: of the month's assessments); the audit shipping lag is how far the trail's head is ahead
of its last anchor written outside the database (``app.audit.anchor``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from typing import Any

from sqlmodel import Session, func, select

from app.audit.anchor import last_anchor
from app.audit.trail import chain_head
from app.config import Settings
from app.db import utcnow
from app.models import Alert, AuditEvent, Case, Merchant, WebhookDelivery

Figures = dict[str, tuple[str, tuple[str, ...], list[tuple[tuple[str, ...], float]]]]


def _count(session: Session, *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(where[0]).where(*where[1:])).one())


def _precision(session: Session) -> list[tuple[tuple[str, ...], float]]:
    rows = session.exec(select(Alert.scenario, Alert.disposition, func.count())
                        .where(Alert.status == "closed")
                        .group_by(Alert.scenario, Alert.disposition)).all()
    closed: Counter[str] = Counter()
    true: Counter[str] = Counter()
    for scenario, disposition, count in rows:
        closed[scenario] += count
        true[scenario] += count if disposition == "true_positive" else 0
    return [((s,), true[s] / closed[s]) for s in sorted(closed)]


def _case_close(session: Session) -> tuple[int, float]:
    rows = session.exec(select(Case.opened_at, Case.closed_at)
                        .where(Case.closed_at.is_not(None))).all()
    seconds = [(closed - opened).total_seconds() for opened, closed in rows]
    return len(seconds), (sum(seconds) / len(seconds) if seconds else 0.0)


def audit_lag(session: Session, settings: Settings, now: dt.datetime) -> tuple[int, int, float]:
    """(head seq, events not yet anchored outside the database, seconds since the oldest of
    them was appended; 0 when every event is anchored)."""
    head, _ = chain_head(session.connection())
    path = settings.audit_anchor_file or os.path.join(settings.instance_path,
                                                      "audit-anchors.jsonl")
    anchored = last_anchor(path)
    behind = max(head - anchored, 0)
    if not behind:
        return head, 0, 0.0
    first = session.exec(select(AuditEvent.at).where(AuditEvent.seq == anchored + 1)).first()
    return head, behind, max((now - first).total_seconds(), 0.0) if first else 0.0


def _webhook_backlog(session: Session, now: dt.datetime) -> tuple[int, int, int, float]:
    pending = _count(session, WebhookDelivery, WebhookDelivery.status == "pending")
    failing = _count(session, WebhookDelivery, WebhookDelivery.status == "pending",
                     WebhookDelivery.attempts > 0)
    dead = _count(session, WebhookDelivery, WebhookDelivery.status == "dead")
    oldest = session.exec(select(func.min(WebhookDelivery.created_at))
                          .where(WebhookDelivery.status == "pending")).one()
    return pending, failing, dead, max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def _webhook_lag(session: Session, now: dt.datetime) -> float:
    """Average seconds from event to delivery over the last day (whichever process
    delivered: the counted histogram sees only the serving processes)."""
    rows = session.exec(select(WebhookDelivery.created_at, WebhookDelivery.delivered_at).where(
        WebhookDelivery.status == "delivered",
        WebhookDelivery.delivered_at >= now - dt.timedelta(days=1))).all()
    lags = [(delivered - created).total_seconds() for created, delivered in rows]
    return sum(lags) / len(lags) if lags else 0.0


def _tiers(session: Session) -> dict[str, int]:
    rows = session.exec(select(Merchant.tier, func.count()).where(Merchant.tier.is_not(None))
                        .group_by(Merchant.tier)).all()
    return {tier: int(count) for tier, count in rows}


def current_figures(session: Session, settings: Settings,
                    now: dt.datetime | None = None) -> Figures:
    """The figures ``/metrics`` reads from the database, as gauge families."""
    now = now or utcnow()
    unclosed = Alert.status != "closed"
    cases_closed, close_avg = _case_close(session)
    tiers = _tiers(session)
    assessed = sum(tiers.values())
    pending, failing, dead, oldest = _webhook_backlog(session, now)
    head, behind, lag = audit_lag(session, settings, now)
    return {
        "kyb_alerts_open": ("Alerts not closed (open or in review)", (), [(
            (), _count(session, Alert, unclosed))]),
        "kyb_alerts_overdue": ("Alerts not closed past their due time (R-C1)", (), [(
            (), _count(session, Alert, unclosed, Alert.due_at < now))]),
        "kyb_alert_precision": ("True positives over closed alerts, per scenario",
                                ("scenario",), _precision(session)),
        "kyb_cases_open": ("Cases not closed", (), [(
            (), _count(session, Case, Case.closed_at.is_(None)))]),
        "kyb_cases_closed": ("Closed cases", (), [((), cases_closed)]),
        "kyb_case_time_to_close_seconds_avg": ("Average time from opening to closing a case",
                                               (), [((), close_avg)]),
        "kyb_merchants_by_tier": ("Assessed merchants by risk tier", ("tier",),
                                  [((t,), n) for t, n in sorted(tiers.items())]),
        "kyb_merchants_high_tier_ratio": ("Share of assessed merchants in the high tier (EDD)",
                                          (), [((), tiers.get("high", 0) / assessed
                                                if assessed else 0.0)]),
        "kyb_webhook_pending": ("Webhook deliveries waiting", (), [((), pending)]),
        "kyb_webhook_failing": ("Waiting webhook deliveries whose last attempt failed", (),
                                [((), failing)]),
        "kyb_webhook_dead": ("Webhook deliveries given up (dead letters)", (), [((), dead)]),
        "kyb_webhook_lag_seconds_avg_24h": ("Average event-to-delivery time, last 24 hours",
                                            (), [((), _webhook_lag(session, now))]),
        "kyb_webhook_oldest_pending_seconds": ("Age of the oldest waiting delivery", (),
                                               [((), oldest)]),
        "kyb_audit_head_seq": ("Sequence number of the audit trail's head", (), [((), head)]),
        "kyb_audit_unanchored_events": ("Audit events not yet anchored outside the database",
                                        (), [((), behind)]),
        "kyb_audit_shipping_lag_seconds": ("Age of the oldest audit event not yet anchored",
                                           (), [((), lag)]),
    }
