"""``kybgate demo`` loads a realistic, reviewed data set through the real services."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.audit.trail import verify_trail
from app.models import Assessment, Decision, Merchant, StaffUser, Transaction

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
    assert verify_trail(db_session).ok
    db_session.commit()  # end the read transaction: SQLite writers begin IMMEDIATE
    again = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert again.exit_code == 0 and "nothing loaded" in again.output
