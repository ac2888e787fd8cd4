"""The transactions and API calls behind a case's alerts.

Scenario evidence names its transactions by ``transaction_id`` / ``transaction_ids`` (the
``payment_transaction.id``; see ``checks/monitoring``), at any depth. The API anomaly scenarios
(``app.services.api_anomalies``) name a subject — a source IP or a customer ref — and a UTC day:
their calls are the merchant's ``api.verify`` audit events of that subject on that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, select

from app.models import Alert, AuditEvent, Transaction
from app.services.api_anomalies import IP_SCENARIO, REF_SCENARIO, VERIFY_ACTION
from app.services.str_report import values

CHUNK = 500
MAX_API_CALLS_PER_ALERT = 500
TRANSACTION_KEYS = ("transaction_id", "transaction_ids")
SUBJECT_COLUMNS = {IP_SCENARIO: AuditEvent.source_ip, REF_SCENARIO: AuditEvent.customer_ref}


def transaction_ids(details: Any) -> list[str]:
    """Every transaction id named in an alert's evidence, in first-seen order."""
    found: dict[str, None] = {}

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, str(k))
        elif isinstance(node, list | tuple):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in TRANSACTION_KEYS:
            found.setdefault(node, None)
    walk(details)
    return list(found)


def load_transactions(session: Session, *, merchant_id: str,
                      ids: Iterable[str]) -> list[Transaction]:
    """The merchant's transactions among ``ids``, oldest first (another merchant's id named by
    mistake is not loaded)."""
    wanted = sorted(set(ids))
    rows: list[Transaction] = []
    for start in range(0, len(wanted), CHUNK):
        rows += session.exec(select(Transaction).where(
            Transaction.merchant_id == merchant_id,
            Transaction.id.in_(wanted[start:start + CHUNK]))).all()
    return sorted(rows, key=lambda t: (t.occurred_at, t.id))


def api_calls(session: Session, alert: Alert) -> tuple[list[AuditEvent], str]:
    """The verification calls behind an API anomaly alert and a status: ``not_applicable``
    (another scenario), ``found``, ``truncated`` (over the cap) or ``unknown: …`` when the
    evidence does not say which calls (never an empty list that looks like "none")."""
    column = SUBJECT_COLUMNS.get(alert.scenario)
    if column is None:
        return [], "not_applicable"
    details = alert.details or {}
    subject, day = details.get("subject"), _day(details.get("day"))
    if not subject or day is None or not alert.merchant_id:
        return [], "unknown: the alert's evidence names no subject or day"
    rows = session.exec(select(AuditEvent).where(
        AuditEvent.merchant_id == alert.merchant_id, AuditEvent.action == VERIFY_ACTION,
        AuditEvent.at >= day, AuditEvent.at < day + dt.timedelta(days=1), column == subject,
    ).order_by(AuditEvent.seq).limit(MAX_API_CALLS_PER_ALERT + 1)).all()
    if len(rows) > MAX_API_CALLS_PER_ALERT:
        return list(rows[:MAX_API_CALLS_PER_ALERT]), "truncated"
    return list(rows), "found"


def _day(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(str(value)), dt.time(), dt.UTC)
    except ValueError:
        return None


def transaction_entry(row: Transaction, alert_ids: list[str],
                      anchors: list[dict[str, Any]]) -> dict[str, Any]:
    """One transaction as the package shows it (card masked first 6 / last 4 at most)."""
    return {"id": row.id, "external_id": values.text(row.external_id), "type": row.type,
            "amount": values.amount(row.amount), "currency": row.currency,
            "amount_try": values.amount(row.amount_try),
            "occurred_at": values.when(row.occurred_at),
            "card_masked": values.card(row.card_masked),
            "customer_ref": values.text(row.customer_ref), "client_ip": row.client_ip,
            "description": values.text(row.description), "alert_ids": alert_ids,
            "anchors": anchors}


def api_call_entry(event: AuditEvent, alert_ids: list[str]) -> dict[str, Any]:
    """One verification call; the call is itself an audit event, so it anchors itself."""
    return {"seq": event.seq, "hash": event.hash, "at": values.when(event.at),
            "actor": event.actor, "key_id": event.key_id, "request_id": event.request_id,
            "source_ip": event.source_ip, "customer_ref": values.text(event.customer_ref),
            "operation": event.operation, "amount": values.amount(event.amount),
            "currency": event.currency, "card_masked": values.card(event.card_masked),
            "site": values.text(event.site), "decision": event.decision,
            "reason": values.text(event.reason),
            "alert_ids": alert_ids}
