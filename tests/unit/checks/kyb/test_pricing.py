"""price_ticket_mismatch (R-A5): tickets against site and declared prices."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from checks.facts import PriceRange, Sale, SitePrice, TransactionsSummary, WebsitePrices
from checks.kyb.pricing import price_ticket_mismatch
from checks.policy import POLICY_DIR, load_policy


def with_tickets(make_facts, now, tickets, *, site=("100", "TRY"), declared=None):
    activated = now - timedelta(days=60)
    summary = TransactionsSummary(
        activated,
        tuple(Sale(activated + timedelta(hours=i), Decimal(t)) for i, t in enumerate(tickets)),
    )
    prices = (
        None if site is None else WebsitePrices((SitePrice(Decimal(site[0]), site[1], "jsonld"),))
    )
    return make_facts(transactions=summary, website_prices=prices, declared_prices=declared)


@pytest.mark.parametrize(
    ("tickets", "status"),
    [
        (["299.99"] * 5, "pass"),  # median 2.9999x
        (["300.00"] * 5, "flag"),  # median 3x
        (["10"] * 9 + ["499.99"], "pass"),  # p90 (nearest rank: 9th of 10) is 10
        (["10"] * 8 + ["499.99"] * 2, "pass"),  # p90 4.9999x
        (["10"] * 8 + ["500.00"] * 2, "flag"),  # p90 5x
    ],
)
def test_price_ticket_mismatch_flags_at_the_policy_ratios(make_facts, policy, now, tickets, status):
    result = price_ticket_mismatch(with_tickets(make_facts, now, tickets), policy, now)
    assert result.status == status
    assert result.evidence["reference_try"] == "100"


def test_price_ticket_mismatch_uses_the_highest_site_or_declared_price(make_facts, policy, now):
    declared = PriceRange(Decimal("5"), Decimal("200"), "TRY")
    facts = with_tickets(make_facts, now, ["500"] * 5, declared=declared)
    result = price_ticket_mismatch(facts, policy, now)
    assert (result.status, result.evidence["reference_try"]) == ("pass", "200")


def test_price_ticket_mismatch_converts_foreign_prices_at_policy_rates(make_facts, policy, now):
    facts = with_tickets(make_facts, now, ["145.50"] * 5, site=("1.00", "EUR"))
    result = price_ticket_mismatch(facts, policy, now)
    assert result.evidence["reference_try"] == "48.5000"
    assert result.status == "flag"  # 145.50 / 48.50 = 3x


def test_price_ticket_mismatch_is_unknown_without_any_price(make_facts, policy, now):
    facts = with_tickets(make_facts, now, ["500"] * 5, site=None)
    assert price_ticket_mismatch(facts, policy, now).status == "unknown"


def test_price_ticket_mismatch_is_unknown_when_prices_are_in_unrated_currencies(
    make_facts, policy, now
):
    facts = with_tickets(make_facts, now, ["500"] * 5, site=("10", "XYZ"))
    result = price_ticket_mismatch(facts, policy, now)
    assert result.status == "unknown"
    assert result.evidence["prices"][0]["amount_try"] is None


def test_price_ticket_mismatch_is_unknown_without_enough_sales(make_facts, policy, now):
    # kyb-2026.11.2 [figures] judge_missing_data_as = "unknown": never a silent pass.
    result = price_ticket_mismatch(with_tickets(make_facts, now, ["900"] * 4), policy, now)
    assert (result.status, result.points) == ("unknown", 3)
    assert result.explanation.startswith("Not yet applicable")
    assert result.evidence["insufficient_data"] is True


def test_price_ticket_mismatch_passed_without_enough_sales_under_kyb_2026_11_1(make_facts, now):
    old = load_policy(POLICY_DIR / "kyb-2026.11.1.toml")
    result = price_ticket_mismatch(with_tickets(make_facts, now, ["900"] * 4), old, now)
    assert (result.status, result.points) == ("pass", 0)
    assert "insufficient_data" not in result.evidence


def test_price_ticket_mismatch_is_unknown_without_transactions(make_facts, policy, now):
    assert price_ticket_mismatch(make_facts(transactions=None), policy, now).status == "unknown"
