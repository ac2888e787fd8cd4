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
from checks.kyb.outcome import missing_data_mark, money_text, outcome, unknown
from checks.policy import Policy
from checks.registry import check
from checks.result import CheckResult
from checks.wording import says


@check("price_ticket_mismatch")
def price_ticket_mismatch(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Flag a median or p90 ticket at or above ``ratio x`` the highest site/declared price."""
    code = "price_ticket_mismatch"
    reference, prices = _reference_price(facts, policy)
    if reference is None:
        return unknown(policy, code, says("Neither website prices nor declared prices are "
                                          "known, so tickets cannot be compared with them."),
                       prices=prices)
    if facts.transactions is None:
        return unknown(policy, code, says("The merchant's transactions were not looked up."),
                       reference_try=reference, prices=prices)
    params = policy.check(code).params
    count, median, p90, evidence = _tickets(facts, now)
    evidence |= {"reference_try": reference, "prices": prices}
    if count < params["min_sales"] or median is None or p90 is None:
        said = says("Not yet applicable: %(count)s sale(s), fewer than the %(needed)s needed to "
                    "compare tickets with prices.", count=count, needed=params["min_sales"])
        return outcome(policy, code, policy.figures.judge_missing_data_as, said,
                       evidence | missing_data_mark(policy))
    median_ratio, p90_ratio = median / reference, p90 / reference
    evidence |= {"median_try": median, "p90_try": p90,
                 "median_ratio": median_ratio.quantize(Decimal("0.01")),
                 "p90_ratio": p90_ratio.quantize(Decimal("0.01"))}
    flagged = median_ratio >= params["median_ratio"] or p90_ratio >= params["p90_ratio"]
    said = says("The median ticket is %(median)s and the p90 %(p90)s against a highest shown or "
                "declared price of %(reference)s; the policy flags %(median_ratio)sx (median) or "
                "%(p90_ratio)sx (p90).", median=money_text(median), p90=money_text(p90),
                reference=money_text(reference), median_ratio=params["median_ratio"],
                p90_ratio=params["p90_ratio"])
    return outcome(policy, code, "flag" if flagged else "pass", said, evidence)


def _tickets(facts: MerchantFacts, now: datetime
             ) -> tuple[int, Decimal | None, Decimal | None, dict[str, Any]]:
    """Sale count, median and p90 ticket: from the running figures when the facts carry them
    (within their stated accuracy, see ``checks.figures``), else from the raw sales."""
    assert facts.transactions is not None  # noqa: S101 - checked by the caller
    figures = facts.transactions.figures
    if figures is not None:
        return (figures.sales_count, figures.ticket_median_try, figures.ticket_p90_try,
                {"sales": figures.sales_count, "source": "figures",
                 "ticket_accuracy": figures.ticket_accuracy})
    tickets = sorted(s.amount_try for s in facts.transactions.sales if s.occurred_at <= now)
    if not tickets:
        return 0, None, None, {"sales": 0}
    return len(tickets), statistics.median(tickets), _p90(tickets), {"sales": len(tickets)}


def reference_price(facts: MerchantFacts, policy: Policy) -> Decimal | None:
    """The highest usable site or declared price in TRY (what the ratios multiply)."""
    return _reference_price(facts, policy)[0]


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
