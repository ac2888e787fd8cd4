"""What the pages show of a merchant's caps: where each cap comes from (the tier's defaults or
a reviewer's limits) and when the day's and the month's totals start again (UTC)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from api_keys.limits import MerchantCaps
from app.models import Merchant
from app.services.merchant_limits import CapUse, MerchantLimits
from app.web.merchant_caps import describe_caps, shown_caps

NOW = dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)
IST = dt.timezone(dt.timedelta(hours=3))


def _view(source: str) -> MerchantLimits:
    caps = MerchantCaps("TRY", Decimal("50000"), Decimal("1000"), None, source)
    return MerchantLimits(caps, CapUse("day", "2026-11-22", Decimal("1000"), Decimal(0), 0),
                          CapUse("month", "2026-11", None, Decimal(0), 0), "kyb-2026.11.1")


@pytest.mark.parametrize(("source", "limits", "tier", "by_reviewer", "shown"), [
    ("tier:low", {}, "low", set(), "tier"),
    ("decision over tier:medium", {"currency": "TRY", "daily_amount": "1000",
                                   "max_amount_per_tx": None}, "medium", {"daily"},
     "reviewer_over_tier"),
    ("decision over tier:low", {"currency": "TRY", "max_amount_per_tx": "10",
                                "daily_amount": "100", "monthly_amount": "1000"}, "low",
     {"per_transaction", "daily", "monthly"}, "reviewer"),
    ("decision", {"currency": "XAU", "daily_amount": "1"}, None, {"daily"}, "reviewer"),
])
def test_the_source_of_the_caps_in_words(source, limits, tier, by_reviewer, shown):
    merchant = Merchant(legal_name="x", country="TR", status="approved", limits=limits)
    caps = describe_caps(_view(source), merchant, NOW)
    assert (caps.tier, caps.by_reviewer, caps.source) == (tier, by_reviewer, shown)


@pytest.mark.parametrize(("now", "next_day", "next_month"), [
    (NOW, dt.datetime(2026, 11, 23, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
    (dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
     dt.datetime(2027, 1, 1, tzinfo=dt.UTC)),
    # 01:00 in Istanbul on 1 December is still 30 November in UTC, where the totals count
    (dt.datetime(2026, 12, 1, 1, tzinfo=IST), dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
     dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
])
def test_totals_start_again_at_the_next_utc_day_and_month(now, next_day, next_month):
    merchant = Merchant(legal_name="x", country="TR", status="approved")
    caps = describe_caps(_view("tier:low"), merchant, now)
    assert (caps.day_resets_at, caps.month_resets_at) == (next_day, next_month)


@pytest.mark.parametrize("status", ["applied", "in_review", "info_requested", "rejected",
                                    "suspended"])
def test_a_merchant_not_approved_has_no_caps_shown_and_none_read(status):
    merchant = Merchant(legal_name="x", country="TR", status=status)
    assert shown_caps(None, merchant, NOW) is None  # no session touched
