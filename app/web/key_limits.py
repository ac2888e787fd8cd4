"""A key's limits as the staff console and the merchant portal show them (R-E5).

What is shown as *in force* is what verification applies at ``now``
(:func:`api_keys.limits.in_force`): a requested increase whose time has come already applies,
even before a later change moves it into the key's columns. Everything is read from the
``ApiKey`` row, so showing limits adds no query to a page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from api_keys.limits import Limits, in_force
from app.models import ApiKey
from app.services.keys import current_limits, raised_limits


@dataclass(frozen=True)
class ShownLimits:
    """The limits in force and, if one still waits, the increase and when it takes effect."""

    in_force: Limits
    waiting: Limits | None = None
    effective_at: dt.datetime | None = None


def shown_limits(key: ApiKey, now: dt.datetime) -> ShownLimits:
    """The limits of ``key`` that apply at ``now`` and the increase still waiting, if any."""
    current, raised = current_limits(key), raised_limits(key)
    applied = in_force(current, raised, key.raised_limits_at, now)
    if raised is None or applied == raised:
        return ShownLimits(applied)
    return ShownLimits(applied, raised, key.raised_limits_at)
