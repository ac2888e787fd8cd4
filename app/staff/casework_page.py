"""What the alert and case pages show, read for people: the evidence behind an alert as a table
of the transactions or API calls it stands on (cards masked) and a list of its figures — never
raw JSON — and a case's timeline as sentences. Also the alert queue's query and the "next
unworked item" the keyboard flow jumps to."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from app.models import Alert, AuditEvent, Merchant, Transaction
from app.services.alerts import OPEN_STATUSES
from app.web.labels import AUDIT_ACTION

EVIDENCE_ROWS = 100
CARD = re.compile(r"\b(\d{6})\d{3,9}(\d{4})\b")
HIDDEN_KEYS = {"transaction_ids", "subject", "evaluated_at", "policy_version"}
CAP_LABELS = {"per_transaction": _l("per transaction"), "daily": _l("per day"),
              "monthly": _l("per month")}


def mask_cards(text: str) -> str:
    """Card-like digit runs shown as first 6 / last 4 only."""
    return CARD.sub(lambda m: f"{m.group(1)}******{m.group(2)}", text)


@dataclass(frozen=True)
class AlertFilters:
    """The alert queue's filters (empty means any)."""

    status: str = "active"  # active | open | in_review | closed | all
    severity: str = ""
    scenario: str = ""
    assignee: str = ""  # "" | me | unassigned
    marker: str = ""  # "" | overdue | escalated
    sort: str = "due"  # due | -due


def alert_rows(session: Session, filters: AlertFilters, me: str, now: dt.datetime,
               limit: int = 300) -> list[tuple[Alert, str | None]]:
    """Alerts with their merchant's name, filtered and sorted by due time (one query)."""
    stmt = (select(Alert, Merchant.legal_name)
            .join(Merchant, Merchant.id == Alert.merchant_id, isouter=True))
    if filters.status == "active":
        stmt = stmt.where(Alert.status.in_(OPEN_STATUSES))
    elif filters.status in ("open", "in_review", "closed"):
        stmt = stmt.where(Alert.status == filters.status)
    for column, value in ((Alert.severity, filters.severity),
                          (Alert.scenario, filters.scenario)):
        if value:
            stmt = stmt.where(column == value)
    if filters.assignee == "me":
        stmt = stmt.where(Alert.assignee == me)
    elif filters.assignee == "unassigned":
        stmt = stmt.where(Alert.assignee.is_(None))
    if filters.marker == "overdue":
        stmt = stmt.where(Alert.status != "closed", Alert.due_at < now)
    elif filters.marker == "escalated":
        stmt = stmt.where(Alert.escalated_at.is_not(None))
    order = Alert.due_at.desc() if filters.sort == "-due" else Alert.due_at
    return list(session.exec(stmt.order_by(order, Alert.id).limit(limit)).all())


def scenarios(session: Session) -> list[str]:
    """Scenario codes that have alerts (for the filter)."""
    return list(session.exec(select(Alert.scenario).distinct().order_by(Alert.scenario)).all())


def next_unworked(session: Session, me: str, *, after: str | None = None) -> Alert | None:
    """The most urgent open alert nobody else has taken (escalated first), skipping
    ``after``: where "next item" goes."""
    stmt = select(Alert).where(Alert.status == "open",
                               sa.or_(Alert.assignee.is_(None), Alert.assignee == me))
    if after:
        stmt = stmt.where(Alert.id != after)
    escalated_first = sa.case((Alert.escalated_at.is_not(None), 0), else_=1)
    return session.exec(stmt.order_by(escalated_first, Alert.due_at, Alert.id)).first()


@dataclass(frozen=True)
class Evidence:
    """What an alert stands on: a table (transactions or API calls) and its figures."""

    kind: str  # transactions | calls
    caption: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)


def alert_evidence(session: Session, alert: Alert) -> Evidence:
    """The alert's evidence, readable: the transactions it names (or, when it names none, the
    merchant's latest before it opened), or the API calls of an API scenario."""
    details = alert.details or {}
    figures = [(key.replace("_", " "), _figure(value)) for key, value in details.items()
               if key not in HIDDEN_KEYS]
    if alert.scenario.startswith("api_"):
        return Evidence("calls", _("API calls behind the alert"), _calls(session, alert),
                        figures)
    ids = [str(i) for i in details.get("transaction_ids") or []][:EVIDENCE_ROWS]
    if ids:
        rows = session.exec(select(Transaction).where(Transaction.id.in_(ids))
                            .order_by(Transaction.occurred_at)).all()
        caption = _("Transactions behind the alert")
    else:
        rows = session.exec(select(Transaction).where(
            Transaction.merchant_id == alert.merchant_id,
            Transaction.occurred_at <= alert.opened_at)
            .order_by(Transaction.occurred_at.desc()).limit(50)).all()
        caption = _("The merchant's latest transactions before the alert")
    return Evidence("transactions", caption, [_transaction(t) for t in rows], figures)


def _transaction(t: Transaction) -> dict[str, Any]:
    return {"at": t.occurred_at, "external_id": t.external_id, "type": t.type,
            "amount": t.amount, "currency": t.currency, "card": t.card_masked or "—",
            "customer": t.customer_ref or "—", "ip": t.client_ip or "—",
            "description": mask_cards(t.description or "")}


def _calls(session: Session, alert: Alert) -> list[dict[str, Any]]:
    details = alert.details or {}
    subject, day = details.get("subject"), details.get("day")
    if not subject or not day:
        return []
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    column = (AuditEvent.source_ip if alert.scenario == "api_ip_many_customers"
              else AuditEvent.customer_ref)
    rows = session.exec(select(AuditEvent).where(
        AuditEvent.action == "api.verify", AuditEvent.merchant_id == alert.merchant_id,
        AuditEvent.at >= start, AuditEvent.at < start + dt.timedelta(days=1),
        column == subject).order_by(AuditEvent.seq).limit(EVIDENCE_ROWS)).all()
    return [{"at": e.at, "ip": e.source_ip or "—", "customer": e.customer_ref or "—",
             "operation": e.operation or "—", "amount": e.amount, "currency": e.currency,
             "card": e.card_masked or "—", "decision": e.decision or "—",
             "reason": e.reason or "—"} for e in rows]


def _figure(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_figure(v)}" for k, v in value.items())
    if isinstance(value, list):
        shown = ", ".join(_figure(v) for v in value[:20])
        return shown + (f" … (+{len(value) - 20})" if len(value) > 20 else "")
    return mask_cards("—" if value is None else str(value))


@dataclass(frozen=True)
class TimelineEntry:
    """One event of a case's timeline, in words."""

    at: dt.datetime
    actor: str
    label: str
    text: str
    target: str
    hash: str


def timeline_entries(events: list[AuditEvent]) -> list[TimelineEntry]:
    """The case's audit events as the page lists them."""
    return [TimelineEntry(e.at, e.actor, str(AUDIT_ACTION.get(e.action, e.action)),
                          _event_text(e), e.target_id or "", e.hash) for e in events]


def _event_text(e: AuditEvent) -> str:
    special = MERCHANT_TEXTS.get(e.action)
    if special is not None:
        return mask_cards(special(e.details or {}))[:600]
    d = e.details or {}
    parts = []
    for key in ("title", "text", "question", "answer", "change", "disposition", "outcome",
                "assignee", "filename", "sha256", "scenario"):
        if d.get(key):
            parts.append(f"{key.replace('_', ' ')}: {_figure(d[key])}")
    if d.get("before") and d.get("after") and isinstance(d["after"], str):
        parts.append(f"{d['before']} → {d['after']}")
    return mask_cards(" · ".join(parts))[:600]


def _caps_text(d: dict[str, Any]) -> str:
    before, after = d.get("before") or {}, d.get("after") or {}
    parts = [_("%(what)s: %(old)s → %(new)s %(currency)s", what=label,
               old=before.get(name) or _("no limit"), new=after.get(name) or _("no limit"),
               currency=after.get("currency") or "")
             for name, label in CAP_LABELS.items() if before.get(name) != after.get(name)]
    return " · ".join(p.strip() for p in parts)


def _status_text(d: dict[str, Any]) -> str:
    return _("Status %(old)s → %(new)s. Reason: %(reason)s",
             old=(d.get("before") or {}).get("status") or "—",
             new=(d.get("after") or {}).get("status") or "—", reason=d.get("reason") or "—")


MERCHANT_TEXTS = {
    "keys.frozen": lambda d: _("Every key answers key_frozen. Reason: %(reason)s",
                               reason=d.get("reason") or "—"),
    "keys.unfrozen": lambda d: _("Keys answer again. Reason: %(reason)s",
                                 reason=d.get("reason") or "—"),
    "keys.blocked": lambda d: _("%(count)s active key(s) blocked",
                                count=len(d.get("key_ids") or [])),
    "keys.caps_changed": _caps_text,
    "decision.suspend": _status_text,
    "case.str_filed": lambda d: _(
        "Reference %(reference)s · package SHA-256 %(sha)s · %(alerts)s alert(s), "
        "%(transactions)s transaction(s), %(calls)s API call(s)",
        reference=d.get("reference") or "—", sha=d.get("package_sha256") or "—",
        alerts=d.get("alerts", 0), transactions=d.get("transactions", 0),
        calls=d.get("api_calls", 0)),
    "case.str_exported": lambda d: _(
        "Format %(format)s · %(size)s bytes · file SHA-256 %(sha)s",
        format=(d.get("format") or "—").upper(), size=d.get("size", "—"),
        sha=d.get("file_sha256") or "—"),
}
