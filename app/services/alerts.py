"""Working an alert to a documented end (R-C1, R-D5): assign, review, close with a disposition
and a reason, escalate when the 3-hour clock runs out, and snooze a repeating scenario.

An alert moves ``open → in_review → closed`` (or straight from ``open`` to ``closed``). It is due
``[alerts] sla_hours`` after ``occurred_at`` — the earliest transaction or API call behind it,
not the moment the alert was written (issue #9 item 5). :func:`escalate_overdue_alerts` marks
alerts past due (``escalated_at``), audits ``alert.escalated`` and queues a notice to every
active approver and admin; running it again does nothing more. A snooze stops one scenario from
opening alerts for one merchant for a bounded time (``[alerts] snooze_max_hours``); hits in the
meantime are audited as ``alert.suppressed``. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import Alert, AlertSnooze, AuditEvent, Notification, StaffUser
from checks.casework_policy import CaseworkPolicy
from checks.policy import Policy

ALERT_STATUSES = ("open", "in_review", "closed")
DISPOSITIONS = ("true_positive", "false_positive", "duplicate", "not_suspicious")
OPEN_STATUSES = ("open", "in_review")
ESCALATE_TO = ("approver", "admin")
REASON_MAX = 500


class AlertStateError(ValueError):
    """The alert cannot make this change; ``code`` is stable (for a 409/422)."""

    def __init__(self, message: str, code: str = "invalid_state") -> None:
        super().__init__(message)
        self.code = code


def casework(policy: Policy) -> CaseworkPolicy:
    """The policy's casework section; refuses a policy that has none."""
    if policy.casework is None:
        raise AlertStateError(f"policy {policy.version} has no [cases] table", "no_policy")
    return policy.casework


def occurred_time(hit: Any, now: dt.datetime) -> dt.datetime:
    """When the earliest transaction or call behind ``hit`` happened (``now`` when the hit
    does not say)."""
    return getattr(hit, "occurred_at", None) or now


def due_time(occurred_at: dt.datetime, policy: Policy) -> dt.datetime:
    """The 3-hour clock (R-C1): ``[alerts] sla_hours`` after the first event behind it."""
    return occurred_at + dt.timedelta(hours=policy.alert_sla_hours)


def get_alert(session: Session, alert_id: str) -> Alert | None:
    """The alert with this id, or None."""
    return session.get(Alert, alert_id)


def _audit(session: Session, actor: Actor, action: str, alert: Alert, now: dt.datetime,
           reason: str | None = None, **details: Any) -> None:
    record(session, actor.event(action, target_type="alert", target_id=alert.id,
                                merchant_id=alert.merchant_id, reason=reason, at=now,
                                details={"scenario": alert.scenario, **details}))


def assign_alert(session: Session, *, alert: Alert, assignee: str | None, actor: Actor,
                 now: dt.datetime) -> Alert:
    """Give an open or in-review alert to ``assignee`` (``None`` unassigns); audited with the
    previous assignee."""
    if alert.status not in OPEN_STATUSES:
        raise AlertStateError(f"alert {alert.id} is {alert.status}; only open alerts are "
                              "assigned")
    previous, alert.assignee = alert.assignee, (assignee or "").strip()[:120] or None
    session.add(alert)
    session.flush()
    _audit(session, actor, "alert.assigned", alert, now, assignee=alert.assignee,
           previous=previous)
    return alert


def start_review(session: Session, *, alert: Alert, actor: Actor, now: dt.datetime) -> Alert:
    """``open → in_review``; the reviewer takes the alert if nobody has it."""
    if alert.status != "open":
        raise AlertStateError(f"alert {alert.id} is {alert.status}, not open")
    alert.status = "in_review"
    alert.assignee = alert.assignee or actor.name
    session.add(alert)
    session.flush()
    _audit(session, actor, "alert.review_started", alert, now, assignee=alert.assignee)
    return alert


def close_alert(session: Session, *, alert: Alert, disposition: str, reason: str,
                actor: Actor, now: dt.datetime) -> Alert:
    """Close an open or in-review alert with a disposition and a mandatory reason; audited
    with whether the 3-hour clock held."""
    text = (reason or "").strip()
    if disposition not in DISPOSITIONS:
        raise AlertStateError(f"disposition must be one of {', '.join(DISPOSITIONS)}",
                              "disposition_required")
    if len(text) < 3:
        raise AlertStateError("a reason of at least 3 characters is required to close an "
                              "alert", "reason_required")
    if len(text) > REASON_MAX:
        raise AlertStateError(f"a reason is at most {REASON_MAX} characters", "reason_too_long")
    if alert.status not in OPEN_STATUSES:
        raise AlertStateError(f"alert {alert.id} is already {alert.status}")
    alert.status, alert.closed_at, alert.closed_by = "closed", now, actor.name
    alert.disposition, alert.resolution = disposition, text
    session.add(alert)
    session.flush()
    _audit(session, actor, "alert.closed", alert, now, reason=disposition,
           disposition=disposition, text=text, within_sla=now <= alert.due_at,
           case_id=alert.case_id)
    return alert


def overdue_alerts(session: Session, *, now: dt.datetime) -> list[Alert]:
    """Alerts still being worked whose due time has passed and that were not escalated."""
    return list(session.exec(select(Alert).where(
        Alert.status.in_(OPEN_STATUSES), Alert.escalated_at.is_(None), Alert.due_at < now)
        .order_by(Alert.due_at, Alert.id)).all())


def escalate_overdue_alerts(session: Session, *, now: dt.datetime, actor: Actor
                            ) -> list[Alert]:
    """Escalate every alert past its due time: mark it (``escalated_at``), audit
    ``alert.escalated`` and queue a notice to each active approver and admin. Idempotent: an
    escalated alert is not escalated again. Returns the alerts escalated now."""
    overdue = overdue_alerts(session, now=now)
    if not overdue:
        return []
    approvers = list(session.exec(select(StaffUser.email).where(
        StaffUser.role.in_(ESCALATE_TO), StaffUser.active.is_(True))
        .order_by(StaffUser.email)).all())
    for alert in overdue:
        alert.escalated_at = now
        session.add(alert)
        late = int((now - alert.due_at).total_seconds() // 60)
        _audit(session, actor, "alert.escalated", alert, now, reason="overdue",
               due_at=alert.due_at.isoformat(), minutes_late=late, notified=approvers,
               assignee=alert.assignee)
        for email in approvers:
            session.add(_escalation_notice(alert, email, now))
    session.flush()
    return overdue


def _escalation_notice(alert: Alert, email: str, now: dt.datetime) -> Notification:
    subject = f"Overdue alert {alert.id}: {alert.scenario} ({alert.severity})"
    body = (f"Alert {alert.id} ({alert.scenario}, {alert.severity}) for merchant "
            f"{alert.merchant_id} was due at {alert.due_at:%Y-%m-%d %H:%M} UTC and is still "
            f"{alert.status.replace('_', ' ')} (assignee: {alert.assignee or 'nobody'}).\n"
            f"{alert.summary}")
    # merchant_id stays empty: this notice is for staff and must not show in the portal
    return Notification(merchant_id=None, event="alert.escalated", recipient=email,
                        subject=subject, body=body, created_at=now, next_attempt_at=now,
                        payload={"alert_id": alert.id, "merchant_id": alert.merchant_id,
                                 "due_at": alert.due_at.isoformat()})


def snooze_scenario(session: Session, *, merchant_id: str, scenario: str, until: dt.datetime,
                    reason: str, actor: Actor, now: dt.datetime,
                    policy: Policy) -> AlertSnooze:
    """No new alert of ``scenario`` for ``merchant_id`` until ``until`` (at most
    ``[alerts] snooze_max_hours`` from now), with a reason; audited ``alert.snoozed``."""
    limit = dt.timedelta(hours=casework(policy).snooze_max_hours)
    text = (reason or "").strip()
    if len(text) < 3 or len(text) > REASON_MAX:
        raise AlertStateError("a snooze needs a reason of 3 to 500 characters",
                              "reason_required")
    if until <= now:
        raise AlertStateError("a snooze must end in the future", "snooze_in_past")
    if until - now > limit:
        raise AlertStateError(f"a snooze lasts at most {casework(policy).snooze_max_hours} "
                              "hours", "snooze_too_long")
    row = AlertSnooze(merchant_id=merchant_id, scenario=scenario, until=until, reason=text,
                      created_by=actor.name, created_at=now)
    session.add(row)
    session.flush()
    record(session, actor.event("alert.snoozed", target_type="alert_snooze", target_id=row.id,
                                merchant_id=merchant_id, reason=scenario, at=now,
                                details={"scenario": scenario, "until": until.isoformat(),
                                         "reason": text}))
    return row


def active_snoozes(session: Session, *, merchant_id: str, now: dt.datetime
                   ) -> dict[str, AlertSnooze]:
    """The merchant's snoozes in force at ``now``, by scenario (the latest-ending one)."""
    rows = session.exec(select(AlertSnooze).where(
        AlertSnooze.merchant_id == merchant_id, AlertSnooze.until > now,
        AlertSnooze.lifted_at.is_(None)).order_by(AlertSnooze.until)).all()
    return {row.scenario: row for row in rows}


def record_suppressed(session: Session, *, snooze: AlertSnooze, dedupe_key: str, summary: str,
                      occurred_at: dt.datetime, actor: Actor, now: dt.datetime) -> bool:
    """Audit ``alert.suppressed`` for a hit that a snooze kept from opening an alert — once per
    snooze and hit (a re-evaluation of the same history adds nothing). True when recorded."""
    seen = session.exec(select(AuditEvent.details).where(
        AuditEvent.action == "alert.suppressed", AuditEvent.target_id == snooze.id)).all()
    if any(details.get("dedupe_key") == dedupe_key for details in seen):
        return False
    record(session, actor.event(
        "alert.suppressed", target_type="alert_snooze", target_id=snooze.id,
        merchant_id=snooze.merchant_id, reason=snooze.scenario, at=now,
        details={"scenario": snooze.scenario, "dedupe_key": dedupe_key,
                 "summary": summary, "until": snooze.until.isoformat(),
                 "occurred_at": occurred_at.isoformat()}))
    return True


def lift_snooze(session: Session, *, snooze: AlertSnooze, actor: Actor,
                now: dt.datetime) -> AlertSnooze:
    """End a snooze before its time; audited (``alert.snooze_lifted``)."""
    if snooze.lifted_at is None and snooze.until > now:
        snooze.lifted_at, snooze.lifted_by = now, actor.name
        session.add(snooze)
        session.flush()
        record(session, actor.event("alert.snooze_lifted", target_type="alert_snooze",
                                    target_id=snooze.id, merchant_id=snooze.merchant_id,
                                    reason=snooze.scenario, at=now,
                                    details={"scenario": snooze.scenario}))
    return snooze
