"""Alerts worked to a documented end (R-C1, R-D5): the open → in_review → closed state machine,
a disposition and a reason on every close, the 3-hour clock from the earliest event behind the
alert, escalation of overdue alerts under frozen time, and bounded snoozes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from app.audit.trail import Actor, EventDraft, record, verify_trail
from app.models import Alert, AuditEvent, Merchant, Notification, StaffUser, Transaction
from app.services import alerts as svc
from app.services.api_anomalies import Observation, detect_api_anomalies
from app.services.monitoring import evaluate_merchant, open_alerts
from checks.monitoring import ScenarioHit
from checks.policy import load_policy

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
ACTOR = Actor(name="staff:analyst@bank.example", request_id="req-1")
POLICY = load_policy()


@dataclass(frozen=True)
class TimedHit(ScenarioHit):
    """A hit that says when its first transaction happened (as h4's scenarios will)."""

    occurred_at: dt.datetime | None = None


def merchant(session: Session) -> Merchant:
    row = Merchant(legal_name="Örnek Ticaret A.Ş.", country="TR", sector="5999")
    session.add(row)
    session.flush()
    return row


def make_alert(session: Session, m: Merchant, *, occurred: dt.datetime = NOW,
               severity: str = "high", code: str = "card_velocity") -> Alert:
    hit = TimedHit(code=code, subject="card:x", summary="card used 5 times",
                   severity=severity, dedupe_key=f"{code}:{occurred.isoformat()}",
                   occurred_at=occurred)
    [alert] = open_alerts(session, merchant_id=m.id, hits={f"{m.id}:{hit.dedupe_key}":
                                                            (hit, NOW)},
                          actor=ACTOR, now=NOW, policy=POLICY)
    return alert


def actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditEvent.action).order_by(AuditEvent.seq)).all())


def test_three_hour_clock_runs_from_the_earliest_transaction_not_from_opening(db_session):
    m = merchant(db_session)
    first = NOW - dt.timedelta(hours=2, minutes=30)
    alert = make_alert(db_session, m, occurred=first)
    assert alert.occurred_at == first and alert.opened_at == NOW
    assert alert.due_at == first + dt.timedelta(hours=3)  # 30 minutes after opening


def test_a_hit_without_a_time_starts_the_clock_when_the_alert_opens(db_session):
    m = merchant(db_session)
    hit = ScenarioHit(code="card_velocity", subject="s", summary="x", severity="high",
                      dedupe_key="k1")
    [alert] = open_alerts(db_session, merchant_id=m.id, hits={f"{m.id}:k1": (hit, NOW)},
                          actor=ACTOR, now=NOW, policy=POLICY)
    assert alert.occurred_at == NOW and alert.due_at == NOW + dt.timedelta(hours=3)


def test_api_anomaly_alert_is_due_three_hours_after_the_days_first_call(db_session):
    m = merchant(db_session)
    first = NOW - dt.timedelta(hours=1)
    limit = POLICY.monitoring.customer_refs_per_ip_per_day
    for i in range(limit):
        record(db_session, EventDraft(action="api.verify", actor="client:x", merchant_id=m.id,
                                      source_ip="203.0.113.9", customer_ref=f"cust-{i}",
                                      at=first + dt.timedelta(minutes=i)))
    [alert] = detect_api_anomalies(db_session, observation=Observation(
        m.id, "203.0.113.9", f"cust-{limit - 1}", NOW), now=NOW, policy=POLICY)
    assert alert.occurred_at == first
    assert alert.due_at == first + dt.timedelta(hours=3)


def test_review_then_close_with_disposition_and_reason(db_session):
    alert = make_alert(db_session, merchant(db_session))
    svc.start_review(db_session, alert=alert, actor=ACTOR, now=NOW)
    assert (alert.status, alert.assignee) == ("in_review", ACTOR.name)
    svc.close_alert(db_session, alert=alert, disposition="true_positive",
                    reason="Card testing confirmed with the issuer.", actor=ACTOR,
                    now=NOW + dt.timedelta(minutes=10))
    assert (alert.status, alert.disposition, alert.closed_by) == (
        "closed", "true_positive", ACTOR.name)
    assert actions(db_session)[-2:] == ["alert.review_started", "alert.closed"]
    assert verify_trail(db_session).ok


@pytest.mark.parametrize(("disposition", "reason", "code"), [
    (None, "a good reason", "disposition_required"),
    ("", "a good reason", "disposition_required"),
    ("suspicious", "a good reason", "disposition_required"),
    ("false_positive", "", "reason_required"),
    ("false_positive", "ok", "reason_required"),
    ("false_positive", "   \n ", "reason_required"),
    ("false_positive", "x" * 501, "reason_too_long"),
])
def test_close_needs_a_known_disposition_and_a_reason(db_session, disposition, reason, code):
    alert = make_alert(db_session, merchant(db_session))
    with pytest.raises(svc.AlertStateError) as err:
        svc.close_alert(db_session, alert=alert, disposition=disposition, reason=reason,
                        actor=ACTOR, now=NOW)
    assert err.value.code == code and alert.status == "open"


def test_state_machine_refuses_moves_from_the_wrong_state(db_session):
    alert = make_alert(db_session, merchant(db_session))
    svc.start_review(db_session, alert=alert, actor=ACTOR, now=NOW)
    with pytest.raises(svc.AlertStateError):
        svc.start_review(db_session, alert=alert, actor=ACTOR, now=NOW)
    svc.assign_alert(db_session, alert=alert, assignee="staff:b@bank.example", actor=ACTOR,
                     now=NOW)  # in review may be reassigned
    svc.close_alert(db_session, alert=alert, disposition="duplicate", reason="same as alr_1",
                    actor=ACTOR, now=NOW)
    for move in (lambda: svc.start_review(db_session, alert=alert, actor=ACTOR, now=NOW),
                 lambda: svc.assign_alert(db_session, alert=alert, assignee="x", actor=ACTOR,
                                          now=NOW),
                 lambda: svc.close_alert(db_session, alert=alert, disposition="duplicate",
                                         reason="again please", actor=ACTOR, now=NOW)):
        with pytest.raises(svc.AlertStateError):
            move()


def approver(session: Session, email: str, role: str = "approver") -> None:
    session.add(StaffUser(email=email, password_hash="x", totp_secret="x", role=role))
    session.flush()


def test_escalation_just_before_and_just_after_the_due_time(db_session):
    m = merchant(db_session)
    approver(db_session, "onay@bank.example")
    approver(db_session, "analist@bank.example", role="analyst")
    alert = make_alert(db_session, m, occurred=NOW)
    due = alert.due_at
    db_session.commit()
    with freeze_time(due - dt.timedelta(seconds=1)):
        assert svc.escalate_overdue_alerts(db_session, now=dt.datetime.now(dt.UTC),
                                           actor=ACTOR) == []
    with freeze_time(due):  # at the due time it is not yet late
        assert svc.escalate_overdue_alerts(db_session, now=dt.datetime.now(dt.UTC),
                                           actor=ACTOR) == []
    with freeze_time(due + dt.timedelta(seconds=1)):
        escalated = svc.escalate_overdue_alerts(db_session, now=dt.datetime.now(dt.UTC),
                                                actor=ACTOR)
    assert [a.id for a in escalated] == [alert.id]
    assert alert.escalated_at == due + dt.timedelta(seconds=1)
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "alert.escalated")
                            ).one()
    assert event.target_id == alert.id and event.details["notified"] == ["onay@bank.example"]
    notices = db_session.exec(select(Notification)).all()
    assert [(n.recipient, n.merchant_id, n.event) for n in notices] == [
        ("onay@bank.example", None, "alert.escalated")]
    # idempotent: a second run an hour later escalates nothing more
    again = svc.escalate_overdue_alerts(db_session, now=due + dt.timedelta(hours=1),
                                        actor=ACTOR)
    assert again == [] and actions(db_session).count("alert.escalated") == 1


def test_closed_alerts_are_never_escalated(db_session):
    alert = make_alert(db_session, merchant(db_session))
    svc.close_alert(db_session, alert=alert, disposition="false_positive",
                    reason="known customer", actor=ACTOR, now=NOW)
    assert svc.escalate_overdue_alerts(db_session, now=NOW + dt.timedelta(days=1),
                                       actor=ACTOR) == []


@pytest.mark.parametrize(("hours", "ok"), [(168, True), (168.01, False), (0, False)])
def test_snooze_is_bounded_by_the_policy(db_session, hours, ok):
    m = merchant(db_session)
    until = NOW + dt.timedelta(hours=hours)
    if ok:
        row = svc.snooze_scenario(db_session, merchant_id=m.id, scenario="card_velocity",
                                  until=until, reason="known promotion", actor=ACTOR,
                                  now=NOW, policy=POLICY)
        assert row.until == until and actions(db_session)[-1] == "alert.snoozed"
    else:
        with pytest.raises(svc.AlertStateError):
            svc.snooze_scenario(db_session, merchant_id=m.id, scenario="card_velocity",
                                until=until, reason="known promotion", actor=ACTOR,
                                now=NOW, policy=POLICY)


def test_snooze_needs_a_reason(db_session):
    m = merchant(db_session)
    with pytest.raises(svc.AlertStateError):
        svc.snooze_scenario(db_session, merchant_id=m.id, scenario="card_velocity",
                            until=NOW + dt.timedelta(hours=1), reason=" ", actor=ACTOR,
                            now=NOW, policy=POLICY)


def card_burst(session: Session, merchant_id: str, start: dt.datetime, tag: str) -> None:
    session.add_all([Transaction(merchant_id=merchant_id, external_id=f"{tag}-{i}", type="sale",
                                 amount=Decimal("137.40"), currency="TRY",
                                 amount_try=Decimal("137.40"),
                                 occurred_at=start + dt.timedelta(minutes=10 * i),
                                 card_fingerprint=tag * 64, customer_ref=f"c{i}",
                                 created_at=start)
                     for i in range(5)])
    session.flush()


def test_snoozed_scenario_is_suppressed_and_audited_once_then_alerts_after_expiry(db_session):
    m = merchant(db_session)
    svc.snooze_scenario(db_session, merchant_id=m.id, scenario="card_velocity",
                        until=NOW + dt.timedelta(hours=2), reason="issuer test cards",
                        actor=ACTOR, now=NOW - dt.timedelta(hours=1), policy=POLICY)
    card_burst(db_session, m.id, NOW - dt.timedelta(hours=1), "a")
    for _ in range(2):  # the same history judged twice: one suppressed event
        assert evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=NOW,
                                 policy=POLICY) == []
    suppressed = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "alert.suppressed")).all()
    assert len(suppressed) == 1 and suppressed[0].details["scenario"] == "card_velocity"
    later = NOW + dt.timedelta(hours=2, seconds=1)  # the snooze has run out
    card_burst(db_session, m.id, later - dt.timedelta(hours=1), "b")
    opened = evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=later,
                               policy=POLICY)
    assert "card_velocity" in [a.scenario for a in opened]


def test_lifted_snooze_lets_alerts_open_again(db_session):
    m = merchant(db_session)
    row = svc.snooze_scenario(db_session, merchant_id=m.id, scenario="card_velocity",
                              until=NOW + dt.timedelta(hours=5), reason="issuer test cards",
                              actor=ACTOR, now=NOW - dt.timedelta(hours=1), policy=POLICY)
    svc.lift_snooze(db_session, snooze=row, actor=ACTOR, now=NOW - dt.timedelta(minutes=1))
    card_burst(db_session, m.id, NOW - dt.timedelta(hours=1), "c")
    opened = evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=NOW,
                               policy=POLICY)
    assert [a.scenario for a in opened] == ["card_velocity"]
