"""The keys page shows the merchant the caps across all its live keys and how much of today's
and this month's are used, with when each total starts again (R-E5) — its own totals only."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from app.models import SpendTotal
from app.web.filters import money, when
from tests.functional.portal.conftest import apply


def _spend(db_session, merchant_id: str, period: str, amount: str, count: int) -> None:
    db_session.add(SpendTotal(subject=f"merchant:{merchant_id}", period=period, currency="TRY",
                              amount=Decimal(amount), count=count))
    db_session.commit()


def _caps(html: str) -> str:
    return re.search(r'<section class="card" id="caps".*?</section>', html, re.S).group(0)


def _text(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))


def test_keys_page_shows_the_merchants_own_use_of_its_caps(app, approved_user, db_session):
    user = approved_user("a@shop.example")
    other = approved_user("b@other.example", website="https://other-shop.com.tr",
                          email="info@other-shop.com.tr")
    assert f"{dt.datetime.now(dt.UTC):%Y-%m-%d}" == "2026-03-02"  # the portal's frozen clock
    _spend(db_session, user.merchant_id, "2026-03-02", "125000", 4)
    _spend(db_session, user.merchant_id, "2026-03-01", "500", 1)
    _spend(db_session, other.merchant_id, "2026-03-02", "7777", 9)
    caps = _caps(user.get("/portal/keys").get_data(True))
    with app.test_request_context():
        shown = {amount: money(Decimal(amount), "TRY")
                 for amount in ("50000", "125000", "250000", "125500")}
        resets = when(dt.datetime(2026, 3, 3, tzinfo=dt.UTC))
        month_resets = when(dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    text = _text(caps)
    assert "Limits of all your live keys" in text
    assert f"Per transaction each payment on its own — {shown['50000']} default" in text
    assert (f"Today 2026-03-02 4 payments · resets at {resets} (00:00 UTC) {shown['125000']} "
            f"{shown['250000']} default 50% {shown['125000']}") in text
    assert 'style="width: 50.0%"' in caps
    assert f"This month 2026-03 5 payments · resets on the 1st, {month_resets}" in text
    assert f"{shown['125500']} no monthly limit" in text
    assert "7,777.00" not in caps and "9 payments" not in caps
    assert "risk tier" not in caps  # the tier is the bank's assessment, not shown to merchants
    theirs = _text(_caps(other.get("/portal/keys").get_data(True)))
    assert "7,777.00 TRY" in theirs and "9 payments" in theirs and "125,000.00" not in theirs


def test_keys_page_of_a_merchant_not_yet_approved_shows_no_caps(portal_user, db_session):
    user = portal_user("a@shop.example")
    apply(user, db_session)
    page = user.get("/portal/keys").get_data(True)
    assert "Only approved merchants can create API keys." in page
    assert 'id="caps"' not in page


def test_the_caps_in_turkish(app, approved_user, db_session):
    user = approved_user("a@shop.example")
    _spend(db_session, user.merchant_id, "2026-03-02", "1250.5", 1)
    text = _text(_caps(user.get("/portal/keys?lang=tr").get_data(True)))
    assert "Tüm canlı anahtarlarınızın limitleri" in text
    assert "Bugün 2026-03-02 1 ödeme" in text and "(00:00 UTC) 1.250,50 TRY" in text
    assert "Bu ay 2026-03 1 ödeme · ayın 1'inde" in text and "aylık limit yok" in text
