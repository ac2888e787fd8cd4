"""Per-key limits and the rule for raising them (R-E5; SAMA 004 §15 c–g, h.iv).

A merchant may lower its limits at any time and the lower limits apply at once (§15 e, f). A
request that *loosens* any limit — a higher or removed amount limit, another currency, more
operations — is an increase: it takes effect only after a delay, during which the merchant is
told (§15 d) and can freeze its keys if it did not ask for it (the extra check of §15 h.iv).
Until then the strictest of the old and the new limits applies, so the lowered parts of a
mixed change still apply at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


def in_force(current: Limits, raised: Limits | None, raised_from: datetime | None,
             now: datetime) -> Limits:
    """The limits that apply at ``now``: the raised ones from their time on."""
    if raised is not None and raised_from is not None and now >= raised_from:
        return raised
    return current
