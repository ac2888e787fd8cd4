"""``/api/v1/audit``: reading the trail by merchant and time, paging, and verifying it."""

from __future__ import annotations

import sqlalchemy as sa

from tests.factories import TCKN, application


def _apply(api, n: int) -> list[str]:
    ids = []
    for i in range(n):
        owner = {"full_name": "Ayşe Yılmaz", "national_id": TCKN[i % len(TCKN)],
                 "birth_date": "1984-05-02", "nationality": "TR", "share_pct": "100"}
        ids.append(api.post("/api/v1/merchants", json=application(owners=[owner]))
                   .get_json()["id"])
    return ids


def test_audit_lists_a_merchants_events_in_chain_order(api):
    first, second = _apply(api, 2)
    events = api.get(f"/api/v1/audit?merchant_id={first}").get_json()["items"]
    # the answer's owners were opened for the API client: audited too (R-D7)
    assert [e["action"] for e in events] == ["merchant.applied", "personal_data.decrypted"]
    assert events[0]["merchant_id"] == first
    assert len(events[0]["hash"]) == 64


def test_audit_cursor_walks_every_event_once(api):
    _apply(api, 5)
    seen, cursor = [], None
    while True:
        url = "/api/v1/audit?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(url).get_json()
        seen += [e["seq"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(set(seen)) and len(seen) >= 5


def test_audit_time_filters_use_from_and_to(api):
    _apply(api, 1)
    assert api.get("/api/v1/audit?from=2999-01-01T00:00:00Z").get_json()["items"] == []
    assert api.get("/api/v1/audit?to=2000-01-01T00:00:00Z").get_json()["items"] == []
    assert api.get("/api/v1/audit?from=2000-01-01T00:00:00Z").get_json()["items"]


def test_audit_verify_reports_an_intact_chain_and_a_broken_one(api, app):
    _apply(api, 3)
    assert api.get("/api/v1/audit/verify").get_json()["ok"] is True
    engine = app.extensions["kyb.engine"]
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_change ON audit_event")
        conn.execute(sa.text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 2"))
    report = api.get("/api/v1/audit/verify").get_json()
    assert report["ok"] is False and report["first_bad_seq"] == 2


def test_audit_needs_the_audit_read_scope(make_api):
    assert make_api("merchants:read").get("/api/v1/audit").status_code == 403


def test_audit_bad_query_is_422_naming_the_parameter(api):
    resp = api.get("/api/v1/audit?limit=0&colour=red")
    assert resp.status_code == 422
    assert {e["field"] for e in resp.get_json()["errors"]} >= {"limit"}
    resp = api.get("/api/v1/audit?cursor=@@@")
    assert resp.status_code == 422
