"""The merchant page shows each API key's limits in force and a waiting increase with its time
(R-E5), read from the key rows it already loads: no query more however many keys there are."""

from __future__ import annotations

import datetime as dt
import re

from app.web.filters import when
from tests.functional.staff.test_pages_perf import _count_queries
from tests.keys_support import approved_merchant, issue

LOW = {"currency": "TRY", "max_amount_per_tx": "500", "daily_amount": "20000",
       "allowed_operations": ["sale"]}


def _queries(app, client, path: str) -> int:
    client.get(path)  # warm templates and caches
    counter, stop = _count_queries(app)
    try:
        assert client.get(path).status_code == 200
    finally:
        stop()
    return counter["n"]


def _keys_section(html: str) -> str:
    return re.search(r'<section class="card" id="keys">.*?</section>', html, re.S).group(0)


def test_merchant_page_shows_key_limits_and_a_waiting_increase(app, api, db_session,
                                                              staff_client):
    client, _staff = staff_client("analyst")
    merchant_id = approved_merchant(api, db_session)
    path = f"/staff/merchants/{merchant_id}"
    without_keys = _queries(app, client, path)
    issue(api, merchant_id, name="open")
    limited = issue(api, merchant_id, name="limited", limits=LOW)
    resp = api.patch(f"/api/v1/keys/{limited['key_id']}",
                     json={"limits": {**LOW, "max_amount_per_tx": "5000"}})
    assert resp.status_code == 200, resp.get_json()
    effective = dt.datetime.fromisoformat(resp.get_json()["limit_increase"]["effective_at"])
    keys = _keys_section(client.get(path).get_data(True))
    assert _queries(app, client, path) == without_keys
    with app.test_request_context():
        effective_text = when(effective)
    open_row, limited_row = (re.search(rf"<tr><td>{name}<br>.*?</tr>", keys, re.S).group(0)
                             for name in ("open", "limited"))
    assert "none" in open_row and "TRY" not in open_row
    in_force, waiting = limited_row.split("increase from")
    assert "Per transaction: 500.00 TRY" in in_force and "Per day: 20,000.00 TRY" in in_force
    assert "Operations: sale" in in_force
    assert effective_text in waiting and "Per transaction: 5,000.00 TRY" in waiting
