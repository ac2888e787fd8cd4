"""The demo's history is replayed oldest first with each audit event dated when its step
happened (``app.demo.timeline``, ``app.audit.trail.replayed_at``; issue #11), and its review
queue reads like a working day: most applications inside the 48-hour window, a few overdue."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlmodel import select

from app.audit.trail import Actor, record, replayed_at, verify_trail
from app.demo.timeline import OVERDUE_EVERY, Timeline, story_dates
from app.models import AuditEvent

NOW = dt.datetime(2026, 11, 24, 10, 30, tzinfo=dt.UTC)  # a Tuesday morning
WINDOW = dt.timedelta(hours=48)


def _pending(index: int, status: str = "applied", changes: int = 0):
    return story_dates(status, iban_changes=changes, created_days_ago=None,
                       pending_index=index, now=NOW, rng=random.Random(index))  # noqa: S311 - demo data


def test_one_pending_application_in_seven_is_overdue_the_others_inside_the_window():
    dates = [_pending(i) for i in range(21)]
    overdue = [d for d in dates if d.applied + WINDOW <= NOW]
    assert len(overdue) == 21 // OVERDUE_EVERY == 3
    assert all(NOW - d.applied < WINDOW - dt.timedelta(hours=3) for d in dates
               if d not in overdue)  # not just under the line: inside the window
    assert all(d.applied < d.assessed < NOW and d.decided is None for d in dates)


@pytest.mark.parametrize("status", ["in_review", "info_requested"])
def test_a_touched_application_was_assessed_then_reviewed_before_now(status):
    for index in range(14):
        dates = _pending(index, status, changes=index % 5)
        assert dates.applied < dates.assessed < dates.decided < NOW
        assert all(dates.applied < c < dates.assessed for c in dates.iban_changes)
        assert len(dates.iban_changes) == index % 5


@pytest.mark.parametrize("status", ["approved", "suspended", "rejected"])
def test_decided_merchants_were_decided_days_after_they_applied(status):
    dates = story_dates(status, iban_changes=3, created_days_ago=None, pending_index=0,
                        now=NOW, rng=random.Random(1))  # noqa: S311
    assert dates.applied < dates.assessed < dates.decided < NOW - dt.timedelta(days=1)
    assert dt.timedelta(days=2) <= dates.decided - dates.applied <= dt.timedelta(days=3)
    if status == "suspended":
        assert dates.decided < dates.suspended < NOW
    if status != "rejected":  # changes of an approved merchant's payout account come later
        assert all(dates.decided < c < NOW for c in dates.iban_changes)


class _Session:
    """What ``Timeline.play`` needs of a session: its info, flush and commit."""

    def __init__(self) -> None:
        self.info: dict = {}
        self.commits = 0

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1


def test_timeline_plays_oldest_first_and_same_time_steps_in_planned_order():
    timeline, ran, session = Timeline(), [], _Session()
    for hours, label in ((5, "b"), (9, "a"), (5, "c"), (1, "d")):
        timeline.at(NOW - dt.timedelta(hours=hours), lambda lb=label: ran.append(lb), label)
    assert timeline.play(session, commit=True) == 4
    assert ran == ["a", "b", "c", "d"]
    assert session.commits == 4


def test_a_step_may_plan_a_later_step_but_not_one_in_the_past():
    timeline, ran = Timeline(), []
    timeline.at(NOW, lambda: timeline.at(NOW + dt.timedelta(minutes=1),
                                         lambda: ran.append("later")))
    timeline.play(_Session(), commit=False)
    assert ran == ["later"]
    with pytest.raises(ValueError, match="already been replayed"):
        timeline.at(NOW, lambda: None, "late step")


def test_replayed_events_are_dated_at_their_step_and_chain_as_usual(db_session):
    actor = Actor(name="demo-loader")
    steps = [NOW - dt.timedelta(days=3), NOW - dt.timedelta(hours=2)]
    for at in steps:
        with replayed_at(db_session, at):
            record(db_session, actor.event("merchant.note_added"))
    record(db_session, actor.event("merchant.note_added"))  # outside: dated now
    db_session.commit()
    events = db_session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.at for e in events[:2]] == steps
    assert events[2].at > NOW
    assert verify_trail(db_session).ok
