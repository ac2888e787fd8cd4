"""The per-process blacklist snapshot (``BlacklistSnapshots``): cheap when current, re-read when
due or marked stale, rebuilt only when the generation moved (R-E2, R-E3)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from app.audit.trail import Actor
from app.security import Keyring
from app.services.blacklist import add_entry
from app.services.blacklist_index import BlacklistSnapshots, current_index, read_generation

NOW = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
KEYRING = Keyring({1: b"test-pepper-0123456789abcdef"}, 1)
ACTOR = Actor(name="test")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _add(engine, value: str) -> None:
    with Session(engine) as session:
        add_entry(session, kind="customer", value=value, reason="fraud", actor=ACTOR,
                  keyring=KEYRING, now=NOW)
        session.commit()


def test_the_snapshot_is_reread_after_a_second_or_when_marked_stale(app):
    engine = app.extensions["kyb.engine"]
    clock = Clock()
    holder = BlacklistSnapshots(engine, recheck_seconds=1.0, clock=clock)
    first = holder.current()
    assert (first.generation, len(first)) == (0, 0)
    _add(engine, "cust-1")
    clock.now = 0.999
    assert holder.current() is first  # not due yet: no query
    clock.now = 1.0
    second = holder.current()
    assert (second.generation, len(second)) == (1, 1)
    assert holder.current() is second
    _add(engine, "cust-2")
    holder.mark_stale()
    assert len(holder.current()) == 2
    clock.now = 5.0
    third = holder.current()
    assert holder.current(fresh=True) is third  # generation unchanged: no rebuild


def test_current_index_follows_the_sessions_generation(app):
    engine = app.extensions["kyb.engine"]
    with Session(engine) as session:
        assert read_generation(session) == 0 and len(current_index(session)) == 0
    _add(engine, "cust-3")
    with Session(engine) as session:
        assert read_generation(session) == 1 and len(current_index(session)) == 1
