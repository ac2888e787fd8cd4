"""R-A7: the month's turnover far (3x) above the average of the merchant's sector (MCC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from checks.monitoring import SectorAverage

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SECTOR = SectorAverage(mcc="5944", average_monthly_try=Decimal("10000"), peers=5)


@pytest.mark.parametrize(("turnover", "fires"), [
    ("29999.99", False), ("30000.00", True), ("30000.01", True),
])
def test_sector_outlier_fires_at_three_times_the_sector_average(run, tx, turnover, fires):
    hits = run("sector_outlier", [tx(NOW - timedelta(days=3), turnover)], NOW, SECTOR)
    assert bool(hits) is fires
    if fires:
        assert hits[0].evidence["mcc"] == "5944"
        assert "sector 5944" in hits[0].summary
        assert hits[0].dedupe_key == "sector_outlier:merchant:2026-11"


@pytest.mark.parametrize(("peers", "fires"), [(4, False), (5, True)])
def test_sector_outlier_needs_five_peers_behind_the_average(run, tx, peers, fires):
    sector = SectorAverage(mcc="5944", average_monthly_try=Decimal("10000"), peers=peers)
    assert bool(run("sector_outlier", [tx(NOW, "50000")], NOW, sector)) is fires


def test_sector_outlier_is_silent_without_the_sector_fact(run, tx):
    assert run("sector_outlier", [tx(NOW, "1000000")], NOW, None) == ()


def test_sector_outlier_counts_only_the_trailing_thirty_days(run, tx):
    old = tx(NOW - timedelta(days=30), "1000000")
    assert run("sector_outlier", [old, tx(NOW, "29999")], NOW, SECTOR) == ()


@pytest.mark.parametrize(("sector", "status", "why"), [
    (None, "insufficient_data", "no sector"),
    (SectorAverage(mcc="5944", average_monthly_try=Decimal("10000"), peers=4),
     "insufficient_data", "4 other merchant(s) of MCC 5944"),
    (SectorAverage(mcc="5944", average_monthly_try=Decimal("0"), peers=0),
     "insufficient_data", "needs 5"),
    (SECTOR, "pass", "under 3x"),
])
def test_sector_judgement_says_why_it_cannot_judge(sector, status, why):
    from checks.monitoring.turnover import judge_sector
    from checks.policy import load_policy
    judgement = judge_sector(Decimal("29999.99"), sector, load_policy())
    assert judgement.status == status
    assert why in judgement.why


def test_sector_outlier_reads_the_merchants_own_turnover_from_the_figures(run, tx):
    # The per-day figures (which count verification traffic too) give the own turnover.
    sector = SectorAverage(mcc="5944", average_monthly_try=Decimal("10000"), peers=5,
                           own_try=Decimal("30000"))
    assert run("sector_outlier", [tx(NOW, "1")], NOW, sector)
