"""A merchant's caps and their use as the staff console and the merchant portal show them
(R-E5): the caps across all its live keys, today's and this month's payments against them,
where each cap comes from and when each running total starts again.

The numbers are :func:`app.services.merchant_limits.merchant_limits`, the caps verification
applies and the totals it settles, so a page shows what the next payment is judged against.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session

from api_keys.limits import next_period_start
from app.models import Merchant, MerchantStatus
from app.services.merchant_limits import MerchantLimits, merchant_limits

# Each cap and the field of ``Merchant.limits`` a reviewer sets it with.
REVIEWER_FIELDS = {"per_transaction": "max_amount_per_tx", "daily": "daily_amount",
                   "monthly": "monthly_amount"}


@dataclass(frozen=True)
class ShownCaps:
    """The caps in force and their use, with where the caps come from.

    ``tier`` is the risk tier whose defaults apply to the caps a reviewer did not set (None
    when the reviewer's limits apply alone); ``by_reviewer`` names the caps a reviewer set
    (``per_transaction``, ``daily``, ``monthly``).
    """

    view: MerchantLimits
    tier: str | None
    by_reviewer: frozenset[str]
    day_resets_at: dt.datetime
    month_resets_at: dt.datetime

    @property
    def source(self) -> str:
        """``tier`` (its defaults only), ``reviewer`` (a reviewer's limits only) or
        ``reviewer_over_tier`` (a reviewer's limits, the tier's defaults for the rest)."""
        if not self.by_reviewer:
            return "tier"
        if self.tier is None or self.by_reviewer >= REVIEWER_FIELDS.keys():
            return "reviewer"
        return "reviewer_over_tier"


def shown_caps(session: Session, merchant: Merchant, now: dt.datetime) -> ShownCaps | None:
    """``merchant``'s caps and their use at ``now`` (one query); None while it is not approved,
    as its keys move no money then."""
    if merchant.status != MerchantStatus.approved:
        return None
    # merchant_limits' default policy is the app's active one (``KYB_POLICY``), the one
    # verification judges by.
    return describe_caps(merchant_limits(session, merchant, now), merchant, now)


def describe_caps(view: MerchantLimits, merchant: Merchant, now: dt.datetime) -> ShownCaps:
    """What the pages show of ``view``: the sources of the caps and the next day and month on
    the policy's calendar, when the running totals start again from zero."""
    source = view.caps.source
    tier = source.rpartition("tier:")[2] if "tier:" in source else None
    decided = (merchant.limits or {}) if source.startswith("decision") else {}
    by_reviewer = frozenset(cap for cap, name in REVIEWER_FIELDS.items()
                            if decided.get(name) is not None)
    zone = ZoneInfo(view.timezone)
    return ShownCaps(view, tier, by_reviewer, next_period_start("day", now, zone),
                     next_period_start("month", now, zone))
