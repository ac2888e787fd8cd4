"""Transaction-monitoring scenarios (R-C2..R-C10, R-B6, R-A7): pure functions over a merchant's
recent transactions, the policy's ``[monitoring]`` thresholds and ``now``.

Importing this package registers every scenario. ``evaluate`` runs them all and returns their
hits; ``judge`` returns each scenario's verdict (hit, clear or insufficient_data with why); the
application turns each hit into an alert and stores the verdicts (``app/services/monitoring.py``).
No Flask, database or application imports (tests/unit/checks/test_imports.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from checks.monitoring import (  # noqa: F401 - imported for their @scenario registrations
    accounts,
    amounts,
    api_anomalies,
    chargebacks,
    descriptions,
    timing,
    turnover,
    velocity,
)
from checks.monitoring.model import (
    Activity,
    IdentityUse,
    Insufficient,
    Judgement,
    MonitoredTransaction,
    ScenarioHit,
    SectorAverage,
)
from checks.monitoring.registry import codes, get
from checks.policy import Policy

# How far back the scenarios look: the monthly windows plus a day for day-to-day comparisons.
LOOKBACK_DAYS = 32
# The policy key of each scenario's trailing window; the others read the previous and the
# current local day only.
WINDOW_KEYS = {"chargeback_ratio": "chargeback_window_days",
               "weekend_volume": "weekend_window_days", "night_turnover": "night_window_days",
               "round_amounts": "round_amount_window_days",
               "sector_outlier": "sector_outlier_window_days",
               "account_counterparties": "counterparties_window_days",
               "young_account": "young_account_window_days",
               "cash_sector_personal": "cash_personal_window_days"}
DAY_LOOKBACK = 2  # the previous and the current local day, from any instant of today


def lookback_days(policy: Policy, only: Iterable[str] | None = None) -> int:
    """Days of history ``evaluate`` needs before ``now`` for this policy (for the scenarios
    of ``only`` when given: a set of day-based scenarios needs just two days)."""
    params = policy.monitoring.params
    if only is not None:
        wanted = [WINDOW_KEYS[c] for c in only if c in WINDOW_KEYS]
        return max([DAY_LOOKBACK, *(params.get(k, LOOKBACK_DAYS) + 2 for k in wanted)])
    windows = [params.get(k, 0) for k in WINDOW_KEYS.values()]
    return max([LOOKBACK_DAYS, *(w + 2 for w in windows)])


def evaluate(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """Every registered scenario's hits for ``activity`` at ``now``, in registration order.

    Transactions after ``now`` are ignored, so a replay at an earlier instant gives that
    instant's answer."""
    return tuple(h for j in judge(activity, policy, now) for h in j.hits)


def judge(activity: Activity, policy: Policy, now: datetime,
          only: Iterable[str] | None = None) -> tuple[Judgement, ...]:
    """Every registered scenario's verdict (or those of ``only``) at ``now``: ``hit`` with its
    hits, ``insufficient_data`` with why when it could not judge, else ``clear``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    wanted = None if only is None else set(only)
    verdicts = []
    for code in codes():
        if wanted is not None and code not in wanted:
            continue
        result = get(code)(activity, policy, now)
        if isinstance(result, Insufficient):
            verdicts.append(Judgement(code, "insufficient_data", result.reason))
        else:
            verdicts.append(Judgement(code, "hit" if result else "clear", hits=tuple(result)))
    return tuple(verdicts)


__all__ = ["Activity", "IdentityUse", "Insufficient", "Judgement", "MonitoredTransaction",
           "ScenarioHit", "SectorAverage", "evaluate", "judge", "lookback_days"]
