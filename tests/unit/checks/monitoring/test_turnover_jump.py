"""R-C2: today's turnover 4x or more the previous (local) day's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)  # Wednesday 21:00 in Istanbul
YESTERDAY_NOON = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)  # 12:00 local
TODAY_NOON = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("today", "fires"), [
    ("3999.99", False), ("4000.00", True), ("4000.01", True),
])
def test_turnover_jump_fires_at_four_times_the_previous_day(run, tx, today, fires):
    sales = [tx(YESTERDAY_NOON, "1000"), tx(TODAY_NOON, today)]
    hits = run("turnover_jump", sales, NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].dedupe_key == "turnover_jump:merchant:2026-11-18"
        assert hits[0].evidence["previous_turnover_try"] == "1000"
        assert "4.0 times" in hits[0].summary


@pytest.mark.parametrize(("base", "fires"), [("999.99", False), ("1000", True)])
def test_turnover_jump_needs_a_previous_day_of_at_least_the_min_base(run, tx, base, fires):
    sales = [tx(YESTERDAY_NOON, base), tx(TODAY_NOON, "100000")]
    assert bool(run("turnover_jump", sales, NOW)) is fires


def test_turnover_jump_does_not_fire_on_a_first_day_of_sales(run, tx):
    assert run("turnover_jump", [tx(TODAY_NOON, "500000")], NOW) == ()


def test_turnover_jump_counts_local_days_not_utc_days(run, tx):
    # 21:30 UTC on the 17th is 00:30 on the 18th in Istanbul: it belongs to today.
    sales = [tx(YESTERDAY_NOON, "1000"), tx(datetime(2026, 11, 17, 21, 30, tzinfo=UTC), "4000")]
    assert run("turnover_jump", sales, NOW)


def test_turnover_jump_ignores_refunds_chargebacks_and_future_sales(run, tx):
    sales = [tx(YESTERDAY_NOON, "1000"), tx(TODAY_NOON, "9000", type="refund"),
             tx(TODAY_NOON, "9000", type="chargeback"), tx(NOW + timedelta(minutes=1), "9000")]
    assert run("turnover_jump", sales, NOW) == ()
