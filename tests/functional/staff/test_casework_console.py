"""The staff console's casework pages: the alert queue with its filters and markers, the alert
page's readable evidence (a table with masked cards, no raw JSON), closing and the next-item
flow, the case page with notes, attachments and actions, four eyes, English and Turkish."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.models import Alert, AuditEvent, Case, Merchant, Transaction
from tests.functional.staff.conftest import csrf_from

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def world(app) -> dict:
    """An approved merchant with two open alerts: one behind five card sales, one overdue and
    escalated."""
    with Session(app.extensions["kyb.engine"], expire_on_commit=False) as session:
        m = Merchant(legal_name="Boğaziçi Kuyumculuk A.Ş.", country="TR", status="approved",
                     tier="low")
        session.add(m)
        session.flush()
        txs = [Transaction(merchant_id=m.id, external_id=f"ord-{i}", type="sale",
                           amount=Decimal("950.00"), currency="TRY", amount_try=Decimal("950"),
                           occurred_at=NOW - dt.timedelta(minutes=50 - 10 * i),
                           card_masked="454360******1234", card_fingerprint="f" * 64,
                           customer_ref="cust-9", description="kart 4543601234561234")
               for i in range(5)]
        session.add_all(txs)
        session.flush()
        velocity = Alert(merchant_id=m.id, scenario="card_velocity", severity="high",
                         summary="Card 454360******1234 used 5 times in 2 hours",
                         details={"uses": 5, "threshold": 5,
                                  "transaction_ids": [t.id for t in txs]},
                         dedupe_key=f"{m.id}:cv", occurred_at=txs[0].occurred_at,
                         opened_at=NOW, due_at=txs[0].occurred_at + dt.timedelta(hours=3))
        late = Alert(merchant_id=m.id, scenario="round_amounts", severity="low",
                     summary="Round amounts", details={"share_pct": 40},
                     dedupe_key=f"{m.id}:ra", occurred_at=NOW - dt.timedelta(hours=5),
                     opened_at=NOW - dt.timedelta(hours=4), due_at=NOW - dt.timedelta(hours=2),
                     escalated_at=NOW - dt.timedelta(hours=1))
        session.add_all([velocity, late])
        session.commit()
        return {"merchant": m.id, "velocity": velocity.id, "late": late.id}


def post(client, page: str, url: str, data: dict, **kw):
    return client.post(url, data={"csrf_token": csrf_from(client.get(page).get_data(True)),
                                  **data}, **kw)


def test_queue_filters_by_marker_severity_and_scenario(staff_client, world):
    client, _ = staff_client("analyst")
    html = client.get("/staff/alerts").get_data(True)
    assert "card_velocity" in html and "round_amounts" in html and "escalated" in html
    assert "data-keylist" in html and "<kbd>j</kbd>" in html
    velocity, late = (f"/staff/alerts/{world[k]}\"" for k in ("velocity", "late"))
    marked = client.get("/staff/alerts?marker=escalated").get_data(True)
    assert late in marked and velocity not in marked
    overdue = client.get("/staff/alerts?marker=overdue").get_data(True)
    assert late in overdue and velocity not in overdue
    high = client.get("/staff/alerts?severity=high&scenario=card_velocity").get_data(True)
    assert velocity in high and late not in high
    mine = client.get("/staff/alerts?assignee=me").get_data(True)
    assert velocity not in mine and late not in mine
    ordered = client.get("/staff/alerts?sort=-due").get_data(True)
    assert ordered.index(velocity) < ordered.index(late)


def test_alert_page_shows_evidence_as_a_table_with_masked_cards(staff_client, world):
    client, _ = staff_client("analyst")
    html = client.get(f"/staff/alerts/{world['velocity']}").get_data(True)
    assert html.count("454360******1234") >= 5  # one per transaction row
    assert "4543601234561234" not in html  # a card number typed in a description is masked
    assert "ord-0" in html and "ord-4" in html
    assert "transaction_ids" not in html and "{&#34;" not in html and '{"' not in html


def test_next_item_goes_to_the_escalated_alert_first(staff_client, world):
    client, _ = staff_client("analyst")
    resp = client.get("/staff/alerts/next")
    assert resp.status_code == 303 and resp.location.endswith(f"/staff/alerts/{world['late']}")
    skip = client.get(f"/staff/alerts/next?after={world['late']}")
    assert skip.location.endswith(f"/staff/alerts/{world['velocity']}")


def test_close_needs_disposition_and_reason_then_goes_to_the_next(staff_client, world, app):
    client, staff = staff_client("analyst")
    page = f"/staff/alerts/{world['late']}"
    resp = post(client, page, f"{page}/close", {"disposition": "", "reason": "ok then"})
    assert resp.status_code == 303 and resp.location.endswith("#close")
    resp = post(client, page, f"{page}/close", {"disposition": "not_suspicious",
                                                 "reason": "Wholesale prices are round."})
    assert resp.status_code == 303 and "/staff/alerts/next?after=" in resp.location
    with Session(app.extensions["kyb.engine"]) as session:
        alert = session.get(Alert, world["late"])
        assert (alert.status, alert.disposition, alert.closed_by) == (
            "closed", "not_suspicious", f"staff:{staff.email}")


def open_case(client, world) -> str:
    page = f"/staff/alerts/{world['velocity']}"
    resp = post(client, page, f"{page}/case", {"title": "Kart testi", "priority": ""})
    assert resp.status_code == 303 and "/staff/cases/cas_" in resp.location
    return resp.location.rsplit("/", 1)[1]


def test_case_page_note_attachment_and_freeze(staff_client, world, app):
    client, _ = staff_client("analyst")
    case_id = open_case(client, world)
    page = f"/staff/cases/{case_id}"
    html = client.get(page).get_data(True)
    assert "Kart testi" in html and "Same card used repeatedly" in html and "Timeline" in html
    post(client, page, f"{page}/notes", {"text": "Issuer says the card is stolen."})
    pdf = b"%PDF-1.4\n%%EOF\n"
    resp = post(client, page, f"{page}/attachments",
                {"file": (io.BytesIO(pdf), "bank-letter.pdf")},
                content_type="multipart/form-data")
    assert resp.status_code == 303
    exe = post(client, page, f"{page}/attachments",
               {"file": (io.BytesIO(b"MZ\x90\x00"), "tool.pdf")},
               content_type="multipart/form-data")
    assert exe.status_code == 303
    post(client, page, f"{page}/freeze", {"reason": "Stolen cards"})
    html = client.get(page).get_data(True)
    assert "Issuer says the card is stolen." in html and "bank-letter.pdf" in html
    assert "tool.pdf" not in html and hashlib.sha256(pdf).hexdigest() in html
    assert "keys frozen" in html
    with Session(app.extensions["kyb.engine"]) as session:
        assert session.get(Merchant, world["merchant"]).frozen
        actions = session.exec(select(AuditEvent.action).where(
            AuditEvent.target_id == case_id).order_by(AuditEvent.seq)).all()
    assert actions == ["case.opened", "case.note_added", "case.attachment_added",
                       "case.updated"]


def test_analyst_cannot_suspend_and_cannot_close_a_four_eyes_case(staff_client, world, app):
    client, _ = staff_client("analyst")
    case_id = open_case(client, world)
    page = f"/staff/cases/{case_id}"
    assert post(client, page, f"{page}/suspend", {"reason": "Front"}).status_code == 403
    html = client.get(page).get_data(True)
    assert "an analyst cannot close it" in html
    post(client, page, f"{page}/close", {"outcome": "no_action", "reason": "Fine."})
    with Session(app.extensions["kyb.engine"]) as session:
        case = session.get(Case, case_id)
        assert case.status != "closed" and case.close_requested_by is None


def test_four_eyes_close_in_the_console(staff_client, world, app):
    first, one = staff_client("approver")
    second, two = staff_client("approver")
    case_id = open_case(first, world)
    page = f"/staff/cases/{case_id}"
    close = {"outcome": "merchant_offboarded", "reason": "Card testing confirmed."}
    post(first, page, f"{page}/close", close)
    assert "A second, different approver must confirm it." in first.get(page).get_data(True)
    post(first, page, f"{page}/close", close)  # the same approver again: refused
    with Session(app.extensions["kyb.engine"]) as session:
        assert session.get(Case, case_id).status != "closed"
    assert "Confirm and close" in second.get(page).get_data(True)
    post(second, page, f"{page}/close", close)
    with Session(app.extensions["kyb.engine"]) as session:
        case = session.get(Case, case_id)
        assert (case.status, case.close_requested_by, case.closed_by) == (
            "closed", f"staff:{one.email}", f"staff:{two.email}")
        assert session.get(Alert, world["velocity"]).disposition == "true_positive"


def test_casework_pages_speak_turkish(staff_client, world):
    client, _ = staff_client("analyst")
    client.get("/?lang=tr")
    html = client.get("/staff/alerts?lang=tr").get_data(True)
    assert "Sıradaki" in html and "Uyarılar" in html
    page = client.get(f"/staff/alerts/{world['velocity']}?lang=tr").get_data(True)
    assert "Kanıt" in page and "Uyarıyı kapat" in page


def test_snooze_from_the_alert_page_is_shown_and_can_be_lifted(staff_client, world, app):
    client, _ = staff_client("analyst")
    page = f"/staff/alerts/{world['velocity']}"
    too_long = post(client, page, f"{page}/snooze", {"hours": "169", "reason": "Campaign"})
    assert too_long.status_code == 303
    post(client, page, f"{page}/snooze", {"hours": "24", "reason": "Campaign week"})
    html = client.get(page).get_data(True)
    assert "Snoozed scenarios of this merchant" in html and "Campaign week" in html
    with Session(app.extensions["kyb.engine"]) as session:
        from app.models import AlertSnooze
        [row] = session.exec(select(AlertSnooze)).all()
    post(client, page, f"/staff/snoozes/{row.id}/lift", {"alert_id": world["velocity"]})
    assert "Snoozed scenarios of this merchant" not in client.get(page).get_data(True)
    with Session(app.extensions["kyb.engine"]) as session:
        actions = session.exec(select(AuditEvent.action).where(
            AuditEvent.target_id == row.id).order_by(AuditEvent.seq)).all()
    assert actions == ["alert.snoozed", "alert.snooze_lifted"]


def test_api_anomaly_alert_shows_the_calls_behind_it(staff_client, world, app):
    from app.audit.trail import EventDraft, record
    day = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    with Session(app.extensions["kyb.engine"], expire_on_commit=False) as session:
        for i in range(5):
            record(session, EventDraft(action="api.verify", actor="client:gw",
                                       merchant_id=world["merchant"], source_ip="198.51.100.7",
                                       customer_ref=f"müşteri-{i}", operation="payment",
                                       card_masked="454360******9999", decision="allow",
                                       reason="ok", at=day + dt.timedelta(minutes=i)))
        alert = Alert(merchant_id=world["merchant"], scenario="api_ip_many_customers",
                      severity="high", summary="5 distinct customer refs from IP 198.51.100.7",
                      details={"subject": "198.51.100.7", "count": 5, "threshold": 5,
                               "day": f"{day:%Y-%m-%d}"},
                      dedupe_key="api:1", occurred_at=day, opened_at=day + dt.timedelta(
                          minutes=5), due_at=day + dt.timedelta(hours=3))
        session.add(alert)
        session.commit()
    client, _ = staff_client("analyst")
    html = client.get(f"/staff/alerts/{alert.id}").get_data(True)
    assert "API calls behind the alert" in html
    assert html.count("454360******9999") == 5 and "müşteri-4" in html
