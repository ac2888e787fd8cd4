"""The caps-and-use view: what a page or the API shows equals what verification judges."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.models import Merchant, SpendTotal
from app.services.merchant_limits import CapUse, merchant_limits

NOW = dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)


def _merchant(db_session, **fields) -> Merchant:
    merchant = Merchant(legal_name="Anadolu Çiçek A.Ş.", country="TR", status="approved",
                        tier="low", **fields)
    db_session.add(merchant)
    db_session.commit()
    return merchant


def _total(db_session, merchant: Merchant, period: str, amount: str, count: int) -> None:
    db_session.add(SpendTotal(subject=f"merchant:{merchant.id}", period=period,
                              currency="TRY", amount=Decimal(amount), count=count))
    db_session.commit()


def test_tier_defaults_with_today_and_the_month_summed_from_days(db_session):
    merchant = _merchant(db_session)
    _total(db_session, merchant, "2026-11-22", "1250.50", 3)
    _total(db_session, merchant, "2026-11-01", "100", 1)
    _total(db_session, merchant, "2026-10-31", "999", 9)  # last month: not counted
    view = merchant_limits(db_session, merchant, NOW)
    assert (view.caps.per_transaction, view.caps.source) == (Decimal("50000"), "tier:low")
    assert view.day == CapUse("day", "2026-11-22", Decimal("250000"), Decimal("1250.50"), 3,
                              dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    assert view.month == CapUse("month", "2026-11", None, Decimal("1350.50"), 4,
                                dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert view.timezone == "UTC"
    assert view.day.remaining == Decimal("248749.50")
    assert view.month.remaining is None and view.month.share is None
    assert view.policy_version == "kyb-2026.11.3"


def test_a_monthly_cap_reads_its_own_total_and_a_full_cap_shows_as_used_up(db_session):
    merchant = _merchant(db_session, limits={"currency": "TRY", "monthly_amount": "1000",
                                             "daily_amount": "500"})
    _total(db_session, merchant, "2026-11", "1000", 7)
    _total(db_session, merchant, "2026-11-22", "500", 2)
    view = merchant_limits(db_session, merchant, NOW)
    assert view.month == CapUse("month", "2026-11", Decimal("1000"), Decimal("1000.00"), 7,
                                dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert (view.day.remaining, view.day.share) == (Decimal("0"), 1.0)
    assert view.caps.source == "decision over tier:low"


def test_no_use_yet(db_session):
    view = merchant_limits(db_session, _merchant(db_session), NOW)
    assert (view.day.spent, view.day.count, view.day.share) == (Decimal(0), 0, 0.0)
