"""When the demo's history happened, and replaying it in that order.

The demo tells months of an institution's work: applications, assessments, IBAN changes,
decisions, keys, today's API calls, the back office's nightly uploads of sales and the
analysts' work on the alerts they opened. Each is a step at the time it happened;
:class:`Timeline` runs the steps oldest first, each with the audit trail's replay clock at its
time (:func:`app.audit.trail.replayed_at`), so every audit event is dated when it happened and
seq order is time order, with the hash chain as any request writes it.

:func:`story_dates` says when a merchant's story happened. The review queue should look like
an ordinary working day: most applications arrived within the review window, a few are
overdue; decided merchants were assessed and decided days after they applied.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from app.audit.trail import replayed_at

# One pending application in OVERDUE_EVERY arrived before the review window (48 h) began.
OVERDUE_EVERY = 7
WINDOW_HOURS = (2.0, 44.0)  # when the others arrived, hours ago: inside the 48 h window
OVERDUE_HOURS = (52.0, 96.0)
ASSESSED_AFTER = dt.timedelta(minutes=20)  # the assessment job runs soon after a submission
DECIDED_AFTER = dt.timedelta(days=3)  # an approval takes an analyst and two approvers
REJECTED_AFTER = dt.timedelta(days=2)
SUSPENDED_AFTER = dt.timedelta(days=120)
APPROVED_DAYS_AGO = (130, 200)  # decided merchants applied months ago, on different days


@dataclass(frozen=True)
class StoryDates:
    """When one merchant's story happened."""

    applied: dt.datetime
    assessed: dt.datetime
    iban_changes: tuple[dt.datetime, ...]
    decided: dt.datetime | None  # decision, or start of review (None: not touched yet)
    suspended: dt.datetime | None = None


def _spread(start: dt.datetime, end: dt.datetime, count: int) -> tuple[dt.datetime, ...]:
    """``count`` moments evenly inside (start, end)."""
    return tuple(start + (end - start) * (k + 1) / (count + 1) for k in range(count))


def story_dates(status: str, *, iban_changes: int, created_days_ago: int | None,
                pending_index: int, now: dt.datetime, rng: random.Random) -> StoryDates:
    """When a demo merchant with the final ``status`` applied, was assessed, changed its IBAN
    and was decided. ``pending_index`` numbers the applications still awaiting review (every
    ``OVERDUE_EVERY``-th of them arrived before its review window)."""
    if status in {"approved", "suspended"}:
        days = created_days_ago or rng.randint(*APPROVED_DAYS_AGO)
        applied = now - dt.timedelta(days=days, hours=rng.uniform(0, 9))
        decided = applied + DECIDED_AFTER
        changes = _spread(decided + dt.timedelta(days=1), now - dt.timedelta(days=1),
                          iban_changes)
        return StoryDates(applied, decided - dt.timedelta(hours=1), changes, decided,
                          decided + SUSPENDED_AFTER if status == "suspended" else None)
    if status == "rejected":
        applied = now - dt.timedelta(days=created_days_ago or rng.randint(6, 12))
        return StoryDates(applied, applied + ASSESSED_AFTER, (), applied + REJECTED_AFTER)
    overdue = pending_index % OVERDUE_EVERY == OVERDUE_EVERY // 2
    hours = rng.uniform(*(OVERDUE_HOURS if overdue else WINDOW_HOURS))
    applied = now - dt.timedelta(hours=hours)
    # IBAN changes while the application waits; the changes re-run the checks, so the
    # assessment the reviewer sees follows the last of them.
    changes = _spread(applied, applied + (now - applied) * 0.6, iban_changes)
    assessed = (changes[-1] if changes else applied) + ASSESSED_AFTER
    decided = assessed + (now - assessed) / 2 if status != "applied" else None
    return StoryDates(applied, assessed, changes, decided)


@dataclass(order=True, frozen=True)
class Step:
    """One thing that happened at ``at``; ``n`` keeps steps at the same time in the order
    they were planned."""

    at: dt.datetime
    n: int
    run: Callable[[], Any] = field(compare=False)
    label: str = field(compare=False, default="")


class Timeline:
    """Steps to replay oldest first. A step may plan further steps, never in the past."""

    def __init__(self) -> None:
        self._steps: list[Step] = []
        self._planned = 0
        self.played_until: dt.datetime | None = None

    def __len__(self) -> int:
        return len(self._steps)

    def at(self, when: dt.datetime, run: Callable[[], Any], label: str = "") -> None:
        """Plan ``run`` to happen at ``when``."""
        if self.played_until is not None and when < self.played_until:
            raise ValueError(f"{label or 'a step'} at {when} is before {self.played_until}, "
                             "which has already been replayed")
        self._planned += 1
        heapq.heappush(self._steps, Step(when.astimezone(dt.UTC), self._planned, run, label))

    def play(self, session: Session, *, commit: bool,
             progress: Callable[[str], None] = lambda _label: None) -> int:
        """Run every step oldest first, each with ``session``'s audit events dated at its
        time. ``commit``: commit after each step, as each request of the history did (the
        API calls of the story run in their own sessions and must see what came before).
        Returns the number of steps run."""
        played = 0
        while self._steps:
            step = heapq.heappop(self._steps)
            self.played_until = step.at
            with replayed_at(session, step.at):
                step.run()
                session.flush()
            if commit:
                session.commit()
            played += 1
            progress(step.label)
        return played
