"""Per-key limits, merchant caps and running totals, and the rule for raising limits (R-E5;
SAMA 004 §15 c–g, h.iv).

Two layers apply to a live key's monetary request, and the stricter wins:

* the key's own :class:`Limits`, set by the merchant, in the key's currency (optional);
* the merchant's :class:`MerchantCaps` — the default limits of its risk tier from the policy, or
  the limits a reviewer set when approving it — in the policy's base currency (TRY), across all
  of the merchant's keys (§15 c: a default per-transaction and daily limit for everyone).

Per-transaction limits are judged at once. Daily and monthly limits are running totals: the
decision returns one :class:`Charge` per total, and the audit append checks and adds them under
the chain lock (``app.services.spend``), so concurrent requests on any worker can never take a
total past its limit (§15 g: further transactions are blocked as soon as a limit is reached).

A merchant may lower its limits at any time and the lower limits apply at once (§15 e, f). A
request that *loosens* any limit — a higher or removed amount limit, another currency, more
operations — is an increase: it takes effect only after a delay, during which the merchant is
told (§15 d) and can freeze its keys if it did not ask for it (the extra check of §15 h.iv).
Until then the strictest of the old and the new limits applies, so the lowered parts of a
mixed change still apply at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-key limits. ``None`` means unlimited / any operation."""

    currency: str | None = None  # ISO 4217 of the amount limits
    max_amount_per_tx: Decimal | None = None
    daily_amount: Decimal | None = None
    allowed_operations: frozenset[str] | None = None

    @property
    def has_amounts(self) -> bool:
        return self.max_amount_per_tx is not None or self.daily_amount is not None


# The bounds of one payment's amount everywhere kybgate takes one (the JSON API's ``Amount``:
# 16 digits, 4 of them decimals): 0 <= amount < 10^12, at most 4 decimals.
MAX_PAYMENT_AMOUNT = Decimal(10) ** 12
PAYMENT_AMOUNT_WORDS = "a number from 0 to 999,999,999,999.9999 with at most 4 decimals"


def payment_amount_problem(amount: object) -> str | None:
    """Why ``amount`` is not a payment amount kybgate accepts, or None when it is."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return f"the amount is not {PAYMENT_AMOUNT_WORDS}"
    if amount < 0 or amount >= MAX_PAYMENT_AMOUNT or amount.as_tuple().exponent < -4:
        return f"the amount is not {PAYMENT_AMOUNT_WORDS}"
    return None


def plain_amount(value: Decimal | None) -> str | None:
    """``500`` rather than the stored ``500.0000``: as many decimals as carry value."""
    return None if value is None else f"{value.normalize():f}"


def _looser_amount(old: Decimal | None, new: Decimal | None) -> bool:
    return old is not None and (new is None or new > old)


def loosens(old: Limits, new: Limits) -> bool:
    """Whether ``new`` allows anything ``old`` refused (an increase that must wait)."""
    if old.allowed_operations is not None and (
            new.allowed_operations is None or not new.allowed_operations <= old.allowed_operations):
        return True
    if old.has_amounts and new.currency != old.currency:
        return True  # amounts in another currency cannot be compared without rates
    return (_looser_amount(old.max_amount_per_tx, new.max_amount_per_tx)
            or _looser_amount(old.daily_amount, new.daily_amount))


def _lower(old: Decimal | None, new: Decimal | None) -> Decimal | None:
    if old is None:
        return new
    if new is None:
        return old
    return min(old, new)


def strictest(old: Limits, new: Limits) -> Limits:
    """What applies while an increase from ``old`` to ``new`` waits: each limit at the stricter
    of the two (amounts in another currency keep the old ones)."""
    if old.allowed_operations is None:
        operations = new.allowed_operations
    elif new.allowed_operations is None:
        operations = old.allowed_operations
    else:
        operations = old.allowed_operations & new.allowed_operations
    if old.has_amounts and new.currency != old.currency:
        return Limits(old.currency, old.max_amount_per_tx, old.daily_amount, operations)
    return Limits(new.currency or old.currency,
                  _lower(old.max_amount_per_tx, new.max_amount_per_tx),
                  _lower(old.daily_amount, new.daily_amount), operations)


@dataclass(frozen=True, slots=True)
class MerchantCaps:
    """A merchant's limits across all its live keys, in ``currency`` (the policy's base).

    ``source`` says where they come from, for the audit trail: ``tier:<tier>`` (the policy's
    defaults) or ``decision`` (set by the reviewer who approved the merchant).
    """

    currency: str
    per_transaction: Decimal | None
    daily: Decimal | None
    monthly: Decimal | None = None
    source: str = "tier"


@dataclass(frozen=True, slots=True)
class Charge:
    """An accepted amount that a running total must still have room for.

    ``subject`` is ``key:<id>`` or ``merchant:<id>``; ``period`` is ``day`` or ``month`` (UTC);
    ``amount`` and ``limit`` are in ``currency``.
    """

    subject: str
    period: str
    currency: str
    amount: Decimal
    limit: Decimal
    key: str | None = None  # the day or month it counts in (``period_key``), fixed when decided

    def fits(self, spent: Decimal) -> bool:
        """Whether the total, at ``spent`` before this amount, stays within the limit.
        Reaching the limit exactly is allowed; once reached, any further amount is refused."""
        return spent + self.amount <= self.limit


def convert(amount: Decimal, currency: str | None, target: str,
            rates: Mapping[str, Decimal] | None) -> Decimal | None:
    """``amount`` of ``currency`` in ``target``, through the base currency of ``rates``
    (currency → base per unit), to 4 decimal places; None if either has no rate."""
    source = (currency or "").upper()
    if source == target.upper():
        return amount
    rate, target_rate = (rates or {}).get(source), (rates or {}).get(target.upper())
    if rate is None or not target_rate:
        return None
    return (amount * rate / target_rate).quantize(Decimal("0.0001"))


# (period, zone) -> (first instant, first instant of the next, key) of the last period asked
# for: every verification names its day and month, and they change twice a month at most.
_CURRENT: dict[tuple[str, tzinfo], tuple[datetime, datetime, str]] = {}


def period_key(period: str, at: datetime, zone: tzinfo = UTC) -> str:
    """The running total an instant belongs to: ``2026-11-22`` (day) or ``2026-11`` (month),
    on the calendar of ``zone`` (the policy's ``limit_timezone``)."""
    current = _CURRENT.get((period, zone))
    if current is not None and at.tzinfo is not None and current[0] <= at < current[1]:
        return current[2]
    local = at.astimezone(zone)
    start = period_start(period, local, zone)  # also refuses an unknown period
    key = f"{local:%Y-%m-%d}" if period == "day" else f"{local:%Y-%m}"
    if at.tzinfo is not None:  # bounds as UTC instants: compared by instant, never by wall
        _CURRENT[(period, zone)] = (start.astimezone(UTC),
                                    next_period_start(period, local, zone).astimezone(UTC), key)
    return key


def period_start(period: str, at: datetime, zone: tzinfo = UTC) -> datetime:
    """When the running total ``at`` belongs to began: local midnight of its day, or of the
    1st of its month (aware, in ``zone``)."""
    local = at.astimezone(zone)
    if period == "day":
        return datetime(local.year, local.month, local.day, tzinfo=zone)
    if period == "month":
        return datetime(local.year, local.month, 1, tzinfo=zone)
    raise ValueError(f"unknown period {period!r}")


def next_period_start(period: str, at: datetime, zone: tzinfo = UTC) -> datetime:
    """When the next running total of ``period`` starts after ``at``: the next local midnight,
    or the 1st of next month at local midnight (aware, in ``zone``)."""
    local = at.astimezone(zone)
    if period == "day":
        day = (local + timedelta(days=1)).date()
    elif period == "month":
        day = (local.replace(day=1) + timedelta(days=32)).date().replace(day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def in_force(current: Limits, raised: Limits | None, raised_from: datetime | None,
             now: datetime) -> Limits:
    """The limits that apply at ``now``: the raised ones from their time on."""
    if raised is not None and raised_from is not None and now >= raised_from:
        return raised
    return current
