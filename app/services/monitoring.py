"""Real-time transaction monitoring: run the scenarios of ``checks.monitoring`` when a merchant's
transactions are recorded, and open one alert per new hit (R-C1..R-C10, R-A7).

``on_transactions_recorded`` subscribes to the ``transactions_recorded`` hook, so it runs inside
the request that stored the rows: the alert is there as soon as the batch commits, due
``[alerts] sla_hours`` (3 h) after it was opened. The merchant's history comes from one query on
the ``(merchant_id, occurred_at)`` index; the sector average (R-A7) from one aggregate query
over the same window. An alert's ``dedupe_key`` is ``<merchant id>:<hit dedupe key>`` and is
unique in the table, so evaluating the same history again never opens a second alert — even
when two workers race (the loser's insert is rolled back to a savepoint and skipped).
Services flush, never commit; each state change is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import Alert, Merchant, Transaction
from app.services.assessments import current_policy
from app.services.hooks import subscribe
from checks.monitoring import (
    Activity,
    MonitoredTransaction,
    ScenarioHit,
    SectorAverage,
    evaluate,
    lookback_days,
)
from checks.policy import Policy

log = logging.getLogger("kybgate.monitoring")
TYPES = ("sale", "refund", "chargeback")
MAX_KEY = 200  # Alert.dedupe_key column length


class AlertStateError(ValueError):
    """The alert cannot make this change (e.g. closing a closed alert)."""


@subscribe("transactions_recorded")
def on_transactions_recorded(*, session: Session, actor: Actor, now: dt.datetime,
                             merchant_id: str, transactions: Sequence[Any] = (),
                             **_: Any) -> list[Alert]:
    """Evaluate ``merchant_id``'s scenarios at ``now`` after a batch was stored."""
    return evaluate_merchant(session, merchant_id=merchant_id, actor=actor, now=now)


def evaluate_merchant(session: Session, *, merchant_id: str, actor: Actor, now: dt.datetime,
                      policy: Policy | None = None,
                      instants: Iterable[dt.datetime] | None = None) -> list[Alert]:
    """Run every scenario on the merchant's stored transactions and open the new alerts.

    ``instants`` are the evaluation instants (default just ``now``); a re-run passes one per
    past day so that hits of those days are found too. Alerts are opened at ``now`` whatever
    the instant. Returns the alerts opened (already known hits are skipped)."""
    policy = policy or current_policy()
    points = sorted(set(instants or ())) or [now]
    lookback = dt.timedelta(days=lookback_days(policy))
    activity = load_activity(session, merchant_id=merchant_id, start=points[0] - lookback,
                             end=points[-1], policy=policy)
    hits: dict[str, tuple[ScenarioHit, dt.datetime]] = {}
    for instant in points:
        for hit in evaluate(activity, policy, instant):
            hits.setdefault(alert_key(merchant_id, hit), (hit, instant))
    return open_alerts(session, merchant_id=merchant_id, hits=hits, actor=actor, now=now,
                       policy=policy)


def load_activity(session: Session, *, merchant_id: str, start: dt.datetime, end: dt.datetime,
                  policy: Policy) -> Activity:
    """The merchant's transactions in ``(start, end]`` (one indexed query) and its sector."""
    rows = session.exec(
        select(Transaction.id, Transaction.occurred_at, Transaction.amount_try, Transaction.type,
               Transaction.card_fingerprint, Transaction.customer_ref, Transaction.client_ip,
               Transaction.description)
        .where(Transaction.merchant_id == merchant_id, Transaction.occurred_at > start,
               Transaction.occurred_at <= end)
        .order_by(Transaction.occurred_at)).all()
    transactions = tuple(
        MonitoredTransaction(occurred_at=r.occurred_at, amount_try=r.amount_try, type=r.type,
                             card_fingerprint=r.card_fingerprint, customer_ref=r.customer_ref,
                             client_ip=r.client_ip, description=r.description,
                             transaction_id=r.id)
        # A currency without a policy rate has no TRY amount: it cannot enter TRY sums.
        for r in rows if r.amount_try is not None and r.type in TYPES)
    return Activity(transactions=transactions,
                    sector=sector_average(session, merchant_id=merchant_id, end=end,
                                          policy=policy))


def sector_average(session: Session, *, merchant_id: str, end: dt.datetime,
                   policy: Policy) -> SectorAverage | None:
    """Average sales turnover in the sector window of the other merchants of the merchant's
    MCC that had sales in it; ``None`` when the merchant has no sector."""
    days = policy.monitoring.params.get("sector_outlier_window_days")
    mcc = session.exec(select(Merchant.sector).where(Merchant.id == merchant_id)).first()
    if not mcc or not days:
        return None
    per_merchant = session.exec(
        select(Transaction.merchant_id, sa.func.sum(Transaction.amount_try))
        .join(Merchant, Merchant.id == Transaction.merchant_id)
        .where(Merchant.sector == mcc, Transaction.merchant_id != merchant_id,
               Transaction.type == "sale", Transaction.amount_try.is_not(None),
               Transaction.occurred_at > end - dt.timedelta(days=days),
               Transaction.occurred_at <= end)
        .group_by(Transaction.merchant_id)).all()
    totals = [Decimal(total or 0) for _, total in per_merchant]
    if not totals:
        return SectorAverage(mcc=mcc, average_monthly_try=Decimal(0), peers=0)
    average = (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01"))
    return SectorAverage(mcc=mcc, average_monthly_try=average, peers=len(totals))


def alert_key(merchant_id: str, hit: ScenarioHit) -> str:
    """The alert's unique key; hashed when it would not fit the column."""
    key = f"{merchant_id}:{hit.dedupe_key}"
    if len(key) <= MAX_KEY:
        return key
    return f"{merchant_id}:{hit.code}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def open_alerts(session: Session, *, merchant_id: str,
                hits: dict[str, tuple[ScenarioHit, dt.datetime]], actor: Actor,
                now: dt.datetime, policy: Policy) -> list[Alert]:
    """Open an alert for each hit whose key is not yet in the table; audit each one."""
    if not hits:
        return []
    known = set(session.exec(select(Alert.dedupe_key)
                             .where(Alert.dedupe_key.in_(list(hits)))).all())
    opened = []
    for key, (hit, instant) in hits.items():
        if key in known:
            continue
        alert = _insert(session, key=key, merchant_id=merchant_id, hit=hit, instant=instant,
                        now=now, policy=policy)
        if alert is None:
            continue
        record(session, actor.event(
            "alert.opened", target_type="alert", target_id=alert.id, merchant_id=merchant_id,
            reason=hit.code, at=now,
            details={"scenario": hit.code, "severity": hit.severity, "subject": hit.subject,
                     "dedupe_key": key, "summary": hit.summary,
                     "due_at": alert.due_at.isoformat(), "policy_version": policy.version}))
        opened.append(alert)
    return opened


def _insert(session: Session, *, key: str, merchant_id: str, hit: ScenarioHit,
            instant: dt.datetime, now: dt.datetime, policy: Policy) -> Alert | None:
    details = {**hit.evidence, "subject": hit.subject, "evaluated_at": instant.isoformat(),
               "policy_version": policy.version}
    alert = Alert(merchant_id=merchant_id, scenario=hit.code, severity=hit.severity,
                  summary=hit.summary[:500], details=details, dedupe_key=key, status="open",
                  opened_at=now, due_at=now + dt.timedelta(hours=policy.alert_sla_hours))
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        # Another worker opened the same alert between our lookup and this insert.
        log.info("alert %s already opened by another worker", key)
        return None
    return alert


def assign_alert(session: Session, alert: Alert, assignee: str | None, actor: Actor,
                 now: dt.datetime) -> Alert:
    """Give ``alert`` to ``assignee`` (``None`` unassigns); audited with the old assignee."""
    if alert.status != "open":
        raise AlertStateError(f"alert {alert.id} is {alert.status}; only open alerts are assigned")
    old, alert.assignee = alert.assignee, (assignee or "").strip() or None
    session.add(alert)
    session.flush()
    record(session, actor.event("alert.assigned", target_type="alert", target_id=alert.id,
                                merchant_id=alert.merchant_id, at=now,
                                details={"old": old, "new": alert.assignee}))
    return alert


def close_alert(session: Session, alert: Alert, actor: Actor, resolution: str,
                now: dt.datetime) -> Alert:
    """Close ``alert`` with a resolution a reviewer wrote; audited, with whether the SLA held."""
    text = (resolution or "").strip()
    if not text:
        raise AlertStateError("a resolution is required to close an alert")
    if len(text) > 500:
        raise AlertStateError("a resolution is at most 500 characters")
    if alert.status != "open":
        raise AlertStateError(f"alert {alert.id} is already {alert.status}")
    alert.status, alert.closed_at, alert.resolution = "closed", now, text
    session.add(alert)
    session.flush()
    record(session, actor.event("alert.closed", target_type="alert", target_id=alert.id,
                                merchant_id=alert.merchant_id, reason=text, at=now,
                                details={"scenario": alert.scenario,
                                         "within_sla": now <= alert.due_at}))
    return alert


def init_app(app: object) -> None:
    """Nothing to set up: importing this module (``app.plugins.FEATURES``) subscribes it."""
