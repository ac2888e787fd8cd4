"""What the consoles show as a key's limits: an increase waits until its time, then it is the
limit in force even before a later change moves it into the key's columns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from api_keys.limits import Limits
from app.models import ApiKey
from app.web.key_limits import ShownLimits, shown_limits

AT = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
LOW = Limits("TRY", Decimal("500"), None, frozenset({"sale"}))
HIGH = Limits("TRY", Decimal("5000"), None, None)


def _key(**fields) -> ApiKey:
    return ApiKey(merchant_id="mer_1", name="k", environment="live", prefix="kyb_live_x",
                  token_hash="h", limit_currency="TRY", max_amount_per_tx=Decimal("500"),
                  allowed_operations=["sale"], **fields)


def test_a_key_without_an_increase_shows_its_stored_limits():
    assert shown_limits(_key(), AT) == ShownLimits(LOW)


@pytest.mark.parametrize(("now", "expected"), [
    (AT - dt.timedelta(seconds=1), ShownLimits(LOW, HIGH, AT)),
    (AT, ShownLimits(HIGH)),
])
def test_an_increase_waits_until_its_time_to_the_second(now, expected):
    key = _key(raised_limits={"currency": "TRY", "max_amount_per_tx": "5000",
                              "daily_amount": None, "allowed_operations": None},
               raised_limits_at=AT)
    assert shown_limits(key, now) == expected
