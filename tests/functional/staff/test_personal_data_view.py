"""The staff merchant page opens owners' names and birth dates for the reviewer and records the
view (R-D7, issue #13): who, which fields, why — never the values; an erased owner shows as
erased."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date
from sqlmodel import select

from app.audit.trail import Actor, verify_trail
from app.models import AuditEvent, Merchant
from app.services.retention import add_years, purge_personal_data
from checks.policy import load_policy
from tests.factories import application


def test_a_reviewer_sees_the_owners_and_the_view_is_audited(app, api, db_session,
                                                           staff_client):
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    client, staff = staff_client("analyst")
    page = client.get(f"/staff/merchants/{merchant_id}")
    assert page.status_code == 200
    html = page.get_data(True)
    for owner in application()["owners"]:
        born = format_date(dt.date.fromisoformat(owner["birth_date"]), "medium", locale="en")
        assert owner["full_name"] in html and born in html  # in the reader's locale (#11)
        assert owner["national_id"] not in html  # the page shows the id masked
    (event,) = db_session.exec(select(AuditEvent).where(
        AuditEvent.action == "personal_data.viewed")).all()
    assert event.actor == f"staff:{staff.email}" and event.merchant_id == merchant_id
    assert event.details["purpose"] == "staff merchant review"
    assert event.details["fields"] == ["birth_date", "full_name"]
    assert event.details["merchant_fields"] == ["email", "phone"]
    assert event.details["persons"] == 2
    assert application()["owners"][0]["full_name"] not in repr(event.details)
    assert application()["email"] in html and "+902125550123" in html  # opened for the view
    assert application()["email"] not in repr(event.details)
    assert verify_trail(db_session).ok


def test_an_erased_owner_shows_as_erased(app, api, db_session, staff_client):
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    merchant = db_session.get(Merchant, merchant_id)
    merchant.status = "rejected"
    db_session.add(merchant)
    db_session.commit()
    later = add_years(merchant.relationship_ended_at, 8) + dt.timedelta(seconds=1)
    purge_personal_data(db_session, policy=load_policy(), now=later, actor=Actor("test"))
    db_session.commit()
    client, _staff = staff_client("approver")
    html = client.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert html.count("Erased (retention period over)") == 2
    assert application()["owners"][0]["full_name"] not in html
