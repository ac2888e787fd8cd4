"""``chargeback_ratio``: weekly chargebacks above 5 % of the sales count or amount (R-C3)."""

from __future__ import annotations

from datetime import datetime

from checks.monitoring.model import Activity, Insufficient, ScenarioHit, earliest, hit
from checks.monitoring.registry import scenario
from checks.monitoring.windows import (
    pct,
    ratio,
    sales,
    severity,
    total,
    trailing,
    two,
    week_label,
    window_evidence,
)
from checks.policy import Policy
from checks.wording import says


@scenario("chargeback_ratio")
def chargeback_ratio(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """Chargebacks of the trailing week > max ratio of the week's sales, by count or by amount.

    Both sides are counted by when they were recorded in the window (the guide's weekly
    ratio), not by matching a chargeback to its sale. Needs ``chargeback_min_sales`` sales."""
    code, params = "chargeback_ratio", policy.monitoring.params
    days, limit = params["chargeback_window_days"], params["chargeback_max_ratio"]
    window = trailing(activity.transactions, now, days)
    sold = sales(window)
    charged = [t for t in window if t.type == "chargeback"]
    if len(sold) < params["chargeback_min_sales"]:
        return Insufficient(f"{len(sold)} sales in the last {days} days; the ratio needs "
                            f"{params['chargeback_min_sales']}")
    if not charged:
        return ()
    by_count = ratio(len(charged), len(sold))
    by_amount = ratio(total(charged), total(sold))
    if by_count <= limit and by_amount <= limit:
        return ()
    summary = says("%(chargebacks)s chargebacks in the last %(days)s days against %(sales)s "
                   "sales: %(by_count)s by count and %(by_amount)s by amount (%(charged)s of "
                   "%(sold)s TRY), above the %(limit)s limit.", chargebacks=len(charged),
                   days=days, sales=len(sold), by_count=pct(by_count), by_amount=pct(by_amount),
                   charged=format(total(charged), ",.2f"), sold=format(total(sold), ",.2f"),
                   limit=pct(limit))
    evidence = {**window_evidence(now, days), "chargebacks": len(charged), "sales": len(sold),
                "chargeback_try": total(charged), "sales_try": total(sold),
                "ratio_by_count": two(by_count * 100), "ratio_by_amount": two(by_amount * 100),
                "max_ratio_pct": two(limit * 100), "min_sales": params["chargeback_min_sales"]}
    return (hit(code, severity(policy, code, "high"), subject="merchant", summary=summary,
                period=week_label(now, policy), evidence=evidence,
                occurred_at=earliest(charged)),)
