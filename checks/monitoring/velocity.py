"""Speed patterns: one card used again and again (R-C7) and machine-regular intervals (R-C8).

Both look at the previous and current local day (``recent_days``) and count sales only: a
refund or a chargeback is not a use of the card at the merchant's till.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from checks.monitoring.model import Activity, Insufficient, MonitoredTransaction, ScenarioHit, hit
from checks.monitoring.registry import scenario
from checks.monitoring.windows import local_day, local_text, recent_days, sales, severity
from checks.policy import Policy
from checks.wording import says


@scenario("card_velocity")
def card_velocity(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """One card fingerprint in >= ``card_velocity_count`` sales whose first and last are at most
    ``card_velocity_window_minutes`` apart (inclusive). One hit per card and local day."""
    code, params = "card_velocity", policy.monitoring.params
    count, minutes = params["card_velocity_count"], params["card_velocity_window_minutes"]
    by_card: dict[str, list[MonitoredTransaction]] = defaultdict(list)
    for day in recent_days(activity.transactions, now, policy).values():
        for t in sales(day):
            if t.card_fingerprint:
                by_card[t.card_fingerprint].append(t)
    if not by_card:
        return Insufficient("no sale of the previous or current local day names a card")
    hits = []
    for card, used in sorted(by_card.items()):
        burst = _densest(used, timedelta(minutes=minutes))
        if len(burst) < count:
            continue
        span = burst[-1].occurred_at - burst[0].occurred_at
        summary = says("Card …%(card)s was used %(uses)s times in %(span)s minutes from "
                       "%(start)s (the policy alerts at %(limit)s uses within %(minutes)s "
                       "minutes).", card=card[-8:], uses=len(burst),
                       span=int(span.total_seconds() // 60),
                       start=local_text(burst[0].occurred_at, policy), limit=count,
                       minutes=minutes)
        evidence = {"card_fingerprint": card, "uses": len(burst),
                    "first_at": burst[0].occurred_at, "last_at": burst[-1].occurred_at,
                    "span_minutes": round(span.total_seconds() / 60, 1),
                    "transaction_ids": [t.transaction_id for t in burst],
                    "threshold_count": count, "window_minutes": minutes}
        hits.append(hit(code, severity(policy, code, "high"), subject=f"card:{card}",
                        summary=summary, period=str(local_day(burst[0].occurred_at, policy)),
                        evidence=evidence, occurred_at=burst[0].occurred_at))
    return tuple(hits)


def _densest(used: list[MonitoredTransaction],
             window: timedelta) -> list[MonitoredTransaction]:
    """The largest run of ``used`` (sorted by time) fitting in ``window``; earliest on a tie."""
    best: tuple[int, int] = (0, 0)
    start = 0
    for end in range(len(used)):
        while used[end].occurred_at - used[start].occurred_at > window:
            start += 1
        if end + 1 - start > best[1] - best[0]:
            best = (start, end + 1)
    return used[best[0]:best[1]]


@scenario("bot_intervals")
def bot_intervals(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """At least ``bot_interval_min_gaps`` consecutive gaps between the merchant's sales, each
    at or under ``bot_interval_max_seconds`` (and at or over ``bot_interval_min_seconds``, 0 in
    the policy: a faster machine is no less a machine), inclusive."""
    code, params = "bot_intervals", policy.monitoring.params
    low, high = params["bot_interval_min_seconds"], params["bot_interval_max_seconds"]
    needed = params["bot_interval_min_gaps"]
    days = recent_days(activity.transactions, now, policy)
    sold = sales(t for day in sorted(days) for t in days[day])
    if needed < 1:
        return Insufficient("the policy's bot_interval_min_gaps is 0")
    if len(sold) < needed + 1:
        return Insufficient(f"{len(sold)} sales on the previous and current local day; a run "
                            f"needs {needed + 1}")
    run = _longest_regular_run(sold, low, high)
    if len(run) - 1 < needed:
        return ()
    gaps = [int((later.occurred_at - earlier.occurred_at).total_seconds())
            for earlier, later in zip(run, run[1:], strict=False)]
    summary = says("%(count)s sales came one after another at %(shortest)s-%(longest)s second "
                   "intervals from %(start)s, a machine-like rhythm (the policy alerts at "
                   "%(needed)s consecutive gaps of %(low)s-%(high)s seconds).", count=len(run),
                   shortest=min(gaps), longest=max(gaps),
                   start=local_text(run[0].occurred_at, policy), needed=needed, low=low,
                   high=high)
    evidence = {"sales_in_run": len(run), "gaps_seconds": gaps, "first_at": run[0].occurred_at,
                "last_at": run[-1].occurred_at,
                "transaction_ids": [t.transaction_id for t in run],
                "min_seconds": low, "max_seconds": high, "min_gaps": needed}
    return (hit(code, severity(policy, code, "high"), subject="merchant", summary=summary,
                period=str(local_day(run[0].occurred_at, policy)), evidence=evidence,
                occurred_at=run[0].occurred_at),)


def _longest_regular_run(sold: list[MonitoredTransaction], low: int,
                         high: int) -> list[MonitoredTransaction]:
    best: tuple[int, int] = (0, min(1, len(sold)))
    start = 0
    for i in range(1, len(sold)):
        gap = (sold[i].occurred_at - sold[i - 1].occurred_at).total_seconds()
        if not low <= gap <= high:
            start = i
        elif i + 1 - start > best[1] - best[0]:
            best = (start, i + 1)
    return sold[best[0]:best[1]]
