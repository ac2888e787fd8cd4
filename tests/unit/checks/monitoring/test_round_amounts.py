"""R-C6: 25 % of the month's sales at repeating round amounts (50, 100, 250, 500 TRY…)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def month(tx, round_amounts: list[str], total: int = 20):
    odd = [tx(NOW - timedelta(days=1, minutes=i), f"{137 + i}.40")
           for i in range(total - len(round_amounts))]
    return odd + [tx(NOW - timedelta(days=2, minutes=i), a) for i, a in enumerate(round_amounts)]


@pytest.mark.parametrize(("round_sales", "fires"), [(4, False), (5, True), (6, True)])
def test_round_amounts_fire_at_a_quarter_of_the_sales(run, tx, round_sales, fires):
    hits = run("round_amounts", month(tx, ["100"] * round_sales), NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].evidence["amounts"] == {"100": round_sales}
        assert "100 TRY x" in hits[0].summary


@pytest.mark.parametrize(("amounts", "fires"), [
    (["50", "100", "250", "500", "1000"], False),    # round but each only once
    (["500", "500", "250", "250", "50"], False),     # 4 repeating of 20 = 20 %
    (["500", "500", "250", "250", "250"], True),
    (["125", "125", "125", "125", "125"], False),    # not a multiple of 50
    (["100.00", "100", "100.0000", "100", "100"], True),
])
def test_round_amounts_count_only_repeating_multiples_of_fifty(run, tx, amounts, fires):
    assert bool(run("round_amounts", month(tx, amounts), NOW)) is fires


def test_round_amounts_need_twenty_sales(run, tx):
    assert run("round_amounts", month(tx, ["100"] * 19, total=19), NOW) == ()
