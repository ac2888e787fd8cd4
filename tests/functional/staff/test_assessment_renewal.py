"""The merchant page says why its latest assessment ran and when the scheduler re-runs it
(R-D1), in English and Turkish."""

from __future__ import annotations

import datetime as dt

from app.models import Merchant
from tests.factories import application
from tests.functional.staff.conftest import seed_assessment

RERUN = dt.datetime(2027, 2, 25, 10, 0, tzinfo=dt.UTC)


def test_the_merchant_page_shows_the_trigger_and_the_rerun_time(app, api, db_session,
                                                               staff_client):
    resp = api.post("/api/v1/merchants", json=application())
    merchant = db_session.get(Merchant, resp.get_json()["id"])
    row = seed_assessment(db_session, merchant, tier="medium", score=40)
    row.trigger, row.expires_at = "ttl_expired", RERUN
    db_session.add(row)
    db_session.commit()
    merchant_id = merchant.id
    client, _staff = staff_client("analyst")
    html = client.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert "ran because" in html and "ttl_expired" in html
    assert "re-run after 2/25/27" in html  # 13:00 in Istanbul
    turkish = client.get(f"/staff/merchants/{merchant_id}?lang=tr").get_data(True)
    assert "çalışma nedeni" in turkish and "sonrasında yeniden çalışır" in turkish
