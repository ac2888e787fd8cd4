"""The merchant page shows the caps across the merchant's live keys and the API payments of
today and this month against them (R-E5): the tier's defaults or a reviewer's limits, with
their source, the policy version and a meter per running total, in one query more."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from freezegun import freeze_time

from app.models import Merchant, SpendTotal
from app.web.filters import money, when
from tests.factories import application
from tests.functional.staff.conftest import csrf_from, seed_assessment
from tests.functional.staff.test_key_limits import _queries
from tests.keys_support import approved_merchant

NOW = dt.datetime(2026, 11, 22, 10, 30, tzinfo=dt.UTC)


def _spend(db_session, merchant_id: str, period: str, amount: str, count: int,
           currency: str = "TRY") -> None:
    db_session.add(SpendTotal(subject=f"merchant:{merchant_id}", period=period,
                              currency=currency, amount=Decimal(amount), count=count))
    db_session.commit()


def _section(html: str) -> str:
    return re.search(r'<section class="card" id="api-limits">.*?</section>', html, re.S).group(0)


def _row(section: str, period: str) -> str:
    return re.search(rf'<tr class="cap-{period}">.*?</tr>', section, re.S).group(0)


def _text(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))


def _shown(app, amount: str) -> str:
    with app.test_request_context():
        return money(Decimal(amount), "TRY")


def test_tier_defaults_with_today_and_this_months_payments(app, api, db_session, staff_client):
    merchant_id = approved_merchant(api, db_session)
    _spend(db_session, merchant_id, "2026-11-22", "62500", 3)
    _spend(db_session, merchant_id, "2026-11-03", "1000.50", 1)
    _spend(db_session, merchant_id, "2026-10-31", "99999", 9)  # last month
    _spend(db_session, "mer_someone_else", "2026-11-22", "7777", 5)
    with freeze_time(NOW, tick=True):
        client, _staff = staff_client("analyst")
        section = _section(client.get(f"/staff/merchants/{merchant_id}").get_data(True))
        with app.test_request_context():
            day_resets = when(dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
            month_resets = when(dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    per_tx, today, month = (_text(_row(section, p)) for p in ("transaction", "day", "month"))
    assert f"Per transaction each payment on its own — {_shown(app, '50000')} default" in per_tx
    assert f"Today 2026-11-22 3 payments · resets at {day_resets} (00:00 UTC)" in today
    assert (f"{_shown(app, '62500')} {_shown(app, '250000')} default 25% "
            f"{_shown(app, '187500')}") in today
    assert 'style="width: 25.0%"' in _row(section, "day")
    assert f"This month 2026-11 4 payments · resets on the 1st, {month_resets} (00:00 UTC)" \
        in month
    assert f"{_shown(app, '63500.50')} no monthly limit" in month
    assert "7,777.00" not in section and "99,999.00" not in section
    assert "Caps: the defaults of risk tier low." in _text(section)
    assert 'Policy <span class="mono">kyb-2026.11.3</span>' in section


def test_limits_a_reviewer_set_on_approval_show_as_theirs(app, api, db_session, staff_client):
    resp = api.post("/api/v1/merchants", json=application())
    assert resp.status_code == 201, resp.get_json()
    merchant_id = resp.get_json()["id"]
    seed_assessment(db_session, db_session.get(Merchant, merchant_id), tier="low", score=20)
    db_session.commit()
    approver, _staff = staff_client("approver")
    page = approver.get(f"/staff/merchants/{merchant_id}").get_data(True)
    assert "Limits on API payments apply once the merchant is approved." in page
    assert 'class="caps"' not in _section(page)
    resp = approver.post(f"/staff/merchants/{merchant_id}/decisions", data={
        "decision": "approve_with_limits", "reason": "New shop: start small",
        "daily_amount": "1000", "monthly_amount": "5000", "csrf_token": csrf_from(page)})
    assert resp.status_code == 303
    _spend(db_session, merchant_id, "2026-11-22", "1000", 2)
    _spend(db_session, merchant_id, "2026-11", "4000", 7)
    with freeze_time(NOW, tick=True):
        client, _staff = staff_client("analyst")
        section = _section(client.get(f"/staff/merchants/{merchant_id}").get_data(True))
    per_tx, today, month = (_text(_row(section, p)) for p in ("transaction", "day", "month"))
    assert f"{_shown(app, '50000')} default" in per_tx
    assert (f"{_shown(app, '1000')} {_shown(app, '1000')} set by a reviewer 100% limit reached "
            f"{_shown(app, '0')}") in today
    assert 'class="over" style="width: 100.0%"' in _row(section, "day")
    assert "7 payments" in month
    assert (f"{_shown(app, '4000')} {_shown(app, '5000')} set by a reviewer 80% "
            f"{_shown(app, '1000')}") in month
    assert ("Caps: set by a reviewer on approval; the others are the defaults of risk tier low."
            in _text(section))


def test_the_caps_cost_one_query_however_many_totals_there_are(app, api, db_session,
                                                             staff_client):
    client, _staff = staff_client("analyst")
    merchant_id = approved_merchant(api, db_session)
    path = f"/staff/merchants/{merchant_id}"
    approved = _queries(app, client, path)
    for day in range(1, 21):
        _spend(db_session, merchant_id, f"{dt.datetime.now(dt.UTC):%Y-%m}-{day:02d}", "10", 1)
    assert _queries(app, client, path) == approved
    merchant = db_session.get(Merchant, merchant_id)
    merchant.status = "suspended"
    db_session.add(merchant)
    db_session.commit()
    assert _queries(app, client, path) == approved - 1  # no caps shown, none read
