"""The in-memory blacklist index of each process, and how it is kept current (R-E2, R-E3).

Traffic (``/verify``, ``/auth``, ``POST /transactions``) is matched against a
:class:`~api_keys.blacklist.BlacklistIndex` snapshot, never against the database per request.
Freshness follows the key cache's invalidation path:

* every add or removal increments ``blacklist_state.generation`` in its own transaction
  (``app.services.blacklist.bump_generation``);
* once that transaction commits, this process marks its index stale and, when ``KYB_REDIS_URL``
  is set, publishes on the key-invalidation channel so every other process does too
  (``app.dataplane.runtime``);
* without Redis (or if a message is lost), each process re-reads the one-row generation at
  most every ``recheck_seconds`` (1 s without Redis, like the key cache's TTL; 5 s with it)
  and rebuilds the index only when it moved.

A rebuild reads the active entries of the traffic kinds once (20,000 entries: tens of ms).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from api_keys.blacklist import TRAFFIC_KINDS, BlacklistIndex, Listed, mask
from app.models import BlacklistEntry, BlacklistState


def read_generation(conn: Connection | Session) -> int:
    """The blacklist's change counter (0 before the first change)."""
    value = conn.execute(sa.select(BlacklistState.generation).where(
        BlacklistState.id == 1)).scalar()
    return int(value or 0)


def load_index(session: Session, generation: int | None = None) -> BlacklistIndex:
    """A fresh index of every active entry of the traffic kinds."""
    generation = read_generation(session) if generation is None else generation
    rows = session.exec(select(BlacklistEntry.id, BlacklistEntry.kind, BlacklistEntry.value_key,
                               BlacklistEntry.value).where(
        BlacklistEntry.removed_at.is_(None), BlacklistEntry.kind.in_(TRAFFIC_KINDS))).all()
    return BlacklistIndex.build((Listed(entry_id, kind, key, mask(kind, value))
                                 for entry_id, kind, key, value in rows), generation)


class BlacklistSnapshots:
    """One process's current index over ``engine``; :meth:`current` is cheap on the hot path
    (a clock read) and re-reads the generation only when due or marked stale."""

    def __init__(self, engine: Engine, recheck_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.recheck_seconds = recheck_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._index: BlacklistIndex | None = None
        self._next_check = 0.0
        self._stale = True

    def current(self, *, fresh: bool = False) -> BlacklistIndex:
        """The index; ``fresh`` re-reads the generation now (writes that must not miss an
        entry added a moment ago, such as recording transactions)."""
        index = self._index
        if index is not None and not fresh and not self._stale \
                and self._clock() < self._next_check:
            return index
        if index is not None and not fresh:
            # One thread refreshes; the others keep answering from the current snapshot
            # meanwhile (a rebuild of 20,000 entries takes a few hundred ms).
            if not self._lock.acquire(blocking=False):
                return index
            try:
                return self._refresh()
            finally:
                self._lock.release()
        with self._lock:
            return self._refresh()

    def mark_stale(self) -> None:
        """The blacklist changed (a commit here, or a message from another process)."""
        self._stale = True

    def _refresh(self) -> BlacklistIndex:
        """Re-read the generation and rebuild when it moved (the caller holds the lock)."""
        # Cleared before reading: a change marked meanwhile makes the next call re-read.
        self._stale = False
        with Session(self.engine) as session:
            generation = read_generation(session)
            if self._index is None or self._index.generation != generation:
                self._index = load_index(session, generation)
        self._next_check = self._clock() + self.recheck_seconds
        return self._index


_by_bind: dict[str, tuple[int, BlacklistIndex]] = {}
_by_bind_lock = threading.Lock()


def current_index(session: Session) -> BlacklistIndex:
    """The index as of ``session``'s view of the generation, cached per database (CLI, demo,
    assessments: callers without the request runtime)."""
    generation = read_generation(session)
    bind = session.get_bind()
    url = bind.engine.url.render_as_string(hide_password=True) if hasattr(bind, "engine") \
        else str(id(bind))
    cached = _by_bind.get(url)
    if cached is not None and cached[0] == generation:
        return cached[1]
    index = load_index(session, generation)
    with _by_bind_lock:
        _by_bind[url] = (generation, index)
    return index


def after_commit(session: Session, notify: Callable[[], Any]) -> None:
    """Call ``notify`` when ``session`` committed a blacklist change (``app.dataplane.runtime``)."""
    from app.services.blacklist import CHANGED
    if session.info.pop(CHANGED, None):
        notify()


__all__ = ["BlacklistSnapshots", "after_commit", "current_index", "load_index",
           "read_generation"]
