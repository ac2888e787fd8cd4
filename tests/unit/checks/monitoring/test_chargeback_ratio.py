"""R-C3: weekly chargebacks above 5 % of the sales count or amount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def week_of_sales(tx, count=20, amount="100"):
    return [tx(NOW - timedelta(hours=3 * i + 1), amount) for i in range(count)]


@pytest.mark.parametrize(("chargebacks", "fires"), [
    (["100.00"], False),          # 1 of 20 = 5 % by count and by amount: not above
    (["100.01"], True),           # by amount 5.0005 %
    (["1", "1"], True),           # by count 10 %
    ([], False),
])
def test_chargeback_ratio_fires_above_five_percent(run, tx, chargebacks, fires):
    cbs = [tx(NOW - timedelta(hours=2), a, type="chargeback") for a in chargebacks]
    hits = run("chargeback_ratio", week_of_sales(tx) + cbs, NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].dedupe_key == "chargeback_ratio:merchant:2026-W47"
        assert hits[0].severity == "high"


def test_chargeback_ratio_needs_twenty_sales_in_the_week(run, tx):
    cbs = [tx(NOW - timedelta(hours=1), "100", type="chargeback") for _ in range(5)]
    assert run("chargeback_ratio", week_of_sales(tx, count=19) + cbs, NOW) == ()


@pytest.mark.parametrize(("age", "fires"), [
    (timedelta(days=7) - timedelta(seconds=1), True), (timedelta(days=7), False),
])
def test_chargeback_ratio_counts_only_the_trailing_week(run, tx, age, fires):
    cbs = [tx(NOW - age, "500", type="chargeback")]
    assert bool(run("chargeback_ratio", week_of_sales(tx) + cbs, NOW)) is fires


def test_chargeback_ratio_summary_names_both_ratios(run, tx):
    [hit] = run("chargeback_ratio", week_of_sales(tx) + [
        tx(NOW, "300", type="chargeback")], NOW)
    assert "5.0 % by count and 15.0 % by amount" in hit.summary
