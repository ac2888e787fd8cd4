"""``price_ticket_mismatch``: sale tickets far above the prices the website shows (R-A5).

The reference price is the highest usable price: every website price and the declared maximum,
converted to TRY at the policy's dated rates (a price in a currency without a rate is skipped and
listed). Tickets are the merchant's sales up to ``now``; the median and the p90 (nearest-rank) are
compared with the reference times the policy ratios, and reaching a ratio flags.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from decimal import Decimal
from typing import Any

from checks.facts import MerchantFacts, Money
from checks.kyb.outcome import money_text, outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult


@check("price_ticket_mismatch")
def price_ticket_mismatch(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Flag a median or p90 ticket at or above ``ratio x`` the highest site/declared price."""
    code = "price_ticket_mismatch"
    reference, prices = _reference_price(facts, policy)
    if reference is None:
        return unknown(policy, code, "Neither website prices nor declared prices are known, so "
                       "tickets cannot be compared with them.", prices=prices)
    if facts.transactions is None:
        return unknown(policy, code, "The merchant's transactions were not looked up.",
                       reference_try=reference, prices=prices)
    params = policy.check(code).params
    tickets = sorted(s.amount_try for s in facts.transactions.sales if s.occurred_at <= now)
    evidence: dict[str, Any] = {"reference_try": reference, "prices": prices,
                                "sales": len(tickets)}
    if len(tickets) < params["min_sales"]:
        said = (f"Not yet applicable: {len(tickets)} sale(s), fewer than the "
                f"{params['min_sales']} needed to compare tickets with prices.")
        return outcome(policy, code, "pass", said, evidence)
    median, p90 = statistics.median(tickets), _p90(tickets)
    median_ratio, p90_ratio = median / reference, p90 / reference
    evidence |= {"median_try": median, "p90_try": p90,
                 "median_ratio": median_ratio.quantize(Decimal("0.01")),
                 "p90_ratio": p90_ratio.quantize(Decimal("0.01"))}
    flagged = median_ratio >= params["median_ratio"] or p90_ratio >= params["p90_ratio"]
    said = (f"The median ticket is {money_text(median)} and the p90 {money_text(p90)} against a "
            f"highest shown or declared price of {money_text(reference)}; the policy flags "
            f"{params['median_ratio']}x (median) or {params['p90_ratio']}x (p90).")
    return outcome(policy, code, "flag" if flagged else "pass", said, evidence)


def _reference_price(facts: MerchantFacts, policy: Policy) -> tuple[Decimal | None, list[dict]]:
    """The highest usable price in TRY, and every price considered (for the evidence)."""
    candidates: list[tuple[str, Money]] = []
    if facts.website_prices is not None:
        candidates += [(f"website:{p.source}", Money(p.amount, p.currency))
                       for p in facts.website_prices.prices]
    if facts.declared_prices is not None:
        declared = facts.declared_prices
        candidates.append(("declared_max", Money(declared.max, declared.currency)))
    considered, usable = [], []
    for source, money in candidates:
        in_try = policy.to_try(money)
        considered.append({"source": source, "amount": str(money.amount),
                           "currency": money.currency,
                           "amount_try": None if in_try is None else str(in_try)})
        if in_try is not None and in_try > 0:
            usable.append(in_try)
    return (max(usable) if usable else None), considered


def _p90(sorted_tickets: list[Decimal]) -> Decimal:
    rank = math.ceil(Decimal(len(sorted_tickets)) * Decimal("0.9"))
    return sorted_tickets[max(rank, 1) - 1]
