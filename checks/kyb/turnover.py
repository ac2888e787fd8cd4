"""``new_merchant_turnover``: turnover caps of a merchant without commercial history (R-A4).

Windows are counted in days from the activation instant, not calendar months, so each boundary is
exact and the same everywhere: the policy's first window (30 days) covers
``[activated_at, activated_at + 30 days)`` — "day 30" is inside, "day 31" is not. Only sales up to
``now`` count, so replaying an old assessment gives the old answer. Reaching a cap (``>=``) flags.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from checks.facts import MerchantFacts, TransactionsSummary
from checks.kyb.outcome import day_text, money_text, outcome, unknown
from checks.policy import Policy, TurnoverWindow
from checks.registry import check
from checks.result import CheckResult


@check("new_merchant_turnover")
def new_merchant_turnover(facts: MerchantFacts, policy: Policy, now: datetime) -> CheckResult:
    """Flag turnover reaching a window's cap within that many days of activation."""
    code, summary = "new_merchant_turnover", facts.transactions
    if summary is None:
        return unknown(policy, code, "The merchant's transactions were not looked up.")
    if summary.activated_at is None:
        return outcome(policy, code, "pass",
                       "The merchant is not yet activated, so the new-merchant turnover caps do "
                       "not apply yet.", {"activated_at": None})
    windows = [_window(summary, w, now) for w in policy.check(code).params["windows"]]
    evidence = {"activated_at": summary.activated_at, "windows": windows}
    reached = [w for w in windows if w["reached"]]
    activated = day_text(summary.activated_at)
    if reached:
        first = reached[0]
        said = (f"Turnover reached {money_text(Decimal(first['turnover_try']))} within "
                f"{first['days']} days of activation on {activated} (cap "
                f"{money_text(Decimal(first['cap_try']))}); the policy requires detailed review "
                f"and a document request.")
        return outcome(policy, code, "flag", said, evidence)
    levels = "; ".join(
        f"{money_text(Decimal(w['turnover_try']))} of {money_text(Decimal(w['cap_try']))} "
        f"in {w['days']} days" for w in windows
    )
    said = f"Turnover since activation on {activated} stays under every cap: {levels}."
    return outcome(policy, code, "pass", said, evidence)


def _window(summary: TransactionsSummary, window: TurnoverWindow, now: datetime) -> dict[str, Any]:
    assert summary.activated_at is not None  # noqa: S101 - checked by the caller
    start = summary.activated_at
    end = start + timedelta(days=window.days)
    counted = (
        s.amount_try for s in summary.sales if start <= s.occurred_at < end and s.occurred_at <= now
    )
    turnover = sum(counted, Decimal(0))
    return {
        "days": window.days,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "complete": now >= end,
        "turnover_try": str(turnover),
        "cap_try": str(window.cap_try),
        "reached": turnover >= window.cap_try,
    }
