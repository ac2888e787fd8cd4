"""``GET /api/v1/cases`` (R-D5, scope ``cases:read``): filters by merchant and status, cursor
paging like ``GET /api/v1/alerts``, problem+json naming each bad field, and the OpenAPI
document."""

from __future__ import annotations

import pytest

from tests.functional.api.test_casework_api import casework_api, world  # noqa: F401


def _open(api, ids, title: str, alert: str | None = None) -> dict:
    resp = api.post("/api/v1/cases", json={"merchant_id": ids["merchant"], "title": title,
                                           "alert_ids": [alert] if alert else []})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_cases_are_listed_filtered_and_paged(casework_api, world):  # noqa: F811
    first = _open(casework_api, world, "Card testing", world["high"])
    second = _open(casework_api, world, "Tip from the bank")
    closed = casework_api.post(f"/api/v1/cases/{second['id']}/close",
                               json={"outcome": "no_action", "reason": "Nothing in it."})
    assert closed.status_code == 200, closed.get_json()
    listed = casework_api.get(f"/api/v1/cases?merchant_id={world['merchant']}").get_json()
    assert [c["id"] for c in listed["items"]] == sorted([first["id"], second["id"]])
    assert listed["next_cursor"] is None
    open_only = casework_api.get("/api/v1/cases?status=open").get_json()["items"]
    assert [c["id"] for c in open_only] == [first["id"]]
    assert open_only[0]["priority"] == "high" and open_only[0]["overdue"] is False
    assert casework_api.get("/api/v1/cases?merchant_id=mer_other").get_json()["items"] == []
    page = casework_api.get("/api/v1/cases?limit=1").get_json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = casework_api.get(f"/api/v1/cases?limit=1&cursor={page['next_cursor']}").get_json()
    assert rest["items"][0]["id"] != page["items"][0]["id"] and rest["next_cursor"] is None


@pytest.mark.parametrize(("query", "field"), [
    ("status=done", "status"), ("status=", "status"), ("limit=0", "limit"),
    ("limit=201", "limit"), ("limit=many", "limit"), ("cursor=%%%", "cursor"),
    ("merchant_id=" + "m" * 41, "merchant_id"), ("colour=red", "colour")])
def test_bad_case_queries_are_problems_naming_the_field(casework_api, world,  # noqa: F811
                                                        query, field):
    resp = casework_api.get(f"/api/v1/cases?{query}")
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert field in [e["field"] for e in resp.get_json()["errors"]]


def test_an_alert_cursor_is_not_a_case_cursor(casework_api, world):  # noqa: F811
    cursor = casework_api.get("/api/v1/alerts?limit=1").get_json()["next_cursor"]
    resp = casework_api.get(f"/api/v1/cases?cursor={cursor}")
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "cursor"


def test_listing_cases_needs_cases_read(make_api, world):  # noqa: F811
    assert make_api("alerts:read").get("/api/v1/cases").status_code == 403
    assert make_api("cases:read").get("/api/v1/cases").status_code == 200


def test_openapi_documents_the_case_list(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    get = doc["paths"]["/api/v1/cases"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert {"merchant_id", "status", "limit", "cursor"} <= names
    assert "post" in doc["paths"]["/api/v1/cases"]
    assert get["security"] and "cases:read" in str(get["security"])
