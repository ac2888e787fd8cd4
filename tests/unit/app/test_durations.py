"""Durations in the console come from one formatter, in days and hours from Babel's locale
data (issue #11: "overdue by 432 h 06 min" → "overdue by 18 days 0 hr"), English and
Turkish, with each unit boundary tested just under and just over."""

from __future__ import annotations

import datetime as dt

import pytest

from app.web.filters import countdown, duration

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)
S = dt.timedelta(seconds=1)

CASES = [
    (dt.timedelta(hours=432, minutes=6), "18 days 0 hr", "18 gün 0 sa."),
    (dt.timedelta(days=1), "1 day 0 hr", "1 gün 0 sa."),
    (dt.timedelta(days=1) - S, "23 hr 59 min", "23 sa. 59 dk."),
    (dt.timedelta(hours=1), "1 hr 0 min", "1 sa. 0 dk."),
    (dt.timedelta(hours=1) - S, "59 min", "59 dk."),
    (dt.timedelta(hours=2, minutes=15), "2 hr 15 min", "2 sa. 15 dk."),
    (dt.timedelta(days=3, hours=5, minutes=59), "3 days 5 hr", "3 gün 5 sa."),
    (dt.timedelta(seconds=59), "0 min", "0 dk."),
]


def _in(app, lang):
    return app.test_request_context(f"/staff/?lang={lang}")


@pytest.mark.parametrize("span, english, turkish", CASES)
def test_duration_in_days_and_hours_per_locale(app, span, english, turkish):
    with _in(app, "en"):
        assert duration(span) == english
        assert duration(-span) == english
    with _in(app, "tr"):
        assert duration(span) == turkish


def test_countdown_left_and_overdue_in_english_and_turkish(app):
    late = NOW - dt.timedelta(hours=432, minutes=6)
    with _in(app, "en"):
        assert countdown(late, NOW) == "overdue by 18 days 0 hr"
        assert countdown(NOW + 2 * dt.timedelta(hours=1) + 15 * M, NOW) == "2 hr 15 min left"
        assert countdown(NOW, NOW) == "0 min left"
        assert countdown(NOW - S, NOW) == "overdue by 0 min"
        assert countdown(None, NOW) == "—"
    with _in(app, "tr"):
        assert countdown(late, NOW) == "18 gün 0 sa. gecikti"
        assert countdown(NOW + 40 * M, NOW) == "40 dk. kaldı"
