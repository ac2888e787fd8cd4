"""R-C8: sales one after another at "1-2 dakika gibi çok sık" intervals: 5 consecutive gaps at
or under 120 seconds (issue #9: 40 sales 30 s apart must fire)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
START = NOW - timedelta(hours=1)


def rhythm(tx, gaps_seconds):
    at, out = START, [tx(START, "49.90")]
    for gap in gaps_seconds:
        at += timedelta(seconds=gap)
        out.append(tx(at, "49.90"))
    return out


@pytest.mark.parametrize(("gap", "fires"), [
    (0, True), (1, True), (30, True), (59, True), (60, True), (90, True), (120, True),
    (121, False),
])
def test_bot_intervals_gap_is_at_most_one_hundred_twenty_seconds(run, tx, gap, fires):
    assert bool(run("bot_intervals", rhythm(tx, [gap] * 5), NOW)) is fires


def test_bot_intervals_forty_sales_thirty_seconds_apart_fire(run, tx):
    # The example: nothing fired under the old 60-120 s band.
    sales = rhythm(tx, [30] * 39)
    [hit] = run("bot_intervals", sales, NOW)
    assert hit.evidence["sales_in_run"] == 40
    assert hit.occurred_at == START


@pytest.mark.parametrize(("sales", "insufficient"), [(5, True), (6, False)])
def test_bot_intervals_says_insufficient_data_below_a_run(run, tx, sales, insufficient):
    result = run("bot_intervals", rhythm(tx, [600] * (sales - 1)), NOW)
    assert result == ()
    assert (getattr(result, "reason", None) is not None) is insufficient


@pytest.mark.parametrize(("gaps", "fires"), [(4, False), (5, True), (8, True)])
def test_bot_intervals_needs_five_consecutive_gaps(run, tx, gaps, fires):
    hits = run("bot_intervals", rhythm(tx, [75] * gaps), NOW)
    assert bool(hits) is fires
    if fires:
        assert hits[0].evidence["sales_in_run"] == gaps + 1
        assert hits[0].dedupe_key == "bot_intervals:merchant:2026-11-21"


def test_bot_intervals_run_is_broken_by_an_irregular_gap(run, tx):
    assert run("bot_intervals", rhythm(tx, [90, 90, 90, 300, 90, 90]), NOW) == ()


def test_bot_intervals_summary_gives_the_interval_range(run, tx):
    [hit] = run("bot_intervals", rhythm(tx, [61, 62, 118, 119, 64]), NOW)
    assert "6 sales" in hit.summary and "61-119 second" in hit.summary
