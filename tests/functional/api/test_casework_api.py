"""``/api/v1/alerts`` and ``/api/v1/cases`` (R-C1, R-D5): scopes, problem+json for bad input,
cursor paging, and four eyes through the API (a client only requests the close)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from app.models import Alert, Merchant, StaffUser

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def casework_api(make_api):
    return make_api("alerts:read alerts:write cases:read cases:write")


@pytest.fixture
def world(app) -> dict:
    """A merchant with a high and a low alert, and an active staff analyst."""
    with Session(app.extensions["kyb.engine"], expire_on_commit=False) as session:
        m = Merchant(legal_name="Ege Elektronik A.Ş.", country="TR", status="approved")
        session.add(m)
        session.flush()
        rows = [Alert(merchant_id=m.id, scenario=code, severity=sev, summary=f"{code} hit",
                      details={"uses": 5, "card_masked": "454360******1234"},
                      dedupe_key=f"{m.id}:{code}", occurred_at=NOW - dt.timedelta(hours=4),
                      opened_at=NOW - dt.timedelta(hours=1),
                      due_at=NOW - dt.timedelta(hours=1))
                for code, sev in (("card_velocity", "high"), ("round_amounts", "low"))]
        session.add_all(rows)
        session.add(StaffUser(email="analist@bank.example", password_hash="x",
                              totp_secret="x", role="analyst"))
        session.commit()
        return {"merchant": m.id, "high": rows[0].id, "low": rows[1].id}


def test_list_and_read_alerts_with_due_time_and_evidence(casework_api, world):
    resp = casework_api.get(f"/api/v1/alerts?merchant_id={world['merchant']}&status=open")
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert {i["id"] for i in items} == {world["high"], world["low"]}
    one = casework_api.get(f"/api/v1/alerts/{world['high']}").get_json()
    assert one["overdue"] is True and one["evidence"]["card_masked"] == "454360******1234"
    assert one["due_at"].startswith((NOW - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H"))


def test_alert_cursor_pages_through_every_alert(casework_api, world):
    first = casework_api.get("/api/v1/alerts?limit=1").get_json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = casework_api.get(f"/api/v1/alerts?limit=1&cursor={first['next_cursor']}")
    assert second.get_json()["items"][0]["id"] != first["items"][0]["id"]
    assert second.get_json()["next_cursor"] is None


@pytest.mark.parametrize(("query", "field"), [
    ("status=done", "status"), ("limit=0", "limit"), ("cursor=%%%", "cursor"),
    ("colour=red", "colour")])
def test_bad_alert_queries_are_problems_naming_the_field(casework_api, world, query, field):
    resp = casework_api.get(f"/api/v1/alerts?{query}")
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert field in [e["field"] for e in resp.get_json()["errors"]]


def test_assign_and_close_an_alert(casework_api, world):
    resp = casework_api.post(f"/api/v1/alerts/{world['low']}/assign",
                             json={"assignee": "analist@bank.example"})
    assert resp.status_code == 200 and resp.get_json()["assignee"] == \
        "staff:analist@bank.example"
    resp = casework_api.post(f"/api/v1/alerts/{world['low']}/close",
                             json={"disposition": "false_positive",
                                   "reason": "Known wholesale customer."})
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "closed"
    assert body["disposition"] == "false_positive" and body["closed_by"].startswith("client:")
    again = casework_api.post(f"/api/v1/alerts/{world['low']}/close",
                              json={"disposition": "duplicate", "reason": "again"})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"disposition", "reason"}),
    ({"disposition": "maybe", "reason": "because"}, {"disposition"}),
    ({"disposition": "duplicate", "reason": "  "}, {"reason"}),
    ({"disposition": "duplicate", "reason": "x" * 501}, {"reason"}),
    ({"disposition": "duplicate", "reason": "fine", "extra": 1}, {"extra"}),
])
def test_close_without_disposition_or_reason_is_refused(casework_api, world, body, fields):
    resp = casework_api.post(f"/api/v1/alerts/{world['high']}/close", json=body)
    assert resp.status_code == 422
    assert {e["field"] for e in resp.get_json()["errors"]} == fields


def test_assign_to_someone_who_is_not_staff_is_refused(casework_api, world):
    resp = casework_api.post(f"/api/v1/alerts/{world['high']}/assign",
                             json={"assignee": "nobody@bank.example"})
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "assignee"


def test_unknown_alert_is_404_and_scopes_are_enforced(casework_api, make_api, world):
    assert casework_api.get("/api/v1/alerts/alr_nope").status_code == 404
    reader = make_api("alerts:read")
    resp = reader.post(f"/api/v1/alerts/{world['high']}/close",
                       json={"disposition": "duplicate", "reason": "fine reason"})
    assert resp.status_code == 403
    assert reader.get("/api/v1/cases/cas_x").status_code == 403


def test_case_from_alerts_notes_and_four_eyes_close_through_the_api(casework_api, world):
    resp = casework_api.post("/api/v1/cases", json={
        "merchant_id": world["merchant"], "alert_ids": [world["high"]],
        "title": "Kart testi şüphesi"})
    assert resp.status_code == 201, resp.get_json()
    case = resp.get_json()
    assert case["priority"] == "high" and case["four_eyes"]
    assert [a["id"] for a in case["alerts"]] == [world["high"]]
    note = casework_api.post(f"/api/v1/cases/{case['id']}/notes",
                             json={"text": "Issuer asked for the card list."})
    assert note.status_code == 201
    close = {"outcome": "no_action", "reason": "Cards belonged to one shopper."}
    first = casework_api.post(f"/api/v1/cases/{case['id']}/close", json=close)
    assert first.status_code == 202
    assert first.get_json()["status"] == "open" and first.get_json()["close_requested_by"]
    second = casework_api.post(f"/api/v1/cases/{case['id']}/close", json=close)
    assert second.status_code == 409 and second.get_json()["type"].endswith("four_eyes")
    read = casework_api.get(f"/api/v1/cases/{case['id']}").get_json()
    assert read["status"] == "open" and [n["text"] for n in read["notes"]] == [
        "Issuer asked for the card list."]


def test_low_case_without_alerts_closes_through_the_api(casework_api, world):
    case = casework_api.post("/api/v1/cases", json={
        "merchant_id": world["merchant"], "title": "Routine review", "priority": "low"})
    assert case.status_code == 201 and case.get_json()["alerts"] == []
    resp = casework_api.post(f"/api/v1/cases/{case.get_json()['id']}/close",
                             json={"outcome": "monitoring_continued", "reason": "Nothing."})
    assert resp.status_code == 200 and resp.get_json()["status"] == "closed"


@pytest.mark.parametrize(("body", "status", "fields"), [
    ({"title": "No merchant"}, 422, {"merchant_id"}),
    ({"merchant_id": "mrc_missing", "title": "Ghost"}, 404, None),
    ({"merchant_id": "{m}", "title": "ab"}, 422, {"title"}),
    ({"merchant_id": "{m}", "title": "Bad alert", "alert_ids": ["alr_nope"]}, 422,
     {"alert_ids"}),
    ({"merchant_id": "{m}", "title": "Bad priority", "priority": "urgent"}, 422,
     {"priority"}),
    ({"merchant_id": "{m}", "title": "Past", "due_at": "2020-01-01T00:00:00Z"}, 422,
     {"due_at"}),
])
def test_bad_case_bodies_are_problems(casework_api, world, body, status, fields):
    body = {k: (v.replace("{m}", world["merchant"]) if isinstance(v, str) else v)
            for k, v in body.items()}
    resp = casework_api.post("/api/v1/cases", json=body)
    assert resp.status_code == status and resp.mimetype == "application/problem+json"
    if fields:
        assert {e["field"] for e in resp.get_json()["errors"]} == fields


@pytest.mark.parametrize(("body", "fields"), [
    ({"outcome": "done", "reason": "because"}, {"outcome"}),
    ({"outcome": "no_action"}, {"reason"}),
    ({"text": "not a close"}, {"outcome", "reason", "text"}),
])
def test_bad_close_bodies_and_notes(casework_api, world, body, fields):
    case = casework_api.post("/api/v1/cases", json={
        "merchant_id": world["merchant"], "title": "Routine review"}).get_json()
    resp = casework_api.post(f"/api/v1/cases/{case['id']}/close", json=body)
    assert resp.status_code == 422
    assert {e["field"] for e in resp.get_json()["errors"]} == fields
    empty = casework_api.post(f"/api/v1/cases/{case['id']}/notes", json={"text": " "})
    assert empty.status_code == 422
    assert casework_api.post("/api/v1/cases/cas_nope/notes",
                             json={"text": "hi"}).status_code == 404


def test_openapi_documents_the_casework_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/alerts", "/api/v1/alerts/{alert_id}", "/api/v1/alerts/{alert_id}/assign",
            "/api/v1/alerts/{alert_id}/close", "/api/v1/cases", "/api/v1/cases/{case_id}",
            "/api/v1/cases/{case_id}/notes", "/api/v1/cases/{case_id}/close"} <= set(paths)
    assert "202" in paths["/api/v1/cases/{case_id}/close"]["post"]["responses"]
