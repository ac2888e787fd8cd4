"""``GET /api/v1/merchants``: filters by status, tier and creation time, and keyset pagination
that visits every merchant exactly once."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

URL = "/api/v1/merchants"


def _set(app, merchant_id: str, **values) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    with app.extensions["kyb.engine"].begin() as conn:
        conn.execute(sa.text(f"UPDATE merchant SET {assignments} WHERE id = :id"),  # noqa: S608
                     {**values, "id": merchant_id})


def _ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [m["id"] for m in resp.get_json()["items"]]


@pytest.fixture
def dated_merchants(create_merchant) -> dict[str, str]:
    """Four merchants created on four days of March 2026 (name → id)."""
    created = {}
    for day in ("01", "05", "10", "15"):
        with freeze_time(f"2026-03-{day}T12:00:00Z"):
            created[day] = create_merchant(trade_name=f"Mağaza {day}")["id"]
    return created


def test_list_is_newest_first(api, dated_merchants):
    assert _ids(api.get(URL)) == [dated_merchants[d] for d in ("15", "10", "05", "01")]


@pytest.mark.parametrize(("params", "days"), [
    ("created_from=2026-03-05T12:00:00Z", ["15", "10", "05"]),  # inclusive
    ("created_from=2026-03-05T12:00:00.000001Z", ["15", "10"]),
    ("created_to=2026-03-10T12:00:00Z", ["05", "01"]),  # exclusive
    ("created_from=2026-03-02T00:00:00Z&created_to=2026-03-11T00:00:00Z", ["10", "05"]),
    ("created_from=2026-03-05T15:00:00%2B03:00", ["15", "10", "05"]),  # offset honoured
    ("created_from=2026-04-01T00:00:00Z", []),
])
def test_list_filters_by_creation_time(api, dated_merchants, params, days):
    assert _ids(api.get(f"{URL}?{params}")) == [dated_merchants[d] for d in days]


def test_list_filters_by_status_and_tier(app, api, dated_merchants):
    _set(app, dated_merchants["01"], status="approved", tier="low")
    _set(app, dated_merchants["05"], status="approved", tier="high")
    _set(app, dated_merchants["10"], status="rejected", tier="high")
    assert _ids(api.get(f"{URL}?status=approved")) == [dated_merchants["05"],
                                                       dated_merchants["01"]]
    assert _ids(api.get(f"{URL}?tier=high")) == [dated_merchants["10"], dated_merchants["05"]]
    assert _ids(api.get(f"{URL}?status=approved&tier=high")) == [dated_merchants["05"]]
    assert _ids(api.get(f"{URL}?status=applied")) == [dated_merchants["15"]]


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8])
def test_cursor_pagination_walks_every_merchant_exactly_once(api, create_merchant, limit):
    expected = []
    # Three merchants share one creation instant, so the id breaks the tie.
    for stamp in ("2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-02T10:00:00Z",
                  "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z", "2026-03-04T10:00:00Z",
                  "2026-03-05T10:00:00Z"):
        with freeze_time(stamp):
            expected.append(create_merchant()["id"])
    seen, cursor, pages = [], None, 0
    while True:
        url = f"{URL}?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(url).get_json()
        assert len(body["items"]) <= limit
        seen += [m["id"] for m in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1
        if cursor is None:
            break
        assert pages < 20
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen)) == 7


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not-a-cursor!",
    _b64("no separator here"),
    _b64("yesterday|mer_x"),
    _b64("2026-03-01T10:00:00|mer_x"),  # a timestamp without offset was never issued
    "%FF%FE",
])
def test_bad_cursor_is_422_naming_cursor(api, create_merchant, cursor):
    create_merchant()
    resp = api.get(f"{URL}?cursor={cursor}")
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert [e["field"] for e in resp.get_json()["errors"]] == ["cursor"]


@pytest.mark.parametrize(("params", "field"), [
    ("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"),
    ("status=open", "status"), ("tier=extreme", "tier"),
    ("created_from=last-week", "created_from"), ("colour=red", "colour"),
])
def test_bad_list_parameters_are_422_naming_them(api, params, field):
    resp = api.get(f"{URL}?{params}")
    assert resp.status_code == 422
    assert [e["field"] for e in resp.get_json()["errors"]] == [field]
