"""The staff merchant page's Monitoring section (issue #9): each scenario's latest verdict, with
why it could not judge, in English and Turkish."""

from __future__ import annotations

import datetime as dt

from tests.factories import application
from tests.functional.test_scenario_results import local_noon, post, when


def test_staff_merchant_page_shows_monitoring_in_english_and_turkish(api, staff_client):
    merchant_id = api.post("/api/v1/merchants", json=application()).get_json()["id"]
    post(api, merchant_id, [{"external_id": "one", "amount": "100",
                             "occurred_at": when(local_noon(0) - dt.timedelta(hours=2))}])
    client, _ = staff_client("analyst")
    english = client.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert 'id="monitoring"' in english and "insufficient data" in english
    assert "no base day" in english and "not evaluated" in english
    turkish = client.get(f"/staff/merchants/{merchant_id}?lang=tr").get_data(True)
    assert "İzleme" in turkish and "yetersiz veri" in turkish
