"""The running figures' pure parts (R-A4, R-A5): window shares, the ticket sketch's accuracy
bound, and the [figures] policy table."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from checks.facts import SalesFigures, TransactionsSummary, WindowTurnover
from checks.figures import ALPHA, TicketSketch, window_shares
from checks.kyb.pricing import price_ticket_mismatch
from checks.kyb.turnover import new_merchant_turnover
from checks.policy import POLICY_DIR, PolicyError, load_policy

ACTIVATED = datetime(2026, 8, 1, 9, 30, tzinfo=UTC)


def exact_p90(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    return ordered[max(math.ceil(Decimal(len(ordered)) * Decimal("0.9")), 1) - 1]


@pytest.mark.parametrize("seed", range(5))
def test_sketch_median_and_p90_are_within_half_a_percent_of_the_exact_ones(seed):
    rng = random.Random(seed)  # noqa: S311 - test data
    values = [Decimal(str(round(rng.lognormvariate(5, 1.5), 2))) + Decimal("0.01")
              for _ in range(rng.randint(1, 3000))]
    sketch = TicketSketch()
    sketch.add(values)
    for got, exact in ((sketch.median(), statistics.median(values)),
                       (sketch.p90(), exact_p90(values))):
        assert abs(got - exact) <= exact * Decimal(str(ALPHA)) + Decimal("0.01")


def test_sketch_is_exact_at_the_ends_and_for_one_ticket():
    sketch = TicketSketch()
    sketch.add([Decimal("149.90")])
    assert (sketch.median(), sketch.p90()) == (Decimal("149.90"), Decimal("149.90"))
    sketch.add([Decimal("0"), Decimal("99999.99")])
    assert sketch.ranked(1) == Decimal(0) and sketch.ranked(3) == Decimal("99999.99")


def test_sketch_size_is_bounded_by_the_spread_not_the_volume():
    sketch = TicketSketch()
    sketch.add(Decimal(10 + (i % 990)) for i in range(100_000))  # 10..999 TRY
    assert sketch.count == 100_000
    assert len(sketch.buckets) <= 470  # a factor of 100 needs about 460 buckets


@pytest.mark.parametrize(("median", "flags"), [
    # 600 TRY = 3 x the 200 TRY reference: flags from +0.5 %, never below -0.5 %.
    ("596.99", False), ("603.01", True),
])
def test_ticket_threshold_is_judged_right_outside_the_stated_accuracy(median, flags):
    sketch = TicketSketch()
    sketch.add([Decimal("100"), Decimal("200"), Decimal(median), Decimal("700"), Decimal("900")])
    assert (sketch.median() >= 3 * Decimal(200)) is flags


def test_window_shares_put_a_late_sale_in_the_windows_of_its_own_time():
    end = ACTIVATED + timedelta(days=30)
    shares = window_shares(ACTIVATED, [30, 60, 90], [
        (ACTIVATED - timedelta(microseconds=1), Decimal("5")),  # before activation: nowhere
        (ACTIVATED, Decimal("1")),                              # the first instant counts
        (end - timedelta(microseconds=1), Decimal("2")),        # day 30: inside
        (end, Decimal("4")),                                    # day 31: second window only
    ])
    assert shares == {"30": Decimal("3"), "60": Decimal("7"), "90": Decimal("7")}
    assert window_shares(None, [30], [(ACTIVATED, Decimal("1"))]) == {}


def figures(turnover_30: str, count: int = 10, median: str = "150", p90: str = "150"):
    return SalesFigures(as_of=ACTIVATED, windows=(
        WindowTurnover(30, Decimal(turnover_30)), WindowTurnover(60, Decimal(turnover_30)),
        WindowTurnover(90, Decimal(turnover_30))), sales_count=count,
        ticket_median_try=Decimal(median), ticket_p90_try=Decimal(p90),
        ticket_accuracy=Decimal("0.005"))


@pytest.mark.parametrize(("turnover", "status"), [("249999.99", "pass"), ("250000", "flag")])
def test_new_merchant_turnover_reads_the_figures(make_facts, policy, turnover, status):
    facts = make_facts(transactions=TransactionsSummary(ACTIVATED, figures=figures(turnover)))
    result = new_merchant_turnover(facts, policy, ACTIVATED + timedelta(days=5))
    assert result.status == status
    assert result.evidence["source"] == "figures"


def test_new_merchant_turnover_without_a_window_in_the_figures_is_unknown(make_facts, policy):
    partial = SalesFigures(as_of=ACTIVATED, windows=(WindowTurnover(30, Decimal(1)),),
                           sales_count=1, ticket_median_try=None, ticket_p90_try=None,
                           ticket_accuracy=Decimal("0.005"))
    facts = make_facts(transactions=TransactionsSummary(ACTIVATED, figures=partial))
    assert new_merchant_turnover(facts, policy, ACTIVATED).status == "unknown"


@pytest.mark.parametrize(("count", "median", "p90", "status"), [
    (4, "5000", "5000", "unknown"),  # fewer than min_sales: cannot judge
    (5, "599.99", "999.99", "pass"), (5, "600", "150", "flag"), (5, "150", "1000", "flag"),
])
def test_price_ticket_mismatch_reads_the_figures(make_facts, policy, count, median, p90,
                                                 status):
    # The clean merchant's reference is its declared maximum, 200 TRY.
    facts = make_facts(transactions=TransactionsSummary(
        ACTIVATED, figures=figures("1", count=count, median=median, p90=p90)))
    result = price_ticket_mismatch(facts, policy, ACTIVATED)
    assert result.status == status
    assert result.evidence["source"] == "figures"


def test_facts_with_figures_round_trip_through_json(make_facts):
    facts = make_facts(transactions=TransactionsSummary(ACTIVATED, figures=figures("10")))
    assert type(facts).from_dict(facts.to_dict()) == facts


def test_figures_policy_table(policy):
    assert policy.figures.count_verifications is True
    assert policy.figures.judge_missing_data_as == "unknown"
    assert policy.figures.rejudge == ("new_merchant_turnover", "price_ticket_mismatch",
                                      "sector_outlier")
    old = load_policy(POLICY_DIR / "kyb-2026.11.1.toml")
    assert (old.figures.count_verifications, old.figures.judge_missing_data_as) == (False, "pass")


@pytest.mark.parametrize(("line", "message"), [
    ("count_verifications = true", "figures.typo: unknown figures key"),
    ("judge_missing_data_as = \"unknown\"", "figures.typo: unknown figures key"),
])
def test_figures_table_refuses_unknown_and_bad_keys(tmp_path, line, message):
    text = (POLICY_DIR / "kyb-2026.11.2.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(line, "typo = 1", 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(bad)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('judge_missing_data_as = "unknown"', 'judge_missing_data_as = "flag"', "pass or unknown"),
    ("count_verifications = true", 'count_verifications = "yes"', "true or false"),
    ('"sector_outlier"]', '"no_such_check"]', "no such check"),
])
def test_figures_table_validates_values(tmp_path, old, new, message):
    text = (POLICY_DIR / "kyb-2026.11.2.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(bad)
