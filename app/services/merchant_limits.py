"""A merchant's caps and how much of them is used, for people and integrations (R-E5).

The caps are those verification applies (:func:`app.services.verification.merchant_caps`); the
use is the running totals that the audit append settles (``spend_total``), so what a page or
the API shows is exactly what the next request is judged against. One query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from api_keys.limits import MerchantCaps, next_period_start, period_key
from app.models import Merchant, SpendTotal
from app.services.assessments import current_policy
from app.services.verification import merchant_caps
from checks.policy import Policy


@dataclass(frozen=True)
class CapUse:
    """One running total against its limit (``limit`` None: no limit for the period)."""

    period: str  # "day" | "month"
    key: str  # "2026-11-22" | "2026-11" on the policy's calendar
    limit: Decimal | None
    spent: Decimal
    count: int
    resets_at: dt.datetime | None = None  # when the next total starts (local midnight)

    @property
    def remaining(self) -> Decimal | None:
        return None if self.limit is None else max(self.limit - self.spent, Decimal(0))

    @property
    def share(self) -> float | None:
        """Used share of the limit, 0..1 (for bars); None without a limit."""
        if self.limit is None:
            return None
        return 1.0 if self.limit <= 0 else min(float(self.spent / self.limit), 1.0)


@dataclass(frozen=True)
class MerchantLimits:
    """The caps in force for a merchant's live keys and today's and this month's use."""

    caps: MerchantCaps
    day: CapUse
    month: CapUse
    policy_version: str
    timezone: str = "UTC"  # the calendar of the day and month (policy ``limit_timezone``)


def merchant_limits(session: Session, merchant: Merchant, now: dt.datetime,
                    policy: Policy | None = None) -> MerchantLimits:
    """``merchant``'s caps and use at ``now``. The month's use is its monthly total when a
    monthly limit is kept, else the sum of the month's daily totals."""
    policy = policy or current_policy()
    caps = merchant_caps(merchant, policy)
    zone = ZoneInfo(policy.keys.limit_timezone)
    day, month = period_key("day", now, zone), period_key("month", now, zone)
    rows = session.exec(select(SpendTotal).where(
        SpendTotal.subject == f"merchant:{merchant.id}", SpendTotal.currency == caps.currency,
        SpendTotal.period.startswith(month))).all()
    by_period = {row.period: row for row in rows}
    today = by_period.get(day)
    monthly = by_period.get(month)
    if monthly is None:
        days = [row for row in rows if len(row.period) == 10]
        month_spent = sum((row.amount for row in days), Decimal(0))
        month_count = sum(row.count for row in days)
    else:
        month_spent, month_count = monthly.amount, monthly.count
    return MerchantLimits(
        caps=caps,
        day=CapUse("day", day, caps.daily, today.amount if today else Decimal(0),
                   today.count if today else 0, next_period_start("day", now, zone)),
        month=CapUse("month", month, caps.monthly, month_spent, month_count,
                     next_period_start("month", now, zone)),
        policy_version=policy.version, timezone=policy.keys.limit_timezone)


__all__ = ["CapUse", "MerchantLimits", "merchant_limits"]
