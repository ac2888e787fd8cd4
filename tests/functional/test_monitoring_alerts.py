"""Stored transactions open monitoring alerts: due 3 hours after opening (R-C1), never twice for
the same hit, audited; the ``transactions_recorded`` hook and the CLI run the same evaluation."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.audit.trail import Actor, verify_trail
from app.models import Alert, AuditEvent, Merchant, Transaction
from app.services import hooks
from app.services.alerts import AlertStateError, assign_alert, close_alert
from app.services.figures import apply_sales
from app.services.monitoring import (
    evaluate_merchant,
    sector_average,
)
from checks.policy import load_policy

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)  # Saturday 15:00 in Istanbul
ACTOR = Actor(name="test:monitoring", request_id="req-1")
POLICY = load_policy()


def merchant(session: Session, sector: str | None = "5999") -> Merchant:
    row = Merchant(legal_name="Örnek Ticaret A.Ş.", country="TR", sector=sector)
    session.add(row)
    session.flush()
    return row


def card_burst(session: Session, merchant_id: str, *, uses: int = 5,
               start: dt.datetime = NOW - dt.timedelta(hours=1)) -> list[Transaction]:
    """``uses`` sales of one card, 10 minutes apart (5 of them span 40 minutes)."""
    rows = [Transaction(merchant_id=merchant_id, external_id=f"cv-{i}", type="sale",
                        amount=Decimal("137.40"), currency="TRY", amount_try=Decimal("137.40"),
                        occurred_at=start + dt.timedelta(minutes=10 * i),
                        card_fingerprint="f" * 64, customer_ref=f"c{i}", created_at=NOW)
            for i in range(uses)]
    session.add_all(rows)
    session.flush()
    return rows


def alerts(session: Session, scenario: str | None = None) -> list[Alert]:
    stmt = select(Alert)
    if scenario:
        stmt = stmt.where(Alert.scenario == scenario)
    return list(session.exec(stmt).all())


def test_card_used_five_times_in_two_hours_opens_alert_due_three_hours_later(db_session):
    m = merchant(db_session)
    card_burst(db_session, m.id)
    opened = evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=NOW,
                               policy=POLICY)
    db_session.commit()
    assert [a.scenario for a in opened] == ["card_velocity"]
    alert = alerts(db_session, "card_velocity")[0]
    assert alert.status == "open" and alert.merchant_id == m.id
    assert alert.opened_at == NOW
    # R-C1: the 3-hour clock runs from the earliest transaction behind the alert
    assert alert.occurred_at <= alert.opened_at
    assert alert.due_at == alert.occurred_at + dt.timedelta(hours=3)
    assert alert.severity == "high"
    assert "5 times" in alert.summary
    assert alert.details["uses"] == 5 and len(alert.details["transaction_ids"]) == 5
    assert alert.dedupe_key.startswith(f"{m.id}:card_velocity:card:")


def test_four_uses_of_a_card_open_no_alert(db_session):
    m = merchant(db_session)
    card_burst(db_session, m.id, uses=4)
    assert evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=NOW,
                             policy=POLICY) == []
    assert alerts(db_session) == []


def test_re_evaluation_opens_no_duplicate(db_session):
    m = merchant(db_session)
    card_burst(db_session, m.id, uses=6)
    first = evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=NOW, policy=POLICY)
    db_session.commit()
    later = NOW + dt.timedelta(minutes=30)
    again = evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=later,
                              policy=POLICY)
    db_session.commit()
    assert len(first) == 1 and again == []
    assert len(alerts(db_session, "card_velocity")) == 1


def test_alert_opening_is_audited_and_chain_stays_intact(db_session):
    m = merchant(db_session)
    card_burst(db_session, m.id)
    [alert] = evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=NOW,
                                policy=POLICY)
    db_session.commit()
    events = db_session.exec(select(AuditEvent).where(AuditEvent.action == "alert.opened")).all()
    assert len(events) == 1
    event = events[0]
    assert (event.target_id, event.merchant_id, event.actor) == (alert.id, m.id, ACTOR.name)
    assert event.details["scenario"] == "card_velocity"
    assert event.details["due_at"] == alert.due_at.isoformat()
    assert verify_trail(db_session).ok


def test_transactions_recorded_hook_opens_the_alert(db_session):
    m = merchant(db_session)
    rows = card_burst(db_session, m.id)
    hooks.publish("transactions_recorded", session=db_session, actor=ACTOR, now=NOW,
                  merchant_id=m.id, transactions=rows)
    db_session.commit()
    assert [a.scenario for a in alerts(db_session)] == ["card_velocity"]


def test_transactions_outside_the_window_or_after_now_are_not_read(db_session):
    m = merchant(db_session)
    card_burst(db_session, m.id, start=NOW + dt.timedelta(minutes=1))
    card_burst_old = [Transaction(merchant_id=m.id, external_id=f"old-{i}", type="sale",
                                  amount=Decimal("10"), currency="TRY", amount_try=Decimal("10"),
                                  occurred_at=NOW - dt.timedelta(days=40, minutes=i),
                                  card_fingerprint="a" * 64, created_at=NOW) for i in range(6)]
    db_session.add_all(card_burst_old)
    db_session.flush()
    assert evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=NOW,
                             policy=POLICY) == []


def test_sector_average_counts_other_merchants_of_the_mcc(db_session):
    # The average is read from the per-day figures that ingest keeps (app.services.figures).
    me = merchant(db_session)
    peers = [merchant(db_session) for _ in range(2)]
    other = merchant(db_session, sector="7995")
    for i, row in enumerate([*peers, other]):
        sale = Transaction(merchant_id=row.id, external_id=f"s{i}", type="sale",
                           amount=Decimal("1000"), currency="TRY",
                           amount_try=Decimal(1000 * (i + 1)),
                           occurred_at=NOW - dt.timedelta(days=3), created_at=NOW)
        db_session.add(sale)
        db_session.flush()
        apply_sales(db_session.connection(), merchant_id=row.id,
                    sales=[(sale.occurred_at, sale.amount_try)], policy=POLICY, now=NOW)
    average = sector_average(db_session, merchant_id=me.id, end=NOW, policy=POLICY)
    assert average is not None
    assert (average.mcc, average.peers, average.average_monthly_try) == (
        "5999", 2, Decimal("1500.00"))
    assert average.own_try == Decimal(0)


def test_close_and_assign_are_audited_and_a_closed_alert_cannot_close_again(db_session):
    m = merchant(db_session)
    card_burst(db_session, m.id)
    [alert] = evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=NOW,
                                policy=POLICY)
    assign_alert(db_session, alert=alert, assignee="analyst@example.com", actor=ACTOR,
                 now=NOW + dt.timedelta(minutes=5))
    close_alert(db_session, alert=alert, disposition="false_positive",
                reason="Card owner confirmed the purchases.", actor=ACTOR,
                now=NOW + dt.timedelta(hours=1))
    db_session.commit()
    assert (alert.status, alert.assignee) == ("closed", "analyst@example.com")
    assert alert.closed_at == NOW + dt.timedelta(hours=1)
    actions = db_session.exec(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["alert.assigned", "alert.closed"]
    closed = db_session.exec(select(AuditEvent).where(AuditEvent.action == "alert.closed")).one()
    assert closed.details["within_sla"] is True
    with pytest.raises(AlertStateError):
        close_alert(db_session, alert=alert, disposition="duplicate", reason="again",
                    actor=ACTOR, now=NOW + dt.timedelta(hours=2))
    with pytest.raises(AlertStateError):
        assign_alert(db_session, alert=alert, assignee="x@example.com", actor=ACTOR, now=NOW)


def test_close_requires_a_resolution(db_session):
    m = merchant(db_session)
    card_burst(db_session, m.id)
    [alert] = evaluate_merchant(db_session, merchant_id=m.id, actor=ACTOR, now=NOW,
                                policy=POLICY)
    with pytest.raises(AlertStateError):
        close_alert(db_session, alert=alert, disposition="false_positive", reason="   ",
                    actor=ACTOR, now=NOW)


def test_cli_run_and_list(app, db_session):
    m = merchant(db_session)
    card_burst(db_session, m.id, start=dt.datetime.now(dt.UTC) - dt.timedelta(days=2, hours=1))
    db_session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["monitoring", "run", "--merchant", m.id, "--since", "3"])
    assert result.exit_code == 0, result.output
    assert "1 alert(s) opened" in result.output
    again = runner.invoke(args=["monitoring", "run", "--since", "3"])
    assert again.exit_code == 0, again.output
    assert "0 alert(s) opened" in again.output
    listed = runner.invoke(args=["alerts", "list", "--open", "--json"])
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.output)
    assert [a["scenario"] for a in data] == ["card_velocity"]
    assert data[0]["merchant_id"] == m.id
    text = runner.invoke(args=["alerts", "list"])
    # R-C1: due 3 hours after the burst's first sale, 2 days and 1 hour ago: 46 hours late
    assert "card_velocity" in text.output and "OVERDUE by 27" in text.output


def test_posting_a_card_burst_through_the_api_opens_one_alert(api, app):
    from tests.factories import application
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=50)
    batch = [{"merchant_id": merchant_id, "external_id": f"burst-{i}", "type": "sale",
              "amount": "149.90", "currency": "TRY",
              "occurred_at": (start + dt.timedelta(minutes=10 * i)).isoformat(),
              "card_number": "4111111111111111", "customer_ref": "cust-42",
              "client_ip": "203.0.113.7", "description": "Gül buketi"} for i in range(6)]
    assert api.post("/api/v1/transactions", json={"transactions": batch[:4]}).status_code == 201
    with Session(app.extensions["kyb.engine"]) as session:
        assert alerts(session) == []
    assert api.post("/api/v1/transactions", json={"transactions": batch[4:5]}).status_code == 201
    # A sixth use re-evaluates the same burst: still one alert.
    assert api.post("/api/v1/transactions", json={"transactions": batch}).status_code == 201
    with Session(app.extensions["kyb.engine"]) as session:
        [alert] = alerts(session)
        assert alert.scenario == "card_velocity" and alert.merchant_id == merchant_id
        assert alert.due_at - alert.occurred_at == dt.timedelta(hours=3)  # R-C1
