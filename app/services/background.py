"""A thread that works off what committed audit batches leave to do, off the commit path.

The audit writer calls its after-commit observers with every committed batch; an observer
that has slow work (opening alerts, re-judging a merchant) must not hold the writer up, so it
hands the work to a :class:`BackgroundQueue`: items are keyed (a second submission of the same
key before it is worked is one item), the thread starts on demand, works everything queued in
one call of ``work(batch)``, and stops after five idle seconds. ``drain`` waits until all is
worked (tests, the demo, shutdown).

With ``interval`` the thread pauses that long after each round, so what is submitted meanwhile
(the audit writer commits a batch every few milliseconds under load) is worked together in the
next round: work that costs queries per key then runs at most once per key and interval,
whatever the commit rate. ``drain`` cuts the pause short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("kybgate.background")


class BackgroundQueue:
    """Keyed work items handed to ``work(batch)`` on a thread of their own."""

    def __init__(self, name: str, work: Callable[[dict[str, Any]], None],
                 idle_seconds: float = 5.0, interval: float = 0.0) -> None:
        self.name, self.work, self.idle_seconds = name, work, idle_seconds
        self.interval = interval
        self._cond = threading.Condition()
        self._pending: dict[str, Any] = {}
        self._busy = False
        self._draining = 0
        self._thread: threading.Thread | None = None

    def submit(self, items: Mapping[str, Any]) -> None:
        """Queue ``items`` (key → item; a key already waiting keeps its first item)."""
        if not items:
            return
        with self._cond:
            for key, item in items.items():
                self._pending.setdefault(key, item)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far is worked; False on timeout."""
        with self._cond:
            self._draining += 1
            self._cond.notify_all()  # cuts the thread's pause short
            try:
                return self._cond.wait_for(lambda: not self._pending and not self._busy,
                                           timeout)
            finally:
                self._draining -= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._pending, timeout=self.idle_seconds):
                    self._thread = None
                    return
                batch, self._pending, self._busy = self._pending, {}, True
            try:
                self.work(batch)
            except Exception:  # background work must never take the audit path down
                log.exception("%s: a batch of %d failed", self.name, len(batch))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                    if self.interval > 0:  # coalesce: what arrives meanwhile, next round
                        self._cond.wait_for(lambda: self._draining, timeout=self.interval)
