"""Verification traffic feeds the POS scenarios (issue #9): allowed ``POST /verify`` and
``GET /auth`` requests that carry an amount are judged by the scenarios the policy lists in
``[monitoring] verification_scenarios`` (card velocity, bot intervals, IP/customer fan-out...).

Verifications are a stream of their own, never mixed with the merchant's transaction feed: a
verification and the transaction it precedes are the same payment, so mixing them would count
one card use twice. Their hits open alerts keyed ``<merchant>:verify:<hit key>`` and their
verdicts are stored under stream ``verifications``. The card is known only masked (first six,
last four), which stands in for the fingerprint. Runs off the request path: the
after-commit observer of the audit trail (``app/services/api_anomalies.py``) calls
:func:`evaluate_verifications` at most once per merchant per
``verification_eval_interval_seconds``; the host's audit writer queues the job
``evaluate_verification_scenarios`` instead (``app/jobs/monitoring.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlmodel import Session, select

from app.audit.trail import Actor
from app.models import Alert, AuditEvent
from app.services.monitoring import alert_key, open_alerts
from app.services.scenario_results import store_judgements
from checks.facts import Money
from checks.monitoring import Activity, MonitoredTransaction, judge, lookback_days
from checks.policy import Policy

VERIFY_ACTION = "api.verify"
STREAM = "verifications"
ACTOR = Actor("system:monitoring")


def load_verifications(session: Session, *, merchant_id: str, start: dt.datetime,
                       end: dt.datetime, policy: Policy) -> tuple[MonitoredTransaction, ...]:
    """The merchant's allowed verifications with a TRY-convertible amount in ``(start, end]``,
    as sales (one query on the ``(merchant_id, at)`` index of the audit trail)."""
    rows = session.exec(
        select(AuditEvent.id, AuditEvent.at, AuditEvent.amount, AuditEvent.currency,
               AuditEvent.card_masked, AuditEvent.customer_ref, AuditEvent.source_ip)
        .where(AuditEvent.merchant_id == merchant_id, AuditEvent.at > start,
               AuditEvent.at <= end, AuditEvent.action == VERIFY_ACTION,
               AuditEvent.decision == "allow", AuditEvent.amount.is_not(None))
        .order_by(AuditEvent.at)).all()
    out = []
    for r in rows:
        amount = policy.to_try(Money(r.amount, r.currency)) if r.currency else None
        if amount is None or amount <= 0:
            continue
        out.append(MonitoredTransaction(
            occurred_at=r.at, amount_try=amount, type="sale",
            card_fingerprint=f"masked:{r.card_masked}" if r.card_masked else None,
            customer_ref=r.customer_ref, client_ip=r.source_ip, transaction_id=r.id))
    return tuple(out)


def evaluate_verifications(session: Session, *, merchant_id: str, now: dt.datetime,
                           policy: Policy, actor: Actor = ACTOR) -> list[Alert]:
    """Judge the merchant's verification stream at ``now``: store the verdicts and open an
    alert per new hit (flushes only). Returns the alerts opened."""
    codes = policy.monitoring.params.get("verification_scenarios", ())
    if not codes:
        return []
    start = now - dt.timedelta(days=lookback_days(policy, only=codes))
    activity = Activity(load_verifications(session, merchant_id=merchant_id, start=start,
                                           end=now, policy=policy))
    verdicts = judge(activity, policy, now, only=codes)
    store_judgements(session, merchant_id=merchant_id, stream=STREAM, judgements=verdicts,
                     now=now, evaluated_at=now, policy=policy)
    hits = {}
    for verdict in verdicts:
        for hit in verdict.hits:
            marked = dataclasses.replace(hit, evidence={**hit.evidence, "stream": STREAM})
            hits[alert_key(merchant_id, hit, stream=STREAM)] = (marked, now)
    return open_alerts(session, merchant_id=merchant_id, hits=hits, actor=actor, now=now,
                       policy=policy)
