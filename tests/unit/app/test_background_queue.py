"""``BackgroundQueue`` with an interval: what is submitted while the thread pauses is worked
together in the next round, and ``drain`` cuts the pause short."""

from __future__ import annotations

import threading
import time

from app.services.background import BackgroundQueue


def test_submissions_during_the_pause_are_worked_together_and_drain_cuts_it_short():
    rounds: list[list[str]] = []
    first_done = threading.Event()

    def work(batch: dict[str, None]) -> None:
        rounds.append(sorted(batch))
        first_done.set()

    queue = BackgroundQueue("test-queue", work, interval=30.0)
    queue.submit({"m1": None})
    assert first_done.wait(5.0)
    for key in ("m2", "m3", "m2"):
        queue.submit({key: None})
    time.sleep(0.2)
    assert rounds == [["m1"]]  # still pausing: nothing worked per submission
    started = time.monotonic()
    assert queue.drain(5.0)
    assert time.monotonic() - started < 2.0  # not the 30 s interval
    assert rounds == [["m1"], ["m2", "m3"]]


def test_without_an_interval_each_submission_is_worked_at_once():
    rounds: list[list[str]] = []
    queue = BackgroundQueue("test-queue", lambda batch: rounds.append(sorted(batch)))
    queue.submit({"a": None})
    assert queue.drain(5.0)
    queue.submit({"b": None})
    assert queue.drain(5.0)
    assert rounds == [["a"], ["b"]]
