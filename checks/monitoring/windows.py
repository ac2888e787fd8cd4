"""Time windows, local calendar periods and number formatting shared by the scenarios."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from checks.monitoring.model import MonitoredTransaction
from checks.policy import Policy


def zone(policy: Policy) -> ZoneInfo:
    """The merchants' local time zone of the policy (Europe/Istanbul)."""
    return ZoneInfo(policy.monitoring.param("timezone"))


def local_day(moment: datetime, policy: Policy) -> date:
    """The local calendar day of ``moment``."""
    return moment.astimezone(zone(policy)).date()


def week_label(moment: datetime, policy: Policy) -> str:
    """The local ISO week of ``moment``, e.g. ``2026-W47``."""
    year, week, _ = local_day(moment, policy).isocalendar()
    return f"{year}-W{week:02d}"


def month_label(moment: datetime, policy: Policy) -> str:
    """The local calendar month of ``moment``, e.g. ``2026-11``."""
    return local_day(moment, policy).strftime("%Y-%m")


def trailing(transactions: Iterable[MonitoredTransaction], now: datetime,
             days: int | float) -> list[MonitoredTransaction]:
    """Transactions in ``(now - days, now]``, oldest first."""
    start = now - timedelta(days=days)
    return sorted((t for t in transactions if start < t.occurred_at <= now),
                  key=lambda t: t.occurred_at)


def sales(transactions: Iterable[MonitoredTransaction]) -> list[MonitoredTransaction]:
    """Only the sales."""
    return [t for t in transactions if t.type == "sale"]


def total(transactions: Iterable[MonitoredTransaction]) -> Decimal:
    """Sum of the TRY amounts."""
    return sum((t.amount_try for t in transactions), Decimal(0))


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """``part / whole`` (0 when ``whole`` is 0)."""
    return Decimal(part) / Decimal(whole) if whole else Decimal(0)


def pct(value: Decimal) -> str:
    """``Decimal("0.7512")`` → ``"75.1 %"``."""
    return f"{(value * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


def money(amount: Decimal) -> str:
    """``Decimal("1234.5")`` → ``"1,234.50 TRY"``."""
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,} TRY"


def window_evidence(now: datetime, days: int | float) -> dict[str, str]:
    """The window's bounds for the evidence."""
    return {"window_start": (now - timedelta(days=days)).isoformat(), "window_end": now.isoformat()}


def two(value: Decimal) -> Decimal:
    """``value`` rounded to two decimals (ratios in evidence)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def severity(policy: Policy, code: str, default: str = "medium") -> str:
    """The policy's severity for scenario ``code``."""
    return policy.monitoring.severity.get(code, default)


def recent_days(transactions: Iterable[MonitoredTransaction], now: datetime,
                policy: Policy) -> dict[date, list[MonitoredTransaction]]:
    """Transactions of the previous and the current local day up to ``now``, by local day,
    oldest first. Per-day scenarios look at both, so a transaction recorded late (after
    midnight) still counts towards its own day and the same day always gives the same key."""
    tz = zone(policy)
    today = local_day(now, policy)
    yesterday = today - timedelta(days=1)
    # In UTC, as the transactions are: comparing across zones asks the zone at every step, and
    # so did naming each transaction's local day (a busy merchant's two days are 10^5 of them).
    start = datetime.combine(yesterday, datetime.min.time(), tz).astimezone(UTC)
    today_start = datetime.combine(today, datetime.min.time(), tz).astimezone(UTC)
    by_day: dict[date, list[MonitoredTransaction]] = {}
    # Filter before sorting: a month of history is judged at every upload, these two days only.
    for t in sorted((t for t in transactions if start <= t.occurred_at <= now),
                    key=lambda t: t.occurred_at):
        by_day.setdefault(today if t.occurred_at >= today_start else yesterday, []).append(t)
    return by_day


def local_text(moment: datetime, policy: Policy) -> str:
    """``moment`` as local wall time for a summary, e.g. ``2026-11-21 14:05 (Europe/Istanbul)``."""
    tz = zone(policy)
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M} ({tz})"
