"""Turnover scenarios: a day-to-day jump (R-C2) and turnover far above the sector (R-A7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from checks.monitoring.model import (
    Activity,
    Insufficient,
    ScenarioHit,
    SectorAverage,
    earliest,
    hit,
)
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
from checks.wording import says


@scenario("turnover_jump")
def turnover_jump(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """Today's sales turnover (local day, up to ``now``) >= factor x the previous day's.

    A previous day under ``turnover_jump_min_base_try`` is no base, so a first day of sales or a
    day after a closed day never fires (there is nothing to jump from): insufficient data."""
    code, params = "turnover_jump", policy.monitoring.params
    factor, min_base = params["turnover_jump_factor"], params["turnover_jump_min_base_try"]
    today = local_day(now, policy)
    yesterday = today - timedelta(days=1)
    recent = sales(trailing(activity.transactions, now, 2))
    today_sales = [t for t in recent if local_day(t.occurred_at, policy) == today]
    today_try = total(today_sales)
    base_try = total(t for t in recent if local_day(t.occurred_at, policy) == yesterday)
    if base_try < min_base or base_try == 0:
        return Insufficient(f"no base day: sales of {yesterday} were {money(base_try)}, under "
                            f"the {money(min_base)} a base needs")
    if today_try < factor * base_try:
        return ()
    jump = ratio(today_try, base_try)
    summary = says("Sales turnover on %(day)s reached %(turnover)s, %(jump)s times the "
                   "%(base)s of %(previous_day)s (the policy alerts at %(factor)sx or more).",
                   day=today, turnover=money(today_try), jump=format(jump, ".1f"),
                   base=money(base_try), previous_day=yesterday, factor=factor)
    evidence = {"day": today, "turnover_try": today_try, "previous_day": yesterday,
                "previous_turnover_try": base_try, "jump_factor": two(jump),
                "threshold_factor": factor, "min_base_try": min_base}
    return (hit(code, severity(policy, code, "high"), subject="merchant",
                summary=summary, period=str(today), evidence=evidence,
                occurred_at=earliest(today_sales)),)


@dataclass(frozen=True)
class SectorJudgement:
    """What R-A7 says of a merchant's trailing turnover: ``flag``, ``pass`` or
    ``insufficient_data`` (with ``why``) when there is no sector or too few peers."""

    status: str
    why: str
    turnover_try: Decimal
    sector: SectorAverage | None


def judge_sector(turnover: Decimal, sector: SectorAverage | None,
                 policy: Policy) -> SectorJudgement:
    """R-A7: ``turnover`` (the trailing window's sales) against ``factor x`` the average of
    the sector's other merchants with sales in the window, when ``min_peers`` of them exist."""
    params = policy.monitoring.params
    factor, min_peers = params["sector_outlier_factor"], params["sector_outlier_min_peers"]
    if sector is None:
        return SectorJudgement("insufficient_data", "the merchant has no sector (MCC)",
                               turnover, sector)
    if sector.peers < min_peers or sector.average_monthly_try <= 0:
        return SectorJudgement("insufficient_data",
                               f"{sector.peers} other merchant(s) of MCC {sector.mcc} had sales "
                               f"in the window; the average needs {min_peers}", turnover, sector)
    if turnover < factor * sector.average_monthly_try:
        return SectorJudgement("pass", f"under {factor}x the sector average", turnover, sector)
    return SectorJudgement("flag", f"at or over {factor}x the sector average", turnover, sector)


@scenario("sector_outlier")
def sector_outlier(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """The trailing month's sales turnover >= factor x the sector's average monthly turnover.

    The sector fact comes from the per-day figures (``SectorAverage.own_try`` is the merchant's
    own turnover over the same local days; without it the transactions are summed). Without a
    sector or with fewer than ``sector_outlier_min_peers`` peers the judgement is
    ``insufficient_data`` (``judge_sector``): no alert, and the verdict says why."""
    days = policy.monitoring.params["sector_outlier_window_days"]
    sector = activity.sector
    turnover = (sector.own_try if sector is not None and sector.own_try is not None
                else total(sales(trailing(activity.transactions, now, days))))
    judgement = judge_sector(turnover, sector, policy)
    if judgement.status == "insufficient_data":
        return Insufficient(judgement.why)
    if judgement.status != "flag":
        return ()
    return (sector_hit(judgement, policy, now),)


def sector_hit(judgement: SectorJudgement, policy: Policy, now: datetime) -> ScenarioHit:
    """The alert-worthy hit of a flagged R-A7 judgement (one per merchant and local month)."""
    code, params = "sector_outlier", policy.monitoring.params
    days, factor = params["sector_outlier_window_days"], params["sector_outlier_factor"]
    sector, turnover = judgement.sector, judgement.turnover_try
    assert sector is not None  # noqa: S101 - a flag has a sector
    times = ratio(turnover, sector.average_monthly_try)
    summary = says("Sales turnover of the last %(days)s days is %(turnover)s, %(times)s times "
                   "the %(average)s average of %(peers)s merchants in sector %(mcc)s (the "
                   "policy alerts at %(factor)sx or more).", days=days,
                   turnover=money(turnover), times=format(times, ".1f"),
                   average=money(sector.average_monthly_try), peers=sector.peers,
                   mcc=sector.mcc, factor=factor)
    evidence = {**window_evidence(now, days), "turnover_try": turnover, "mcc": sector.mcc,
                "sector_average_try": sector.average_monthly_try, "peers": sector.peers,
                "times_average": two(times), "threshold_factor": factor}
    return hit(code, severity(policy, code), subject="merchant",
               summary=summary, period=month_label(now, policy), evidence=evidence)
