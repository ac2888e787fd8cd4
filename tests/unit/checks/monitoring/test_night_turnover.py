"""R-C5: 50 % of the trailing month's turnover between 21:00 and 06:00 Istanbul time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 12:00 local


def local(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant on 2026-11-21 at this Istanbul wall time (UTC+3)."""
    return datetime(2026, 11, 21, hour, minute, second, tzinfo=UTC) - timedelta(hours=3)


def month(tx, probe: datetime, day_amount: str = "100"):
    """10 day-time sales and 10 sales at ``probe``, 100 TRY each (50 % at the probe)."""
    return ([tx(DAY + timedelta(minutes=i), day_amount) for i in range(10)]
            + [tx(probe + timedelta(microseconds=i), "100") for i in range(10)])


@pytest.mark.parametrize(("probe", "night"), [
    (local(20, 59, 59), False), (local(21), True), (local(23, 30), True),
    (local(0, 0), True), (local(5, 59, 59), True), (local(6), False),
])
def test_night_turnover_hours_are_21_to_06_istanbul(run, tx, probe, night):
    assert bool(run("night_turnover", month(tx, probe), NOW)) is night


@pytest.mark.parametrize(("day_amount", "fires"), [
    ("100.01", False),  # 1000 / 2000.10: 49.998 %
    ("100.00", True),   # exactly 50 %
    ("99.99", True),
])
def test_night_turnover_fires_at_fifty_percent(run, tx, day_amount, fires):
    hits = run("night_turnover", month(tx, local(23), day_amount), NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].dedupe_key == "night_turnover:merchant:2026-11"
        assert "21:00 and 06:00" in hits[0].summary


def test_night_turnover_needs_twenty_sales(run, tx):
    assert run("night_turnover", [tx(local(23), "100") for _ in range(19)], NOW) == ()
