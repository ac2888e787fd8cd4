"""Decisions through the API: reasons, transitions, four eyes for the high tier (R-D3, R-D4)."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from freezegun import freeze_time
from sqlmodel import select

from app.models import Assessment, AuditEvent, Decision, Merchant, StaffUser
from tests.factories import application


def _merchant_with_tier(api, db_session, tier: str) -> str:
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    assessment = Assessment(merchant_id=merchant_id, policy_version="kyb-2026.11.1",
                            policy_digest="0" * 64, score={"low": 10, "medium": 40,
                                                           "high": 80}[tier],
                            tier=tier, recommended_action="manual_review")
    db_session.add(assessment)
    merchant = db_session.get(Merchant, merchant_id)
    merchant.tier, merchant.latest_assessment_id = tier, assessment.id
    db_session.add(merchant)
    for email, role in STAFF.items():
        db_session.add(StaffUser(email=email, role=role, password_hash="x",
                                 totp_secret=SECRETS[email]))
    db_session.commit()
    return merchant_id


STAFF = {"ayse@bank.example": "approver", "can@bank.example": "approver",
         "ali@bank.example": "analyst", "mehmet@demo.kybgate.test": "approver"}
SECRETS = {email: pyotp.random_base32() for email in STAFF}


def _code(email: str, at: dt.datetime | None = None) -> str:
    return pyotp.TOTP(SECRETS[email]).at(at or dt.datetime.now(dt.UTC))


def _decide(api, merchant_id: str, *, prove: bool = True, **body):
    """Post a decision; a named approver proves themselves with their current code."""
    if prove and "approver" in body and "approver_otp" not in body:
        body["approver_otp"] = _code(body["approver"])
    return api.post(f"/api/v1/merchants/{merchant_id}/decisions",
                    json={"reason": "Documents checked", **body})


def test_low_tier_approval_is_final_at_once_and_records_policy_version(api, db_session):
    merchant_id = _merchant_with_tier(api, db_session, "low")
    resp = _decide(api, merchant_id, decision="approve", approver="ayse@bank.example")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["status"], body["merchant_status"]) == ("final", "approved")
    assert body["policy_version"] == "kyb-2026.11.1"
    actions = db_session.exec(select(AuditEvent.action)).all()
    assert "decision.approve" in actions


def test_high_tier_approval_needs_a_second_different_approver(api, db_session):
    merchant_id = _merchant_with_tier(api, db_session, "high")
    first = _decide(api, merchant_id, decision="approve", approver="ayse@bank.example")
    assert first.get_json()["status"] == "pending_second"
    assert first.get_json()["merchant_status"] == "applied"
    with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)):  # a fresh code
        same = _decide(api, merchant_id, decision="approve", approver="ayse@bank.example",
                       reason="Approving again")
    assert same.status_code == 409
    assert same.get_json()["type"].endswith("four_eyes")
    second = _decide(api, merchant_id, decision="approve", approver="can@bank.example")
    assert second.status_code == 201
    assert second.get_json()["merchant_status"] == "approved"
    assert second.get_json()["confirmed_by"] == "staff:ayse@bank.example"


def test_analyst_cannot_act_as_approver(api, db_session):
    merchant_id = _merchant_with_tier(api, db_session, "low")
    resp = _decide(api, merchant_id, decision="approve", approver="ali@bank.example")
    assert resp.status_code == 422
    assert resp.get_json()["errors"][0]["field"] == "approver"
    assert db_session.exec(select(Decision)).all() == []


def test_approval_without_assessment_is_refused(api):
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    resp = _decide(api, merchant_id, decision="approve")
    assert resp.status_code == 409
    assert "assessment" in resp.get_json()["detail"]


@pytest.mark.parametrize("body, field", [
    ({"decision": "approve"}, "reason"),
    ({"decision": "approve", "reason": ""}, "reason"),
    ({"decision": "bless", "reason": "ok then"}, "decision"),
    ({"decision": "approve_with_limits", "reason": "ok then"}, "limits"),
])
def test_bad_decisions_are_422_naming_the_field(api, db_session, body, field):
    merchant_id = _merchant_with_tier(api, db_session, "low")
    resp = api.post(f"/api/v1/merchants/{merchant_id}/decisions", json=body)
    assert resp.status_code == 422
    assert field in [e["field"] for e in resp.get_json()["errors"]]


def test_an_oauth_client_alone_is_never_an_eye_of_a_high_tier_approval(api, db_session):
    """Issue #13 item 3: two calls by the same client, naming nobody, approve nothing."""
    merchant_id = _merchant_with_tier(api, db_session, "high")
    for _ in range(2):
        resp = _decide(api, merchant_id, decision="approve")
        assert resp.status_code == 409, resp.get_json()
        assert resp.get_json()["type"].endswith("four_eyes")
    assert db_session.exec(select(Decision)).all() == []
    assert db_session.get(Merchant, merchant_id).status == "applied"


@pytest.mark.parametrize(("otp", "code"), [
    (None, "missing"),  # a named approver without proof
    ("000000", "bad_code"),  # a wrong code
])
def test_a_named_approver_must_prove_they_acted(api, db_session, otp, code):
    merchant_id = _merchant_with_tier(api, db_session, "high")
    body = {"decision": "approve", "approver": "ayse@bank.example"}
    if otp:
        body["approver_otp"] = otp
    resp = _decide(api, merchant_id, prove=False, **body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["errors"][0] == {
        "field": "approver_otp", "code": code, "message": resp.get_json()["errors"][0]["message"]}
    assert db_session.exec(select(Decision)).all() == []


def test_an_approver_code_works_once(api, db_session):
    merchant_id = _merchant_with_tier(api, db_session, "high")
    code = _code("ayse@bank.example")
    first = _decide(api, merchant_id, decision="approve", approver="ayse@bank.example",
                    approver_otp=code)
    assert first.get_json()["status"] == "pending_second"
    replay = _decide(api, merchant_id, decision="approve", approver="ayse@bank.example",
                     approver_otp=code)
    assert replay.status_code == 422
    assert replay.get_json()["errors"][0]["field"] == "approver_otp"


def test_two_proven_approvers_complete_four_eyes_and_institution_domains_are_accepted(
        api, db_session):
    merchant_id = _merchant_with_tier(api, db_session, "high")
    assert _decide(api, merchant_id, decision="approve",
                   approver="ayse@bank.example").get_json()["status"] == "pending_second"
    second = _decide(api, merchant_id, decision="approve", approver="mehmet@demo.kybgate.test")
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["actor"] == "staff:mehmet@demo.kybgate.test"
    assert second.get_json()["merchant_status"] == "approved"


def test_suspend_is_only_possible_for_an_approved_merchant(api, db_session):
    merchant_id = _merchant_with_tier(api, db_session, "low")
    assert _decide(api, merchant_id, decision="suspend").status_code == 409
    _decide(api, merchant_id, decision="approve")
    resp = _decide(api, merchant_id, decision="suspend", reason="Chargeback spike")
    assert resp.get_json()["merchant_status"] == "suspended"


def test_decision_needs_the_decisions_scope(make_api, db_session):
    reader = make_api("merchants:read")
    resp = reader.post("/api/v1/merchants/mer_x/decisions",
                       json={"decision": "approve", "reason": "fine"})
    assert resp.status_code == 403
