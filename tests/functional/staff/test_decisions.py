"""Decisions through the console: roles, mandatory reasons, four eyes for the high tier, and
an audit event for every action."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlmodel import select

from app.models import AuditEvent, Decision, Merchant
from tests.factories import application
from tests.functional.staff.conftest import csrf_from, seed_assessment


@pytest.fixture
def merchant(app, api, db_session):
    """An applied merchant (through the API), assessed high risk."""
    resp = api.post("/api/v1/merchants", json=application())
    assert resp.status_code == 201, resp.get_data(True)
    row = db_session.get(Merchant, resp.get_json()["id"])
    seed_assessment(db_session, row, tier="high")
    db_session.commit()
    # plain values: reading an expired ORM row later would open a transaction and hold
    # SQLite's write lock against the app
    return SimpleNamespace(id=row.id, legal_name=row.legal_name)


def _decide(client, merchant_id, decision, reason="Documents verified and consistent"):
    page = client.get(f"/staff/merchants/{merchant_id}")
    assert page.status_code == 200
    return client.post(f"/staff/merchants/{merchant_id}/decisions", data={
        "decision": decision, "reason": reason, "csrf_token": csrf_from(page.get_data(True))})


def _status(db_session, merchant_id):
    db_session.expire_all()
    status = db_session.get(Merchant, merchant_id).status
    db_session.rollback()
    return status


def _offered(html):
    """The values of the decision select's options, and which one is selected."""
    select_html = html[html.index('<select id="decision"'):]
    select_html = select_html[:select_html.index("</select>")]
    values = re.findall(r'<option(?: selected)? value="([^"]*)"', select_html)
    return values, re.findall(r'<option selected value="([^"]*)"', select_html)


def test_analyst_cannot_approve(staff_client, merchant, db_session):
    client, _ = staff_client("analyst")
    assert _decide(client, merchant.id, "approve").status_code == 403
    assert _status(db_session, merchant.id) == "applied"


@pytest.mark.parametrize("role, offered", [
    ("analyst", ["", "request_info"]),
    ("approver", ["", "approve", "approve_with_limits", "request_info", "reject", "suspend"]),
    ("admin", ["", "approve", "approve_with_limits", "request_info", "reject", "suspend"]),
])
def test_the_form_offers_only_the_roles_decisions_and_none_by_default(
        staff_client, merchant, role, offered):
    """Issue #11: no default action; an analyst never sees an action they may not take."""
    client, _ = staff_client(role)
    values, selected = _offered(client.get(f"/staff/merchants/{merchant.id}").get_data(True))
    assert values == offered
    assert selected in ([], [""])


def test_a_refused_decision_keeps_the_reason_and_says_why(staff_client, merchant, db_session):
    client, _ = staff_client("analyst")
    resp = _decide(client, merchant.id, "reject", reason="Website copies another merchant")
    body = resp.get_data(True)
    assert resp.status_code == 403
    assert "error-page" not in body and 'id="decide"' in body
    assert "Website copies another merchant" in body
    assert "may not take the decision" in body and "Reject" in body
    assert _offered(body)[0] == ["", "request_info"]
    assert _status(db_session, merchant.id) == "applied"


def test_a_decision_must_be_chosen(staff_client, merchant, db_session):
    client, _ = staff_client("approver")
    resp = _decide(client, merchant.id, "", reason="Looked at the documents")
    body = resp.get_data(True)
    assert resp.status_code == 422
    assert "Choose a decision" in body and "Looked at the documents" in body
    assert _status(db_session, merchant.id) == "applied"


def test_analyst_can_request_information(staff_client, merchant, db_session):
    client, _ = staff_client("analyst")
    assert _decide(client, merchant.id, "request_info").status_code == 303
    assert _status(db_session, merchant.id) == "info_requested"


def test_decision_needs_a_reason(staff_client, merchant, db_session):
    client, _ = staff_client("approver")
    resp = _decide(client, merchant.id, "reject", reason="  ")
    assert resp.status_code == 422
    assert "give a reason" in resp.get_data(True)
    assert _status(db_session, merchant.id) == "applied"


def test_high_tier_approval_needs_a_second_different_approver(staff_client, merchant,
                                                              db_session):
    first, first_staff = staff_client("approver")
    _decide(first, merchant.id, "approve")
    assert _status(db_session, merchant.id) == "applied"
    page = first.get(f"/staff/merchants/{merchant.id}").get_data(True)
    assert "waits for a second, different approver" in page
    resp = _decide(first, merchant.id, "approve", reason="Approving my own approval again")
    assert _status(db_session, merchant.id) == "applied"
    refused = resp.get_data(True)
    assert resp.status_code == 409
    assert "four eyes" in refused and "Approving my own approval again" in refused
    second, second_staff = staff_client("approver")
    assert _decide(second, merchant.id, "approve").status_code == 303
    assert _status(db_session, merchant.id) == "approved"
    final = db_session.exec(select(Decision).where(Decision.merchant_id == merchant.id,
                                                   Decision.status == "final")).one()
    assert final.actor == f"staff:{second_staff.email}"
    assert final.confirmed_by == f"staff:{first_staff.email}"


def test_approve_with_limits_stores_the_limits(staff_client, merchant, db_session):
    first, _ = staff_client("approver")
    second, _ = staff_client("admin")
    for client in (first, second):
        page = client.get(f"/staff/merchants/{merchant.id}").get_data(True)
        client.post(f"/staff/merchants/{merchant.id}/decisions", data={
            "decision": "approve_with_limits", "reason": "High risk, reduced limits",
            "max_amount_per_tx": "2500", "daily_amount": "50000", "csrf_token": csrf_from(page)})
    db_session.expire_all()
    row = db_session.get(Merchant, merchant.id)
    assert row.status == "approved"
    assert Decimal(row.limits["max_amount_per_tx"]) == Decimal("2500")


@pytest.mark.parametrize("decision", ["approve", "request_info", "reject"])
def test_every_decision_is_audited_with_its_actor(staff_client, merchant, db_session,
                                                  decision):
    client, staff = staff_client("admin")
    _decide(client, merchant.id, decision)
    events = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == f"decision.{decision}", AuditEvent.merchant_id == merchant.id)
    ).all()
    assert [e.actor for e in events] == [f"staff:{staff.email}"]
    assert events[0].details["reason"] == "Documents verified and consistent"


def test_suspend_after_approval(staff_client, merchant, db_session):
    a, _ = staff_client("approver")
    b, _ = staff_client("approver")
    _decide(a, merchant.id, "approve")
    _decide(b, merchant.id, "approve")
    assert _decide(a, merchant.id, "suspend", reason="Chargebacks spiking").status_code == 303
    assert _status(db_session, merchant.id) == "suspended"


def test_note_and_assignment_are_audited(staff_client, merchant, db_session):
    client, staff = staff_client("analyst")
    page = client.get(f"/staff/merchants/{merchant.id}").get_data(True)
    client.post(f"/staff/merchants/{merchant.id}/notes", data={
        "body": "Called the owner; website under construction.", "csrf_token": csrf_from(page)})
    queue = client.get("/staff/").get_data(True)
    client.post(f"/staff/queue/assign/application/{merchant.id}",
                data={"csrf_token": csrf_from(queue), "back": "/staff/"})
    mine = client.get("/staff/?assignee=me").get_data(True)
    assert merchant.legal_name in mine
    actions = set(db_session.exec(select(AuditEvent.action).where(
        AuditEvent.merchant_id == merchant.id, AuditEvent.actor == f"staff:{staff.email}")).all())
    db_session.rollback()
    assert {"merchant.note_added", "merchant.assigned"} <= actions
    assert "website under construction" in client.get(
        f"/staff/merchants/{merchant.id}").get_data(True)


def test_unknown_merchant_gets_a_styled_404_without_trace(staff_client):
    client, _ = staff_client("analyst")
    resp = client.get("/staff/merchants/mer_nope")
    body = resp.get_data(True)
    assert resp.status_code == 404 and "error-page" in body and "Traceback" not in body
