"""The Reports page (R-D8) and the webhook dead letters in the staff console: roles, charts,
the CSV for auditors (audited), the retry action, English and Turkish."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlmodel import select

from app.audit.trail import Actor, record
from app.models import Alert, Assessment, AuditEvent, Merchant, WebhookDelivery
from app.services.report_months import month_starts, monthly_figures
from app.services.webhooks import create_endpoint, secret_box_key
from tests.functional.staff.conftest import csrf_from

NOW = dt.datetime.now(dt.UTC)


def _merchant(db_session) -> str:
    merchant = Merchant(legal_name="Anadolu Çiçekçilik A.Ş.", country="TR", status="approved")
    db_session.add(merchant)
    db_session.flush()
    return merchant.id


def _figures(db_session) -> str:
    mid = _merchant(db_session)
    db_session.add_all([
        Alert(merchant_id=mid, scenario="card_velocity", summary="s", dedupe_key="a1",
              opened_at=NOW, due_at=NOW - dt.timedelta(minutes=1), status="closed",
              closed_at=NOW, disposition="true_positive"),
        Alert(merchant_id=mid, scenario="card_velocity", summary="s", dedupe_key="a2",
              opened_at=NOW, due_at=NOW + dt.timedelta(hours=3), status="closed",
              closed_at=NOW, disposition="false_positive"),
        Assessment(merchant_id=mid, policy_version="p", policy_digest="d", score=80,
                   tier="high", recommended_action="manual_review", checks=[], reasons=[],
                   input_snapshot={}, trigger="t", created_by="x", created_at=NOW)])
    actor = Actor("gateway")
    for latency in (1.0, 2.0, 3.0, 4.0):
        record(db_session, actor.event("api.verify", decision="allow", reason="ok",
                                       latency_ms=latency, at=NOW))
    db_session.commit()
    return mid


def test_month_starts_cross_the_year():
    starts = month_starts(dt.datetime(2026, 2, 10, tzinfo=dt.UTC), 3)
    assert [f"{s:%Y-%m}" for s in starts] == ["2025-12", "2026-01", "2026-02"]


def test_monthly_figures_count_this_month(db_session):
    _figures(db_session)
    row = monthly_figures(db_session, now=NOW, months=2)[-1]
    assert (row.verifications, row.verify_p50_ms, row.verify_p95_ms) == (4, 3.0, 4.0)
    assert (row.alerts_closed, row.alerts_true_positive, row.alerts_closed_late) == (2, 1, 1)
    assert row.alert_precision == 0.5
    assert row.precision_by_scenario == {"card_velocity": 0.5}
    assert (row.assessments, row.edd_share) == (1, 1.0)


@pytest.mark.parametrize("role, status", [("analyst", 403), ("approver", 200), ("admin", 200)])
def test_reports_page_is_for_approvers_and_admins(staff_client, role, status):
    client, _ = staff_client(role)
    assert client.get("/staff/reports").status_code == status


def test_reports_page_shows_the_figures_with_charts(staff_client, db_session):
    _figures(db_session)
    client, _ = staff_client("approver")
    html = client.get("/staff/reports").get_data(as_text=True)
    assert f"{NOW:%Y-%m}" in html
    assert html.count("<svg") >= 5
    assert "Same card used repeatedly" in html and "50.0%" in html
    assert "Export CSV for auditors" in html


def test_reports_page_speaks_turkish(staff_client, db_session):
    client, _ = staff_client("admin")
    html = client.get("/staff/reports", headers={"Accept-Language": "tr"}).get_data(True)
    assert "Raporlar" in html and "Denetçiler için CSV indir" in html


def test_reports_csv_holds_one_row_per_month_and_is_audited(staff_client, db_session):
    _figures(db_session)
    client, staff = staff_client("admin")
    resp = client.get("/staff/reports.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 12
    last = rows[-1]
    assert (last["month"], last["verifications"], last["alert_precision"]) == (
        f"{NOW:%Y-%m}", "4", "0.5000")
    assert last["precision_by_scenario"] == "card_velocity=0.5000"
    db_session.expire_all()
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "report.exported")
                            ).one()
    assert event.actor == f"staff:{staff.email}"


def test_admin_sees_dead_letters_and_retries_one(staff_client, db_session):
    endpoint = create_endpoint(db_session, url="http://127.0.0.1:9799/h", events=["key.frozen"],
                               key=secret_box_key("k" * 32), actor=Actor("t"), now=NOW,
                               production=False, allow_private=True).endpoint
    record(db_session, Actor("t").event("keys.frozen", merchant_id="mer_a", at=NOW))
    delivery = db_session.exec(select(WebhookDelivery)).one()
    delivery.status, delivery.attempts, delivery.last_error = "dead", 8, "HTTP 503"
    db_session.add(delivery)
    db_session.commit()
    assert staff_client("approver")[0].get("/staff/webhooks").status_code == 403
    client, _ = staff_client("admin")
    html = client.get("/staff/webhooks").get_data(as_text=True)
    assert delivery.id in html and endpoint.url in html and "HTTP 503" in html
    resp = client.post(f"/staff/webhooks/deliveries/{delivery.id}/retry",
                       data={"csrf_token": csrf_from(html)})
    assert resp.status_code == 303
    db_session.expire_all()
    again = db_session.get(WebhookDelivery, delivery.id)
    assert (again.status, again.attempts) == ("pending", 0)
    delivery_id = again.id
    db_session.rollback()  # SQLite: end the read before the console writes again
    assert client.post(f"/staff/webhooks/deliveries/{delivery_id}/retry",
                       data={"csrf_token": csrf_from(html)}).status_code == 404


def test_reports_page_makes_a_bounded_number_of_queries(app, staff_client, db_session):
    from sqlalchemy import event
    _figures(db_session)
    client, _ = staff_client("approver")
    client.get("/staff/reports")  # warm templates
    seen = []

    def count(*_args, **_kw):
        seen.append(1)
    engine = app.extensions["kyb.engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/staff/reports").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # one count query for twelve months, p50/p95 only for months with verifications
    assert len(seen) <= 30, len(seen)


@pytest.mark.parametrize("role, reports, webhooks", [
    ("analyst", False, False), ("approver", True, False), ("admin", True, True)])
def test_navigation_shows_reports_and_webhooks_to_the_roles_that_may_open_them(
        staff_client, role, reports, webhooks):
    client, _ = staff_client(role)
    html = client.get("/staff/audit").get_data(as_text=True)
    assert ('href="/staff/reports"' in html) is reports
    assert ('href="/staff/webhooks"' in html) is webhooks
