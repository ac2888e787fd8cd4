"""``kybgate alerts …`` and ``kybgate cases …`` (R-C1, R-D5) through the real Click commands."""

from __future__ import annotations

import datetime as dt
import json

from sqlmodel import Session, select

from app.models import Alert, AuditEvent, Merchant, StaffUser

NOW = dt.datetime.now(dt.UTC)


def seed(app, *, due_in: dt.timedelta, severity: str = "high") -> tuple[str, str]:
    with Session(app.extensions["kyb.engine"], expire_on_commit=False) as session:
        m = Merchant(legal_name="Doğu Gıda Ltd. Şti.", country="TR", status="approved")
        session.add(m)
        session.flush()
        alert = Alert(merchant_id=m.id, scenario="card_velocity", severity=severity,
                      summary="card used 6 times", details={"uses": 6},
                      dedupe_key=f"{m.id}:cv", occurred_at=NOW - dt.timedelta(hours=3) + due_in,
                      opened_at=NOW, due_at=NOW + due_in)
        session.add(alert)
        session.add(StaffUser(email="onay@bank.example", password_hash="x", totp_secret="x",
                              role="approver"))
        session.commit()
        return m.id, alert.id


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result


def test_alerts_list_show_assign_close(app):
    _, alert_id = seed(app, due_in=dt.timedelta(hours=1))
    listed = json.loads(run(app, "alerts", "list", "--open", "--json").output)
    assert [a["id"] for a in listed] == [alert_id]
    assert "due in" in run(app, "alerts", "list").output
    assert "card used 6 times" in run(app, "alerts", "show", alert_id).output
    run(app, "alerts", "assign", alert_id, "--to", "staff:onay@bank.example")
    closed = json.loads(run(app, "alerts", "close", alert_id, "--disposition",
                            "false_positive", "--reason", "Known buyer.", "--json").output)
    assert (closed["status"], closed["disposition"]) == ("closed", "false_positive")
    again = app.test_cli_runner().invoke(args=["alerts", "close", alert_id, "--disposition",
                                               "duplicate", "--reason", "again"])
    assert again.exit_code != 0 and "already closed" in again.output


def test_alerts_close_needs_disposition_and_reason(app):
    _, alert_id = seed(app, due_in=dt.timedelta(hours=1))
    result = app.test_cli_runner().invoke(args=["alerts", "close", alert_id, "--reason", "x"])
    assert result.exit_code == 2 and "--disposition" in result.output


def test_alerts_escalate_is_idempotent(app):
    _, alert_id = seed(app, due_in=-dt.timedelta(minutes=1))
    first = json.loads(run(app, "alerts", "escalate", "--json").stdout)
    assert first["alert_ids"] == [alert_id]
    assert json.loads(run(app, "alerts", "escalate", "--json").stdout)["escalated"] == 0
    assert "OVERDUE" in run(app, "alerts", "list", "--overdue").output


def test_alerts_snooze_refuses_more_than_the_policy_allows(app):
    merchant_id, _ = seed(app, due_in=dt.timedelta(hours=1))
    ok = run(app, "alerts", "snooze", "--merchant", merchant_id, "--scenario", "card_velocity",
             "--hours", "24", "--reason", "Campaign week")
    assert "snoozed" in ok.output
    too_long = app.test_cli_runner().invoke(args=[
        "alerts", "snooze", "--merchant", merchant_id, "--scenario", "card_velocity",
        "--hours", "169", "--reason", "Campaign week"])
    assert too_long.exit_code == 1 and "at most 168 hours" in too_long.output
    snooze_id = ok.output.strip().rsplit("(", 1)[1].rstrip(")")
    assert "lifted" in run(app, "alerts", "unsnooze", snooze_id).output


def test_cases_open_note_show_and_close_with_four_eyes_request(app):
    merchant_id, alert_id = seed(app, due_in=dt.timedelta(hours=1))
    case = json.loads(run(app, "cases", "open", "--merchant", merchant_id, "--title",
                          "Kart testi", "--alert", alert_id, "--json").output)
    assert case["priority"] == "high"
    run(app, "cases", "note", case["id"], "--text", "Issuer contacted.")
    shown = json.loads(run(app, "cases", "show", case["id"], "--json").output)
    assert shown["alert_ids"] == [alert_id]
    assert [e["action"] for e in shown["timeline"]] == ["case.opened", "case.note_added"]
    assert case["id"] in run(app, "cases", "list", "--status", "active").output
    closing = run(app, "cases", "close", case["id"], "--outcome", "no_action", "--reason",
                  "Shopper verified.")
    assert "second approver" in closing.output
    with Session(app.extensions["kyb.engine"]) as session:
        assert session.exec(select(AuditEvent.action).order_by(AuditEvent.seq.desc())
                            ).first() == "case.close_requested"
