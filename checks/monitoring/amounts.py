"""``round_amounts``: a quarter of the month's sales at repeating round amounts (R-C6)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from checks.monitoring.model import Activity, Insufficient, ScenarioHit, earliest, hit
from checks.monitoring.registry import scenario
from checks.monitoring.windows import (
    month_label,
    pct,
    ratio,
    sales,
    severity,
    trailing,
    two,
    window_evidence,
)
from checks.policy import Policy
from checks.wording import says


@scenario("round_amounts")
def round_amounts(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """Sales at a round TRY amount (a whole multiple of ``round_amount_unit_try``: 50, 100,
    250, 500…) that recurs at least ``round_amount_min_repeats`` times in the trailing month,
    >= ratio of the month's sales by count. Needs ``round_amount_min_sales`` sales."""
    code, params = "round_amounts", policy.monitoring.params
    days, threshold = params["round_amount_window_days"], params["round_amount_ratio"]
    unit = params["round_amount_unit_try"]
    sold = sales(trailing(activity.transactions, now, days))
    if len(sold) < params["round_amount_min_sales"]:
        return Insufficient(f"{len(sold)} sales in the last {days} days; the share needs "
                            f"{params['round_amount_min_sales']}")
    if unit <= 0:
        return Insufficient("the policy's round_amount_unit_try is 0")
    counts = Counter(t.amount_try.normalize() for t in sold
                     if t.amount_try > 0 and t.amount_try % unit == 0)
    repeating = {amount: n for amount, n in counts.items()
                 if n >= params["round_amount_min_repeats"]}
    matched = sum(repeating.values())
    share = ratio(matched, len(sold))
    if share < threshold:
        return ()
    top = sorted(repeating.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{amount:f} TRY x{n}" for amount, n in top[:5])
    summary = says("%(matched)s of the last %(days)s days' %(sales)s sales (%(share)s) were at "
                   "repeating round amounts (%(amounts)s); the policy alerts at %(threshold)s.",
                   matched=matched, days=days, sales=len(sold), share=pct(share),
                   amounts=shown, threshold=pct(threshold))
    evidence = {**window_evidence(now, days), "round_sales": matched, "sales": len(sold),
                "amounts": {f"{amount:f}": n for amount, n in top},
                "share_pct": two(share * 100), "threshold_pct": two(threshold * 100),
                "unit_try": unit, "min_repeats": params["round_amount_min_repeats"]}
    matching = [t for t in sold if t.amount_try.normalize() in repeating]
    return (hit(code, severity(policy, code), subject="merchant", summary=summary,
                period=month_label(now, policy), evidence=evidence,
                occurred_at=earliest(matching)),)
