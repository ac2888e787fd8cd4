"""``recent_days``: the previous and the current local day (Europe/Istanbul, UTC+3) up to now,
each transaction under its own local day, decided by instant at the boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from checks.monitoring.windows import local_day, recent_days

US = timedelta(microseconds=1)
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)  # 12:30 on the 28th in Istanbul
TODAY_START = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)  # 00:00 on the 28th in Istanbul
YESTERDAY_START = TODAY_START - timedelta(days=1)


def test_each_boundary_just_under_and_just_over(policy, tx):
    moments = [YESTERDAY_START - US, YESTERDAY_START, TODAY_START - US, TODAY_START, NOW,
               NOW + US]
    days = recent_days([tx(m) for m in moments], NOW, policy)
    assert list(days) == [date(2026, 11, 27), date(2026, 11, 28)]
    assert [t.occurred_at for t in days[date(2026, 11, 27)]] == [YESTERDAY_START,
                                                                 TODAY_START - US]
    assert [t.occurred_at for t in days[date(2026, 11, 28)]] == [TODAY_START, NOW]


def test_the_day_named_is_the_local_calendars_for_every_minute_of_two_days(policy, tx):
    moments = [YESTERDAY_START + timedelta(minutes=m) for m in range(0, 2 * 24 * 60, 7)]
    moments = [m for m in moments if m <= NOW]
    days = recent_days([tx(m) for m in reversed(moments)], NOW, policy)
    for day, transactions in days.items():
        assert all(local_day(t.occurred_at, policy) == day for t in transactions)
        assert [t.occurred_at for t in transactions] == sorted(t.occurred_at
                                                              for t in transactions)
    assert sum(len(v) for v in days.values()) == len(moments)
