"""The work queue shows a high-tier approval waiting for its second approver: a marker on the
row and a filter (issue #11; four eyes, R-A1), in English and Turkish; and due durations in
days and hours."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from app.db import utcnow
from app.models import Merchant
from tests.factories import application
from tests.functional.staff.conftest import csrf_from, seed_assessment

MARKER = 'data-marker="awaiting-second"'


def _applied(api, db_session, name, tier="high"):
    body = application()
    body["legal_name"] = name
    resp = api.post("/api/v1/merchants", json=body)
    assert resp.status_code == 201, resp.get_data(True)
    row = db_session.get(Merchant, resp.get_json()["id"])
    seed_assessment(db_session, row, tier=tier)
    db_session.commit()
    return SimpleNamespace(id=row.id, legal_name=row.legal_name)


@pytest.fixture
def two(app, api, db_session, staff_client):
    """Two high-tier applications; the first has one approval waiting for a second approver."""
    waiting = _applied(api, db_session, "Bekleyen Onay Ticaret A.Ş.")
    other = _applied(api, db_session, "Henüz Karar Yok Ltd. Şti.")
    approver, _ = staff_client("approver")
    page = approver.get(f"/staff/merchants/{waiting.id}").get_data(True)
    resp = approver.post(f"/staff/merchants/{waiting.id}/decisions", data={
        "decision": "approve", "reason": "Documents verified", "csrf_token": csrf_from(page)})
    assert resp.status_code == 303
    return waiting, other


def _row(html, name):
    at = html.index(name)
    return html[html.rindex("<tr", 0, at):html.index("</tr>", at)]


def test_the_waiting_approval_is_marked_on_its_row(staff_client, two):
    waiting, other = two
    client, _ = staff_client("analyst")
    html = client.get("/staff/").get_data(True)
    assert MARKER in _row(html, waiting.legal_name)
    assert "awaiting second approver" in _row(html, waiting.legal_name)
    assert MARKER not in _row(html, other.legal_name)


def test_the_filter_shows_only_approvals_waiting_for_a_second_approver(staff_client, two):
    waiting, other = two
    client, _ = staff_client("approver")
    html = client.get("/staff/?second=1").get_data(True)
    assert waiting.legal_name in html and other.legal_name not in html
    assert '<option value="1" selected>' in html
    assert other.legal_name in client.get("/staff/").get_data(True)


def test_the_marker_and_filter_are_in_turkish(staff_client, two):
    waiting, _ = two
    client, _ = staff_client("analyst")
    html = client.get("/staff/?lang=tr").get_data(True)
    assert "ikinci onay bekliyor" in _row(html, waiting.legal_name)
    assert "İkinci onaylayıcıyı bekliyor" in html


@pytest.mark.parametrize("lang, text", [("en", "overdue by 18 days 0 hr"),
                                        ("tr", "18 gün 0 sa. gecikti")])
def test_the_queue_shows_overdue_durations_in_days_and_hours(app, api, db_session,
                                                             staff_client, lang, text):
    """Issue #11: an application 432 h 06 min past its 48 h window reads in days and hours."""
    late = _applied(api, db_session, "Geciken Başvuru A.Ş.")
    row = db_session.get(Merchant, late.id)
    row.created_at = utcnow() - dt.timedelta(hours=480, minutes=6, seconds=30)
    db_session.commit()
    app.config["KYB_APPLICATION_SLA_HOURS"] = 48
    client, _ = staff_client("analyst")
    html = client.get(f"/staff/?lang={lang}").get_data(True)
    assert text in _row(html, late.legal_name)
    assert " h " not in _row(html, late.legal_name)
