"""When the demo's API traffic is dated (``app.demo.traffic``): over today, or the last 12
hours when the day is younger, with the anomaly story's six calls on the demo's own UTC day
whatever the hour it is loaded (the monitor counts per day; seen failing at 00:20 UTC)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.demo.traffic import MIN_TRAFFIC_SPAN, one_limit_day, plan_api_traffic, traffic_start

IST = ZoneInfo("Europe/Istanbul")


class _Timeline:
    def __init__(self) -> None:
        self.calls: list[tuple[dt.datetime, dict]] = []

    def at(self, when, action, _label) -> None:  # noqa: ANN001
        defaults = action.__defaults__ or ()
        request = next((d for d in defaults if isinstance(d, dict)), None)
        if request is not None:
            self.calls.append((when, request))


def _plan(now: dt.datetime) -> list[tuple[dt.datetime, dict]]:
    timeline = _Timeline()
    merchants = [((lambda: "mer_a"), "a.test", (100, 200), 30, False),
                 ((lambda: "mer_b"), "b.test", (100, 200), 20, False),
                 ((lambda: "mer_c"), "c.test", (15000, 20000), 30, True)]
    plan_api_traffic(timeline, object(), merchants, now=now,  # type: ignore[arg-type]
                     limit_zone=IST)
    return timeline.calls


@pytest.mark.parametrize("clock", ["00:00:30", "00:04", "00:20", "11:59", "12:01", "23:59"])
def test_traffic_and_the_anomaly_story_fall_where_they_should(clock):
    hour, minute, *second = (int(x) for x in clock.split(":"))
    now = dt.datetime(2026, 11, 28, hour, minute, second[0] if second else 0, tzinfo=dt.UTC)
    start = traffic_start(now)
    assert now - start >= MIN_TRAFFIC_SPAN
    assert start == min(now.replace(hour=0, minute=0, second=0), now - MIN_TRAFFIC_SPAN)
    calls = _plan(now)
    assert len(calls) == 80 and all(start < at < now for at, _ in calls)
    story = [at for at, request in calls if request["customer_ref"]]
    assert len(story) == 6
    assert all(at.date() == now.date() and now - at <= dt.timedelta(hours=2) for at in story)


@pytest.mark.parametrize("clock", ["00:00:30", "03:30", "09:00", "20:59", "21:00", "21:05",
                                   "23:59"])
def test_a_merchant_meant_to_reach_its_cap_sends_on_one_day_of_the_limits_calendar(clock):
    """Its daily cap counts on Istanbul's calendar (midnight at 21:00 UTC): split over two of
    its days, neither total reached the cap (seen at 03:30 UTC)."""
    hour, minute, *second = (int(x) for x in clock.split(":"))
    now = dt.datetime(2026, 11, 28, hour, minute, second[0] if second else 0, tzinfo=dt.UTC)
    capped = [at for at, request in _plan(now) if request["amount"] >= 15000]
    assert len(capped) == 30
    assert len({at.astimezone(IST).date() for at in capped}) == 1
    first, last = one_limit_day(traffic_start(now), now, IST)
    assert last - first >= (now - traffic_start(now)) / 2  # the longer part: never squeezed
    assert all(first < at < last for at in capped)
