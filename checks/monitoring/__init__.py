"""Transaction-monitoring scenarios (R-C2..R-C10, R-B6, R-A7): pure functions over a merchant's
recent transactions, the policy's ``[monitoring]`` thresholds and ``now``.

Importing this package registers every scenario. ``evaluate`` runs them all and returns their
hits; the application turns each hit into an alert (``app/services/monitoring.py``).
No Flask, database or application imports (tests/unit/checks/test_imports.py).
"""

from __future__ import annotations

from datetime import datetime

from checks.monitoring import (  # noqa: F401 - imported for their @scenario registrations
    amounts,
    api_anomalies,
    chargebacks,
    descriptions,
    timing,
    turnover,
    velocity,
)
from checks.monitoring.model import Activity, MonitoredTransaction, ScenarioHit, SectorAverage
from checks.monitoring.registry import codes, get
from checks.policy import Policy

# How far back the scenarios look: the monthly windows plus a day for day-to-day comparisons.
LOOKBACK_DAYS = 32


def lookback_days(policy: Policy) -> int:
    """Days of history ``evaluate`` needs before ``now`` for this policy."""
    params = policy.monitoring.params
    windows = [params.get(k, 0) for k in ("chargeback_window_days", "weekend_window_days",
                                          "night_window_days", "round_amount_window_days",
                                          "sector_outlier_window_days")]
    return max([LOOKBACK_DAYS, *(w + 2 for w in windows)])


def evaluate(activity: Activity, policy: Policy, now: datetime) -> tuple[ScenarioHit, ...]:
    """Every registered scenario's hits for ``activity`` at ``now``, in registration order.

    Transactions after ``now`` are ignored, so a replay at an earlier instant gives that
    instant's answer."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    hits: list[ScenarioHit] = []
    for code in codes():
        hits.extend(get(code)(activity, policy, now))
    return tuple(hits)


__all__ = ["Activity", "MonitoredTransaction", "ScenarioHit", "SectorAverage", "evaluate",
           "lookback_days"]
