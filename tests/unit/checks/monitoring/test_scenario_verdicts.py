"""Every scenario gives a verdict (issue #9): ``insufficient_data`` with why when it cannot
judge, ``clear`` when it judged and found nothing, ``hit`` with hits that carry the time of the
earliest transaction behind them (R-C1's clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from checks.monitoring import Activity, Insufficient, Judgement, MonitoredTransaction, judge
from checks.monitoring.registry import codes

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
OWNED_ELSEWHERE = {"sector_outlier"}  # helper h2's scenario: its verdicts are its own change


@pytest.mark.parametrize("code", sorted(set(codes()) - OWNED_ELSEWHERE))
def test_every_scenario_says_insufficient_data_with_no_transactions(policy, code):
    [verdict] = judge(Activity(()), policy, NOW, only=[code])
    assert verdict.status == "insufficient_data"
    assert verdict.reason and verdict.hits == ()


@pytest.mark.parametrize(("code", "reason"), [
    ("turnover_jump", "no base day"), ("chargeback_ratio", "sales in the last 7 days"),
    ("weekend_volume", "sales in the last 30 days"), ("night_turnover", "20"),
    ("round_amounts", "20"), ("card_velocity", "names a card"), ("bot_intervals", "a run"),
    ("suspicious_description", "description"), ("ip_many_customers", "client_ip"),
    ("customer_many_ips", "customer_ref"),
])
def test_insufficient_data_says_why_below_the_sample_minimum(policy, tx, code, reason):
    one = [tx(NOW - timedelta(hours=1), "100")]
    [verdict] = judge(Activity(tuple(one)), policy, NOW, only=[code])
    assert verdict.status == "insufficient_data"
    assert reason in verdict.reason


@pytest.mark.parametrize(("sales", "status"), [(19, "insufficient_data"), (20, "clear")])
def test_sample_minimum_just_under_and_at(policy, tx, sales, status):
    rows = [tx(NOW - timedelta(hours=1 + i), "37.10") for i in range(sales)]
    [verdict] = judge(Activity(tuple(rows)), policy, NOW, only=["night_turnover"])
    assert verdict.status == status


def test_weekend_needs_a_first_sale_seven_days_back(policy, tx):
    rows = [tx(NOW - timedelta(days=6, minutes=i), "10") for i in range(25)]
    [verdict] = judge(Activity(tuple(rows)), policy, NOW, only=["weekend_volume"])
    assert verdict.status == "insufficient_data" and "7 days" in verdict.reason


def test_insufficient_is_an_empty_result_for_callers_that_want_hits():
    answer = Insufficient("why")
    assert answer == () and not answer and answer.reason == "why"
    with pytest.raises(ValueError):
        Insufficient("")


def test_judgement_refuses_inconsistent_states():
    with pytest.raises(ValueError):
        Judgement("x", "insufficient_data")
    with pytest.raises(ValueError):
        Judgement("x", "hit")
    with pytest.raises(ValueError):
        Judgement("x", "maybe")


def _busy_day(tx) -> list[MonitoredTransaction]:
    """One local day that trips most scenarios at once."""
    start = NOW - timedelta(hours=2)
    rows = [tx(start + timedelta(seconds=30 * i), "400", card_fingerprint="c" * 64,
               customer_ref=f"cust-{i % 6}", client_ip="198.51.100.7", description="bet365",
               account_ref="acc", type="sale", ip_country="IR") for i in range(12)]
    rows += [tx(start + timedelta(seconds=30 * i), "10", type="transfer", account_ref="acc",
                counterparty_ref=f"p{i}") for i in range(12)]
    rows.append(tx(NOW - timedelta(days=1), "1000"))
    return rows


def test_every_hit_carries_the_earliest_transaction_behind_it(policy, tx):
    rows = _busy_day(tx)
    verdicts = judge(Activity(tuple(rows)), policy, NOW)
    fired = {v.code for v in verdicts if v.status == "hit"}
    assert {"turnover_jump", "card_velocity", "bot_intervals", "suspicious_description",
            "ip_many_customers", "risky_country", "account_transfers",
            "account_counterparties"} <= fired
    for verdict in verdicts:
        for hit in verdict.hits:
            assert hit.occurred_at is not None, hit.code
            assert hit.occurred_at <= NOW
    first = min(t.occurred_at for t in rows if t.occurred_at > NOW - timedelta(hours=3))
    card = next(v for v in verdicts if v.code == "card_velocity").hits[0]
    assert card.occurred_at == first


def test_a_late_day_is_judged_at_its_own_end(policy, tx):
    """A 10x day posted after local midnight: judged at the end of that day it fires; judged
    only at the next day's noon it compares the new day (empty) and says nothing new."""
    base = [tx(datetime(2026, 11, 19, 9, 0, tzinfo=UTC), "1000")]
    late = [tx(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "10000")]
    end_of_20th = datetime(2026, 11, 20, 20, 59, 59, 999999, tzinfo=UTC)  # 23:59:59 local
    activity = Activity(tuple(base + late))
    [at_end] = judge(activity, policy, end_of_20th, only=["turnover_jump"])
    assert at_end.status == "hit"
    assert at_end.hits[0].dedupe_key == "turnover_jump:merchant:2026-11-20"
    assert at_end.hits[0].occurred_at == late[0].occurred_at
    [next_noon] = judge(activity, policy, NOW, only=["turnover_jump"])
    assert next_noon.status != "hit"


def test_amount_types_accept_transfers(tx):
    row = tx(NOW, "5", type="transfer")
    assert row.type == "transfer" and row.amount_try == Decimal("5")
    with pytest.raises(ValueError):
        tx(NOW, type="deposit")
