"""new_merchant_turnover (R-A4): 250k / 500k / 1M TRY within 30 / 60 / 90 days of activation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from checks.facts import Sale, TransactionsSummary
from checks.kyb.turnover import new_merchant_turnover
from checks.policy import POLICY_DIR, load_policy

ACTIVATED = datetime(2026, 8, 1, 9, 30, tzinfo=UTC)
LATER = ACTIVATED + timedelta(days=120)


def day(n: int) -> datetime:
    """The last second of day ``n`` after activation (day 1 = the first 24 hours)."""
    return ACTIVATED + timedelta(days=n) - timedelta(seconds=1)


def run(make_facts, policy, sales, now=LATER):
    summary = TransactionsSummary(ACTIVATED, tuple(Sale(at, Decimal(a)) for at, a in sales))
    return new_merchant_turnover(make_facts(transactions=summary), policy, now)


@pytest.mark.parametrize(
    ("sales", "status"),
    [
        ([(day(30), "249999.99")], "pass"),
        ([(day(30), "250000.00")], "flag"),
        ([(day(1), "100000"), (day(30), "150000")], "flag"),
        ([(day(31), "250000.00")], "pass"),  # day 31 is in the 60-day window only
        ([(ACTIVATED + timedelta(days=30), "250000")], "pass"),  # first instant of day 31
        ([(ACTIVATED, "250000")], "flag"),  # activation instant counts
        ([(ACTIVATED - timedelta(seconds=1), "250000")], "pass"),  # before activation
        ([(day(60), "499999.99")], "pass"),
        ([(day(60), "500000")], "flag"),
        ([(day(61), "500000")], "pass"),
        ([(day(90), "999999.99")], "pass"),
        ([(day(90), "1000000")], "flag"),
        ([(day(91), "1000000")], "pass"),
        ([(day(10), "200000"), (day(45), "300000")], "flag"),  # 500k within 60 days
    ],
)
def test_new_merchant_turnover_flags_reaching_a_cap(make_facts, policy, sales, status):
    assert run(make_facts, policy, sales).status == status


def test_new_merchant_turnover_explains_the_first_cap_reached(make_facts, policy):
    result = run(make_facts, policy, [(day(30), "250000")])
    assert result.points == 30
    assert result.explanation == (
        "Turnover reached 250,000.00 TRY within 30 days of activation on 2026-08-01 "
        "(cap 250,000.00 TRY); the policy requires detailed review and a document request."
    )
    first = result.evidence["windows"][0]
    assert first == {
        "days": 30,
        "start": ACTIVATED.isoformat(),
        "end": (ACTIVATED + timedelta(days=30)).isoformat(),
        "complete": True,
        "turnover_try": "250000",
        "cap_try": "250000",
        "reached": True,
    }


def test_new_merchant_turnover_counts_only_sales_up_to_now(make_facts, policy):
    sales = [(day(5), "200000"), (day(20), "50000")]
    assert run(make_facts, policy, sales, now=day(19)).status == "pass"
    assert run(make_facts, policy, sales, now=day(20)).status == "flag"


def test_new_merchant_turnover_is_unknown_before_activation(make_facts, policy, now):
    facts = make_facts(transactions=TransactionsSummary(activated_at=None))
    result = new_merchant_turnover(facts, policy, now)
    assert (result.status, result.points) == ("unknown", 0)
    assert "not yet activated" in result.explanation
    assert result.evidence["insufficient_data"] is True


def test_new_merchant_turnover_passed_before_activation_under_kyb_2026_11_1(make_facts, now):
    facts = make_facts(transactions=TransactionsSummary(activated_at=None))
    result = new_merchant_turnover(facts, load_policy(POLICY_DIR / "kyb-2026.11.1.toml"), now)
    assert (result.status, result.points) == ("pass", 0)


def test_new_merchant_turnover_is_unknown_without_transactions(make_facts, policy, now):
    assert new_merchant_turnover(make_facts(transactions=None), policy, now).status == "unknown"
