"""When sales happen: weekend volume (R-C4) and night turnover 21:00-06:00 (R-C5), both in the
merchants' local time (policy ``timezone``, Europe/Istanbul) over the trailing month."""

from __future__ import annotations

from datetime import datetime, timedelta

from checks.monitoring.model import (
    Activity,
    Insufficient,
    MonitoredTransaction,
    ScenarioHit,
    earliest,
    hit,
)
from checks.monitoring.registry import scenario
from checks.monitoring.windows import (
    money,
    month_label,
    pct,
    ratio,
    sales,
    severity,
    total,
    trailing,
    two,
    window_evidence,
    zone,
)
from checks.policy import Policy
from checks.wording import says


@scenario("weekend_volume")
def weekend_volume(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """Saturday and Sunday sales >= ratio of the trailing month's sales amount.

    Needs ``weekend_min_sales`` sales and a first sale at least ``weekend_min_span_days`` before
    ``now``, so a merchant that opened on a Saturday is not judged on its first weekend."""
    code, params = "weekend_volume", policy.monitoring.params
    days, threshold = params["weekend_window_days"], params["weekend_ratio"]
    sold = sales(trailing(activity.transactions, now, days))
    if len(sold) < params["weekend_min_sales"]:
        return Insufficient(f"{len(sold)} sales in the last {days} days; the share needs "
                            f"{params['weekend_min_sales']}")
    if sold[0].occurred_at > now - timedelta(days=params["weekend_min_span_days"]):
        return Insufficient(f"the first sale of the window is less than "
                            f"{params['weekend_min_span_days']} days old")
    tz = zone(policy)
    weekend = [t for t in sold if t.occurred_at.astimezone(tz).weekday() >= 5]
    share = ratio(total(weekend), total(sold))
    if share < threshold:
        return ()
    summary = says("%(share)s of the last %(days)s days' sales (%(weekend_try)s of %(sales_try)s, "
                   "%(weekend)s of %(sales)s sales) fell on weekends; the policy alerts at "
                   "%(threshold)s.", share=pct(share), days=days,
                   weekend_try=money(total(weekend)), sales_try=money(total(sold)),
                   weekend=len(weekend), sales=len(sold), threshold=pct(threshold))
    evidence = {**window_evidence(now, days), "weekend_try": total(weekend),
                "sales_try": total(sold), "weekend_sales": len(weekend), "sales": len(sold),
                "share_pct": two(share * 100), "threshold_pct": two(threshold * 100),
                "timezone": str(tz)}
    return (hit(code, severity(policy, code), subject="merchant", summary=summary,
                period=month_label(now, policy), evidence=evidence,
                occurred_at=earliest(weekend)),)


@scenario("night_turnover")
def night_turnover(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """Sales at local night hours (from ``night_start_hour`` to before ``night_end_hour``) >=
    ratio of the trailing month's turnover. Needs ``night_min_sales`` sales."""
    code, params = "night_turnover", policy.monitoring.params
    days, threshold = params["night_window_days"], params["night_ratio"]
    sold = sales(trailing(activity.transactions, now, days))
    if len(sold) < params["night_min_sales"]:
        return Insufficient(f"{len(sold)} sales in the last {days} days; the share needs "
                            f"{params['night_min_sales']}")
    night = [t for t in sold if _is_night(t, policy)]
    share = ratio(total(night), total(sold))
    if share < threshold:
        return ()
    start, end = params["night_start_hour"], params["night_end_hour"]
    summary = says("%(share)s of the last %(days)s days' turnover (%(night_try)s of "
                   "%(sales_try)s) was made between %(start)s and %(end)s local time; the "
                   "policy alerts at %(threshold)s.", share=pct(share), days=days,
                   night_try=money(total(night)), sales_try=money(total(sold)),
                   start=format(start, "02d") + ":00", end=format(end, "02d") + ":00",
                   threshold=pct(threshold))
    evidence = {**window_evidence(now, days), "night_try": total(night),
                "sales_try": total(sold), "night_sales": len(night), "sales": len(sold),
                "share_pct": two(share * 100), "threshold_pct": two(threshold * 100),
                "night_hours": f"{start:02d}:00-{end:02d}:00", "timezone": str(zone(policy))}
    return (hit(code, severity(policy, code), subject="merchant", summary=summary,
                period=month_label(now, policy), evidence=evidence,
                occurred_at=earliest(night)),)


def _is_night(transaction: MonitoredTransaction, policy: Policy) -> bool:
    params = policy.monitoring.params
    start, end = params["night_start_hour"], params["night_end_hour"]
    hour = transaction.occurred_at.astimezone(zone(policy)).hour
    return (hour >= start or hour < end) if start > end else start <= hour < end
