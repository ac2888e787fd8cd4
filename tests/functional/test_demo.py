"""``kybgate demo`` loads a realistic, reviewed data set through the real services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import func, select

from app.audit.trail import verify_trail
from app.models import (
    Alert,
    Assessment,
    AuditEvent,
    Decision,
    Merchant,
    SpendTotal,
    StaffUser,
    Transaction,
)

pytestmark = pytest.mark.slow


def test_demo_loads_assessed_and_decided_merchants_with_logins(app, db_session, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the demo's 30-second load")
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "demo loaded: 37 merchants" in result.output
    merchants = db_session.exec(select(Merchant)).all()
    assert len(merchants) >= 30
    assert {m.country for m in merchants} >= {"TR", "DE", "GB", "NL", "AE"}
    assert all(m.latest_assessment_id for m in merchants)
    assert {m.tier for m in merchants} == {"low", "medium", "high"}
    statuses = {m.status for m in merchants}
    assert statuses >= {"applied", "in_review", "info_requested", "approved", "rejected",
                        "suspended"}
    by_name = {m.trade_name: m for m in merchants}
    sanctioned = db_session.get(Assessment, by_name["Konak Petrol"].latest_assessment_id)
    assert {c["code"]: c["status"] for c in sanctioned.checks}["sanctions_pep"] == "fail"
    front = db_session.get(Assessment, by_name["Altın Kuyum"].latest_assessment_id)
    statuses_by_code = {c["code"]: c["status"] for c in front.checks}
    assert statuses_by_code["price_ticket_mismatch"] == "flag"
    assert statuses_by_code["new_merchant_turnover"] == "flag"
    decisions = db_session.exec(select(Decision)).all()
    assert {d.decision for d in decisions} >= {"approve", "reject", "request_info", "suspend"}
    assert all(d.policy_version and d.reason for d in decisions)
    assert db_session.exec(select(func.count()).select_from(Transaction)).one() > 1000
    assert db_session.exec(select(func.count()).select_from(StaffUser)).one() == 4
    # Today's API traffic went through the real verification path: a live key per approved
    # merchant, allowed and refused answers in the chain, totals settled against the caps.
    verdicts = dict(db_session.exec(select(AuditEvent.reason, func.count()).where(
        AuditEvent.action == "api.verify").group_by(AuditEvent.reason)).all())
    assert verdicts["ok"] > 300
    assert {"ip_not_allowed", "back_url_mismatch", "limit_exceeded"} <= set(verdicts)
    assert "API verifications today" in result.output
    totals = db_session.exec(select(SpendTotal)).all()
    assert sum(t.count for t in totals) == verdicts["ok"]
    assert max(t.amount for t in totals) <= Decimal("250000")  # the low tier's daily cap
    assert db_session.exec(select(func.count()).select_from(Alert).where(
        Alert.scenario == "api_ip_many_customers")).one() == 1
    assert verify_trail(db_session).ok
    db_session.commit()  # end the read transaction: SQLite writers begin IMMEDIATE
    again = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert again.exit_code == 0 and "nothing loaded" in again.output
