"""Cases (R-D5): an investigation of one merchant that groups its alerts (or stands alone), with
an assignee, a priority, a due time, notes, a timeline read from the audit trail, and a close
that needs four eyes when the stakes are high.

Statuses: ``open → investigating ⇄ waiting_for_information → closed``. Closing needs an outcome
(``CASE_OUTCOMES``) and a reason. A case of a ``[cases] four_eyes_priorities`` priority, with a
high- or critical-severity alert, or with a filed STR (``str_filed_at``) is closed by two
different approvers: the first records a close request (``case.close_requested``), a second,
different approver confirms it with the same outcome (``case.closed``); another outcome is a
new request for someone else to confirm. An analyst cannot close such a case; an OAuth
client or the CLI (not a person) can only request the close. Closing a case closes its alerts
still being worked, with the disposition the outcome implies, so every alert ends documented.
The actions a case takes on the merchant (information requests, suspension, key freeze,
limits, attachments) live in :mod:`app.services.case_actions`. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import Alert, AuditEvent, Case, CaseNote, Merchant
from app.models.casework import CASE_OUTCOMES, CASE_PRIORITIES, CASE_STATUSES
from app.services.alerts import OPEN_STATUSES, casework, close_alert
from checks.policy import Policy

APPROVER_ROLES = ("approver", "admin")
PEOPLE_ROLES = ("analyst", "approver", "admin")  # a "client" or "cli" role is not a person
HIGH_SEVERITIES = ("high", "critical")
SEVERITY_PRIORITY = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}
# What closing a case says about its alerts still open.
OUTCOME_DISPOSITION = {"no_action": "not_suspicious", "monitoring_continued": "not_suspicious",
                       "str_filed": "true_positive", "merchant_offboarded": "true_positive",
                       "limits_adjusted": "true_positive"}
NOTE_MAX = 10_000


class CaseRefused(ValueError):
    """The case cannot make this change; ``code`` is stable (for a 409/422/403)."""

    def __init__(self, message: str, code: str = "invalid_state") -> None:
        super().__init__(message)
        self.code = code


def audit_case(session: Session, actor: Actor, action: str, case: Case, now: dt.datetime,
               reason: str | None = None, **details: Any) -> AuditEvent:
    """One audit event about ``case`` (its timeline is read from these)."""
    return record(session, actor.event(action, target_type="case", target_id=case.id,
                                       merchant_id=case.merchant_id, reason=reason, at=now,
                                       details={"case_id": case.id, **details}))


def get_case(session: Session, case_id: str) -> Case | None:
    """The case with this id, or None."""
    return session.get(Case, case_id)


def case_alerts(session: Session, case: Case) -> list[Alert]:
    """The case's alerts, by due time."""
    return list(session.exec(select(Alert).where(Alert.case_id == case.id)
                             .order_by(Alert.due_at, Alert.id)).all())


def _linkable(session: Session, merchant_id: str, alert_ids: Sequence[str]) -> list[Alert]:
    alerts = list(session.exec(select(Alert).where(Alert.id.in_(list(alert_ids)))).all())
    found = {a.id for a in alerts}
    missing = [i for i in alert_ids if i not in found]
    if missing:
        raise CaseRefused(f"no such alert: {', '.join(missing)}", "alert_not_found")
    for alert in alerts:
        if alert.merchant_id != merchant_id:
            raise CaseRefused(f"alert {alert.id} belongs to another merchant", "other_merchant")
        if alert.case_id is not None:
            raise CaseRefused(f"alert {alert.id} is already in case {alert.case_id}",
                              "alert_in_case")
    return alerts


def open_case(session: Session, *, merchant: Merchant, title: str, actor: Actor,
              now: dt.datetime, policy: Policy, alert_ids: Sequence[str] = (),
              priority: str | None = None, assignee: str | None = None,
              due_at: dt.datetime | None = None) -> Case:
    """Open a case for ``merchant`` from ``alert_ids`` (maybe none). The priority defaults to
    the most severe alert's (else ``medium``); the due time to ``[cases] due_hours`` of the
    priority after now. Audited ``case.opened``."""
    title = (title or "").strip()
    if not 3 <= len(title) <= 200:
        raise CaseRefused("a title of 3 to 200 characters is required", "title_required")
    alerts = _linkable(session, merchant.id, list(dict.fromkeys(alert_ids)))
    priority = priority or _priority_of(alerts)
    if priority not in CASE_PRIORITIES:
        raise CaseRefused(f"priority must be one of {', '.join(CASE_PRIORITIES)}", "priority")
    due_at = due_at or now + dt.timedelta(hours=casework(policy).due_hours[priority])
    if due_at <= now:
        raise CaseRefused("the due date must be in the future", "due_in_past")
    case = Case(merchant_id=merchant.id, title=title, status="open", priority=priority,
                assignee=(assignee or "").strip()[:120] or None, opened_by=actor.name,
                opened_at=now, due_at=due_at)
    session.add(case)
    session.flush()
    for alert in alerts:
        alert.case_id = case.id
        session.add(alert)
    session.flush()
    audit_case(session, actor, "case.opened", case, now, title=title, priority=priority,
               assignee=case.assignee, due_at=due_at.isoformat(),
               alert_ids=[a.id for a in alerts])
    return case


def _priority_of(alerts: Sequence[Alert]) -> str:
    order = list(CASE_PRIORITIES)
    levels = [SEVERITY_PRIORITY.get(a.severity, "medium") for a in alerts] or ["medium"]
    return max(levels, key=order.index)


def add_alerts(session: Session, *, case: Case, alert_ids: Sequence[str], actor: Actor,
               now: dt.datetime) -> list[Alert]:
    """Put more of the merchant's alerts in the case; audited ``case.updated``."""
    require_open(case)
    alerts = _linkable(session, case.merchant_id, list(dict.fromkeys(alert_ids)))
    for alert in alerts:
        alert.case_id = case.id
        session.add(alert)
    session.flush()
    audit_case(session, actor, "case.updated", case, now, change="alerts_added",
               alert_ids=[a.id for a in alerts])
    return alerts


def require_open(case: Case) -> None:
    if case.status == "closed":
        raise CaseRefused(f"case {case.id} is closed", "case_closed")


def assign_case(session: Session, *, case: Case, assignee: str | None, actor: Actor,
                now: dt.datetime) -> Case:
    """Give the case to ``assignee`` (None: nobody); audited ``case.assigned``."""
    require_open(case)
    previous, case.assignee = case.assignee, (assignee or "").strip()[:120] or None
    session.add(case)
    session.flush()
    audit_case(session, actor, "case.assigned", case, now, assignee=case.assignee,
               previous=previous)
    return case


def set_status(session: Session, *, case: Case, status: str, actor: Actor,
               now: dt.datetime) -> Case:
    """Move between ``open``, ``investigating`` and ``waiting_for_information`` (closing has
    its own verb, :func:`close_case`); audited ``case.updated``."""
    require_open(case)
    if status not in CASE_STATUSES or status == "closed":
        raise CaseRefused("status must be open, investigating or waiting_for_information",
                          "status")
    if status != case.status:
        previous, case.status = case.status, status
        session.add(case)
        session.flush()
        audit_case(session, actor, "case.updated", case, now, change="status",
                   before=previous, after=status)
    return case


def add_note(session: Session, *, case: Case, text: str, actor: Actor,
             now: dt.datetime) -> CaseNote:
    """A note on the case (also allowed on a closed case, for the record); audited with its
    text, so the timeline shows it."""
    text = (text or "").strip()
    if not 1 <= len(text) <= NOTE_MAX:
        raise CaseRefused(f"a note has 1 to {NOTE_MAX} characters", "text_required")
    note = CaseNote(case_id=case.id, author=actor.name, text=text, created_at=now)
    session.add(note)
    session.flush()
    audit_case(session, actor, "case.note_added", case, now, note_id=note.id, text=text)
    return note


def case_notes(session: Session, case: Case) -> list[CaseNote]:
    """The case's notes, oldest first."""
    return list(session.exec(select(CaseNote).where(CaseNote.case_id == case.id)
                             .order_by(CaseNote.created_at, CaseNote.id)).all())


def needs_four_eyes(session: Session, case: Case, policy: Policy) -> list[str]:
    """Why closing this case needs a second approver (empty: it does not)."""
    why = []
    if case.priority in casework(policy).four_eyes_priorities:
        why.append(f"priority {case.priority}")
    if any(a.severity in HIGH_SEVERITIES for a in case_alerts(session, case)):
        why.append("high-severity alert")
    if case.str_filed_at is not None:
        why.append("STR filed")
    return why


def close_case(session: Session, *, case: Case, outcome: str, reason: str, actor: Actor,
               role: str, now: dt.datetime, policy: Policy) -> Case:
    """Close the case, or — when it needs four eyes — record the close request of a first
    approver, or complete it for a second, different approver. ``role`` is the staff role of
    ``actor`` (``client`` or ``cli`` when it is not a person). Check ``case.status`` after."""
    require_open(case)
    text = (reason or "").strip()
    if outcome not in CASE_OUTCOMES:
        raise CaseRefused(f"outcome must be one of {', '.join(CASE_OUTCOMES)}", "outcome")
    if not 3 <= len(text) <= 1000:
        raise CaseRefused("a reason of 3 to 1000 characters is required", "reason_required")
    why = needs_four_eyes(session, case, policy)
    if not why:
        return _close(session, case, outcome, text, actor, now, four_eyes=None)
    if role == "analyst":
        raise CaseRefused(f"closing this case needs two approvers ({', '.join(why)}); "
                          "an analyst cannot close it", "approver_required")
    if case.close_requested_by is None or outcome != case.outcome:
        # the first request; or another outcome, which is a new request to be confirmed
        return _request_close(session, case, outcome, text, actor, now, four_eyes=why)
    if case.close_requested_by == actor.name:
        raise CaseRefused("four eyes: a second, different approver must confirm the close",
                          "four_eyes")
    if role not in APPROVER_ROLES:
        raise CaseRefused("the second approver must be a person signed in to the console",
                          "person_required")
    return _close(session, case, outcome, text, actor, now, four_eyes=why)


def _request_close(session: Session, case: Case, outcome: str, text: str, actor: Actor,
                   now: dt.datetime, *, four_eyes: list[str]) -> Case:
    replaced = case.close_requested_by
    case.close_requested_by, case.close_requested_at = actor.name, now
    case.outcome, case.close_reason = outcome, text
    session.add(case)
    session.flush()
    audit_case(session, actor, "case.close_requested", case, now, reason=outcome,
               outcome=outcome, text=text, four_eyes=four_eyes, replaces_request_of=replaced)
    return case


def _close(session: Session, case: Case, outcome: str, text: str, actor: Actor,
           now: dt.datetime, *, four_eyes: list[str] | None) -> Case:
    for alert in case_alerts(session, case):
        if alert.status in OPEN_STATUSES:
            close_alert(session, alert=alert, disposition=OUTCOME_DISPOSITION[outcome],
                        reason=f"closed with case {case.id}: {text}"[:500], actor=actor,
                        now=now)
    first = case.close_requested_by
    case.status, case.outcome, case.close_reason = "closed", outcome, text
    case.closed_by, case.closed_at = actor.name, now
    session.add(case)
    session.flush()
    audit_case(session, actor, "case.closed", case, now, reason=outcome, outcome=outcome,
               text=text, first_approver=first, four_eyes=four_eyes or [],
               within_due=now <= case.due_at)
    return case


# What a case's actions on the merchant record at the merchant level (R-D5): the case names
# the change in its own ``case.updated`` event, the merchant-level event carries the detail.
CAUSED_ACTIONS = ("keys.frozen", "keys.unfrozen", "keys.blocked", "keys.caps_changed",
                  "decision.suspend")
CASE_CHANGES = ("keys_frozen", "merchant_suspended", "limits_adjusted")


def timeline(session: Session, case: Case) -> list[AuditEvent]:
    """Every audit event of the case and of its alerts, and the merchant-level events the
    case's actions caused (key freeze, suspension, limit changes), in chain order. Each read
    is a ``merchant_id = ? AND target_id IN (…)`` lookup on ``ix_audit_merchant_target``."""
    ids = [case.id] + [a.id for a in case_alerts(session, case)]
    own = [e for e in session.exec(select(AuditEvent).where(
        AuditEvent.merchant_id == case.merchant_id, AuditEvent.target_id.in_(ids))).all()
        if (e.target_type == "case" and e.target_id == case.id)
        or (e.target_type == "alert" and e.target_id != case.id)]
    return sorted(own + caused_events(session, case, own), key=lambda e: e.seq)


def caused_events(session: Session, case: Case, events: Sequence[AuditEvent]
                  ) -> list[AuditEvent]:
    """The merchant-level events written with the case's ``case.updated`` events for a change
    on the merchant: the suspension's decision events (by the decision id the case names),
    and the key and limit events on the merchant by the same actor at the same instant."""
    changes = [e for e in events if e.action == "case.updated"
               and (e.details or {}).get("change") in CASE_CHANGES]
    if not changes:
        return []
    decisions = {str(e.details["decision_id"]) for e in changes if e.details.get("decision_id")}
    moments = {(e.actor, e.at) for e in changes}
    rows = session.exec(select(AuditEvent).where(
        AuditEvent.merchant_id == case.merchant_id,
        AuditEvent.target_id.in_(sorted(decisions | {case.merchant_id})),
        AuditEvent.action.in_(CAUSED_ACTIONS))).all()
    return [e for e in rows if e.target_id in decisions or (e.actor, e.at) in moments]


def list_cases(session: Session, *, status: str | None = None, merchant_id: str | None = None,
               assignee: str | None = None, limit: int = 200) -> list[Case]:
    """Cases by due time (closed ones last)."""
    stmt = select(Case)
    if status == "active":
        stmt = stmt.where(Case.status != "closed")
    elif status:
        stmt = stmt.where(Case.status == status)
    if merchant_id:
        stmt = stmt.where(Case.merchant_id == merchant_id)
    if assignee:
        stmt = stmt.where(Case.assignee == assignee)
    closed_last = sa.case((Case.status == "closed", 1), else_=0)
    return list(session.exec(stmt.order_by(closed_last, Case.due_at, Case.id)
                             .limit(limit)).all())
