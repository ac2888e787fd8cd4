"""Turnover scenarios: a day-to-day jump (R-C2) and turnover far above the sector (R-A7)."""

from __future__ import annotations

from datetime import datetime, timedelta

from checks.monitoring.model import Activity, ScenarioHit, hit
from checks.monitoring.registry import scenario
from checks.monitoring.windows import (
    local_day,
    money,
    month_label,
    ratio,
    sales,
    severity,
    total,
    trailing,
    two,
    window_evidence,
)
from checks.policy import Policy


@scenario("turnover_jump")
def turnover_jump(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """Today's sales turnover (local day, up to ``now``) >= factor x the previous day's.

    A previous day under ``turnover_jump_min_base_try`` is no base, so a first day of sales or a
    day after a closed day never fires (there is nothing to jump from)."""
    code, params = "turnover_jump", policy.monitoring.params
    factor, min_base = params["turnover_jump_factor"], params["turnover_jump_min_base_try"]
    today = local_day(now, policy)
    yesterday = today - timedelta(days=1)
    recent = sales(trailing(activity.transactions, now, 2))
    today_try = total(t for t in recent if local_day(t.occurred_at, policy) == today)
    base_try = total(t for t in recent if local_day(t.occurred_at, policy) == yesterday)
    if base_try < min_base or base_try == 0 or today_try < factor * base_try:
        return ()
    jump = ratio(today_try, base_try)
    summary = (f"Sales turnover on {today} reached {money(today_try)}, {jump:.1f} times the "
               f"{money(base_try)} of {yesterday} (the policy alerts at {factor}x or more).")
    evidence = {"day": today, "turnover_try": today_try, "previous_day": yesterday,
                "previous_turnover_try": base_try, "jump_factor": two(jump),
                "threshold_factor": factor, "min_base_try": min_base}
    return (hit(code, severity(policy, code, "high"), subject="merchant",
                summary=summary, period=str(today), evidence=evidence),)


@scenario("sector_outlier")
def sector_outlier(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """The trailing month's sales turnover >= factor x the sector's average monthly turnover.

    Needs the sector fact with at least ``sector_outlier_min_peers`` merchants behind the
    average; without it the scenario cannot judge and stays silent."""
    code, params = "sector_outlier", policy.monitoring.params
    days, factor = params["sector_outlier_window_days"], params["sector_outlier_factor"]
    sector = activity.sector
    if (sector is None or sector.peers < params["sector_outlier_min_peers"]
            or sector.average_monthly_try <= 0):
        return ()
    turnover = total(sales(trailing(activity.transactions, now, days)))
    if turnover < factor * sector.average_monthly_try:
        return ()
    times = ratio(turnover, sector.average_monthly_try)
    summary = (f"Sales turnover of the last {days} days is {money(turnover)}, {times:.1f} times "
               f"the {money(sector.average_monthly_try)} average of {sector.peers} merchants in "
               f"sector {sector.mcc} (the policy alerts at {factor}x or more).")
    evidence = {**window_evidence(now, days), "turnover_try": turnover, "mcc": sector.mcc,
                "sector_average_try": sector.average_monthly_try, "peers": sector.peers,
                "times_average": two(times), "threshold_factor": factor}
    return (hit(code, severity(policy, code), subject="merchant",
                summary=summary, period=month_label(now, policy), evidence=evidence),)

