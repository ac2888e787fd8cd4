"""``chargeback_ratio``: weekly chargebacks above 5 % of the sales count or amount (R-C3)."""

from __future__ import annotations

from datetime import datetime

from checks.monitoring.model import Activity, ScenarioHit, hit
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
    if len(sold) < params["chargeback_min_sales"] or not charged:
        return ()
    by_count = ratio(len(charged), len(sold))
    by_amount = ratio(total(charged), total(sold))
    if by_count <= limit and by_amount <= limit:
        return ()
    summary = (f"{len(charged)} chargebacks in the last {days} days against {len(sold)} sales: "
               f"{pct(by_count)} by count and {pct(by_amount)} by amount ({total(charged):,.2f} "
               f"of {total(sold):,.2f} TRY), above the {pct(limit)} limit.")
    evidence = {**window_evidence(now, days), "chargebacks": len(charged), "sales": len(sold),
                "chargeback_try": total(charged), "sales_try": total(sold),
                "ratio_by_count": two(by_count * 100), "ratio_by_amount": two(by_amount * 100),
                "max_ratio_pct": two(limit * 100), "min_sales": params["chargeback_min_sales"]}
    return (hit(code, severity(policy, code, "high"), subject="merchant", summary=summary,
                period=week_label(now, policy), evidence=evidence),)
