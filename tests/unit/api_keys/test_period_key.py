"""``period_key`` remembers the current day and month per zone (issue #14: every verification
asks for both); what it answers must be what the calendar says, at every boundary."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from api_keys import limits
from api_keys.limits import period_key

ZONES = [UTC, ZoneInfo("Europe/Istanbul"), ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/Berlin"),
         ZoneInfo("America/St_Johns")]


def _calendar(period: str, at: datetime, zone) -> str:
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d}" if period == "day" else f"{local:%Y-%m}"


def _instants() -> list[datetime]:
    """Around local midnights, month ends and the DST changes of 2026, a second either side."""
    out = []
    for zone in ZONES:
        for day in (datetime(2026, 3, 29), datetime(2026, 3, 31), datetime(2026, 10, 25),
                    datetime(2026, 11, 30), datetime(2026, 12, 31), datetime(2026, 11, 28)):
            midnight = day.replace(tzinfo=zone) + timedelta(days=1)
            for delta in (-1, 0, 1, 3600, -3600):
                out.append((midnight + timedelta(seconds=delta)).astimezone(UTC))
    return out


def test_every_answer_is_the_calendars_whatever_was_asked_before():
    instants = _instants()
    rng = random.Random(14)  # noqa: S311 - a fixed order to replay, not a secret
    for _ in range(3):
        rng.shuffle(instants)
        for at in instants:
            for zone in ZONES:
                for period in ("day", "month"):
                    assert period_key(period, at, zone) == _calendar(period, at, zone), (
                        period, at, zone)
                    # the same instant in the zone's own time: compared as an instant too
                    local = at.astimezone(zone)
                    assert period_key(period, local, zone) == _calendar(period, at, zone)


def test_just_under_and_just_over_istanbul_midnight():
    zone = ZoneInfo("Europe/Istanbul")
    midnight_utc = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)  # 00:00 on the 28th in Istanbul
    assert period_key("day", midnight_utc - timedelta(microseconds=1), zone) == "2026-11-27"
    assert period_key("day", midnight_utc, zone) == "2026-11-28"
    assert period_key("day", midnight_utc - timedelta(microseconds=1), zone) == "2026-11-27"
    assert period_key("month", datetime(2026, 11, 30, 20, 59, 59, tzinfo=UTC), zone) == "2026-11"
    assert period_key("month", datetime(2026, 11, 30, 21, 0, tzinfo=UTC), zone) == "2026-12"


def test_a_naive_instant_is_not_remembered():
    limits._CURRENT.clear()
    assert period_key("day", datetime(2026, 11, 28, 12, 0)) == "2026-11-28"
    assert not limits._CURRENT
