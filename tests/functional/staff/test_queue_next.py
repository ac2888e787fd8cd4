"""The keyboard's "next application" (issue #11): the oldest application waiting for a
reviewer that nobody else has taken, never the one just decided, never one waiting for the
merchant; the queue and the merchant page say their shortcuts."""

from __future__ import annotations

import datetime as dt

import pytest

from app.audit.trail import Actor, record
from app.models import Merchant

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def waiting(db_session):
    """Five applications, oldest first: one taken by another analyst, one waiting for the
    merchant, then three free ones."""
    rows = {}
    for hours, name, status in ((50, "taken", "applied"), (40, "asked", "info_requested"),
                                (30, "first", "applied"), (20, "second", "in_review"),
                                (10, "third", "applied")):
        row = Merchant(legal_name=f"{name.title()} Ticaret A.Ş.", country="TR", status=status,
                       created_at=NOW - dt.timedelta(hours=hours),
                       updated_at=NOW - dt.timedelta(hours=hours))
        db_session.add(row)
        db_session.flush()
        rows[name] = row.id
    record(db_session, Actor(name="staff:other@bank.example").event(
        "merchant.assigned", target_type="merchant", target_id=rows["taken"],
        merchant_id=rows["taken"], details={"assignee": "staff:other@bank.example"}))
    db_session.commit()
    return rows


def _next(client, after=None) -> str:
    resp = client.get("/staff/applications/next", query_string={"after": after} if after else {})
    assert resp.status_code == 303
    return resp.headers["Location"]


def test_next_application_is_the_oldest_free_one_waiting_for_a_reviewer(staff_client, waiting):
    client, _ = staff_client("analyst")
    assert _next(client).endswith(f"/staff/merchants/{waiting['first']}")
    assert _next(client, after=waiting["first"]).endswith(
        f"/staff/merchants/{waiting['second']}")


def test_an_application_taken_by_me_is_still_mine_to_review(app, staff_client, waiting,
                                                            db_session):
    client, staff = staff_client("analyst")
    me = f"staff:{staff.email}"
    record(db_session, Actor(name=me).event(
        "merchant.assigned", target_type="merchant", target_id=waiting["taken"],
        merchant_id=waiting["taken"], details={"assignee": me}))
    db_session.commit()
    assert _next(client).endswith(f"/staff/merchants/{waiting['taken']}")


def test_no_application_left_goes_back_to_the_queue_with_a_message(staff_client, db_session):
    client, _ = staff_client("analyst")
    assert _next(client).endswith("/staff/")
    html = client.get("/staff/").get_data(as_text=True)
    assert "No applications waiting for a reviewer." in html


def test_queue_and_merchant_page_say_their_shortcuts(staff_client, waiting):
    client, _ = staff_client("analyst")
    html = client.get("/staff/").get_data(as_text=True)
    assert html.count("data-keylist") == 2 and 'data-key="n"' in html
    assert "dialog data-keyhelp" in html and "js/shortcuts.js" in html
    page = client.get(f"/staff/merchants/{waiting['first']}").get_data(as_text=True)
    assert f'/staff/applications/next?after={waiting["first"]}' in page
    assert 'data-key="d" data-focus="decision"' in page and "data-ctrl-enter" in page
    turkish = client.get("/staff/?lang=tr").get_data(as_text=True)
    assert "Sonraki başvuru" in turkish and "Klavye kısayolları" in turkish
