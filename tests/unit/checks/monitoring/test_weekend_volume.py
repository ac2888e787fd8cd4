"""R-C4: 75 % of the trailing month's sales volume on Saturdays and Sundays (local time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 12:00 in Istanbul
SATURDAY = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
WEDNESDAY = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
OLD_THURSDAY = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)  # 11 days ago: the span is long enough


def month(tx, weekday_amount: str, weekend_at=SATURDAY):
    """15 weekend sales of 50 (750 TRY); a 50 TRY sale 11 days ago and 4 weekday sales."""
    weekend = [tx(weekend_at + timedelta(minutes=i), "50") for i in range(15)]
    weekday = [tx(OLD_THURSDAY, "50")] + [tx(WEDNESDAY, weekday_amount) for _ in range(4)]
    return weekend + weekday


@pytest.mark.parametrize(("weekday_amount", "fires"), [
    ("50.01", False),   # 750 / 1000.04 = 74.997 %
    ("50.00", True),    # 750 / 1000 = 75 % exactly
    ("49.99", True),    # 750 / 999.96 = 75.003 %
])
def test_weekend_volume_fires_at_seventy_five_percent(run, tx, weekday_amount, fires):
    hits = run("weekend_volume", month(tx, weekday_amount), NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].dedupe_key == "weekend_volume:merchant:2026-11"
        assert hits[0].evidence["share_pct"] == "75.00"


def test_weekend_volume_reads_istanbul_time(run, tx):
    # Friday 21:30 UTC is Saturday 00:30 in Istanbul: a weekend sale.
    friday_night_utc = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)
    assert run("weekend_volume", month(tx, "50.00", weekend_at=friday_night_utc), NOW)
    # Sunday 21:30 UTC is Monday 00:30 in Istanbul: a weekday sale.
    sunday_night_utc = datetime(2026, 11, 15, 21, 30, tzinfo=UTC)
    assert not run("weekend_volume", month(tx, "50.00", weekend_at=sunday_night_utc), NOW)


def test_weekend_volume_needs_twenty_sales(run, tx):
    nineteen = [tx(SATURDAY, "50") for _ in range(18)] + [tx(OLD_THURSDAY, "1")]
    assert run("weekend_volume", nineteen, NOW) == ()
    assert run("weekend_volume", nineteen + [tx(SATURDAY, "50")], NOW)


def test_weekend_volume_waits_a_week_after_the_first_sale(run, tx):
    # A merchant that opened on Saturday: 20 sales, all on its first weekend.
    opened_saturday = [tx(SATURDAY + timedelta(minutes=i), "50") for i in range(20)]
    assert run("weekend_volume", opened_saturday, NOW) == ()
